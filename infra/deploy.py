"""`make deploy STAGE=… PARTITION=…`: the packaged stage (`make package`) onto AWS, with the AWS CLI and the
credentials of the target account, from a clean account (docs/deploy.md, "The first deploy").

The packaged template is ~220 KB. CloudFormation takes a template body of at most 51,200 bytes; a larger one
only from S3. So both steps get the artifact bucket: `aws cloudformation package --s3-bucket` uploads the
functions' code there, `aws cloudformation deploy --s3-bucket` the template itself. The bucket is
ARTIFACT_BUCKET if given, else `sentinel-artifacts-<account>-<region>`, created here if absent (private,
encrypted), in either partition.

Before a stack's creation it checks what a new account may lack: the Lambda concurrency that the API's
reservation (ApiReservedConcurrency) leaves unreserved, which Lambda requires to stay ≥ 100. On every deploy
it passes the edge secret's current version (EdgeSecretVersion, infra/hosting.json), so that CloudFront's
header follows a rotation (`python -m infra.stage_secrets rotate-edge`): CloudFormation re-resolves a dynamic
reference only when its text changes. Then the built console goes into the stack's console bucket
(infra/publish.py), if the stack hosts one.

Optional overrides (make variables, environment here): CONSOLE_DOMAIN, CONSOLE_CERTIFICATE_ID (aws-cn),
CONSOLE_ACM_CERTIFICATE_ARN (aws), CONSOLE_URL, FIXED_EGRESS, ALARM_EMAIL, LOG_RETENTION_DAYS,
NAT_FEED_DEADLINE_HOUR, API_RESERVED_CONCURRENCY, IMPORT_QUEUE_CONCURRENCY, FEED_QUEUE_CONCURRENCY,
PROVINCE_FEED_PRINCIPAL. Unset, a new stack takes the template's default and an existing one keeps its value.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INLINE_LIMIT = 51_200  # bytes of a TemplateBody; above it CloudFormation needs a TemplateURL in S3
UNRESERVED_MINIMUM = 100  # Lambda keeps at least this much of the account's concurrency unreserved
OVERRIDES = {  # environment variable → stack parameter
    "CONSOLE_DOMAIN": "ConsoleDomain", "CONSOLE_CERTIFICATE_ID": "ConsoleCertificateId",
    "CONSOLE_ACM_CERTIFICATE_ARN": "ConsoleAcmCertificateArn", "CONSOLE_URL": "ConsolePublicUrl",
    "FIXED_EGRESS": "FixedEgress", "ALARM_EMAIL": "AlarmEmail", "LOG_RETENTION_DAYS": "LogRetentionDays",
    "NAT_FEED_DEADLINE_HOUR": "NatFeedDeadlineHour", "API_RESERVED_CONCURRENCY": "ApiReservedConcurrency",
    "IMPORT_QUEUE_CONCURRENCY": "ImportQueueConcurrency", "FEED_QUEUE_CONCURRENCY": "FeedQueueConcurrency",
    "DISTRICTS": "Districts", "MATCHER_SEGMENTS": "MatcherSegments",  # a city: DISTRICTS='*' MATCHER_SEGMENTS=128
    "PROVINCE_FEED_PRINCIPAL": "ProvinceFeedPrincipal",  # infra/province.json: who may drop the feed files
}
NOT_HOSTED = "控制台未托管：aws-cn 需先设置已备案的 CONSOLE_DOMAIN 及 CONSOLE_CERTIFICATE_ID（docs/deploy.md）"


class DeployError(Exception):
    pass


def aws(*args: str, region: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["aws", *args, *(["--region", region] if region else [])]
    print("+ " + " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode:
        raise DeployError(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done


def region_of(partition: str) -> str:
    region = (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
              or aws("configure", "get", "region", check=False).stdout.strip())
    if not region:
        raise DeployError("no region: set AWS_REGION (e.g. cn-north-1) or `aws configure set region …`")
    if region.startswith("cn-") != (partition == "aws-cn"):
        raise DeployError(f"region {region} is not in partition {partition}: PARTITION=aws-cn is for cn-north-1 "
                          "and cn-northwest-1, PARTITION=aws for the others")
    return region


def artifact_bucket(given: str, *, account: str, region: str) -> str:
    """ARTIFACT_BUCKET, or the stage's default bucket, created when absent (private, encrypted)."""
    bucket = given or f"sentinel-artifacts-{account}-{region}"
    head = aws("s3api", "head-bucket", "--bucket", bucket, region=region, check=False)
    if head.returncode == 0:
        return bucket
    if "404" not in head.stderr and "Not Found" not in head.stderr:
        raise DeployError(f"bucket {bucket} exists but this identity cannot use it ({head.stderr.strip()}): "
                          "pass ARTIFACT_BUCKET=<a bucket of this account in this region>")
    location = [] if region == "us-east-1" else ["--create-bucket-configuration", f"LocationConstraint={region}"]
    aws("s3api", "create-bucket", "--bucket", bucket, *location, region=region)
    aws("s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true", region=region)
    aws("s3api", "put-bucket-encryption", "--bucket", bucket, "--server-side-encryption-configuration",
        json.dumps({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}), region=region)
    print(f"artifact bucket {bucket} created", flush=True)
    return bucket


def stack_exists(stack: str, region: str) -> bool:
    found = aws("cloudformation", "describe-stacks", "--stack-name", stack, region=region, check=False)
    if found.returncode and "does not exist" not in found.stderr:
        raise DeployError(f"cannot read stack {stack}: {found.stderr.strip()}")
    return found.returncode == 0


def check_concurrency(template: dict, region: str) -> None:
    """A new stack reserves ApiReservedConcurrency for the API; Lambda refuses a reservation that leaves
    less than 100 unreserved (a new account's quota may be 10)."""
    wanted = int(os.environ.get("API_RESERVED_CONCURRENCY")
                 or template["Parameters"]["ApiReservedConcurrency"]["Default"])
    if not wanted:
        return
    unreserved = int(aws("lambda", "get-account-settings", "--query", "AccountLimit.UnreservedConcurrentExecutions",
                         "--output", "text", region=region).stdout.strip())
    if unreserved - wanted < UNRESERVED_MINIMUM:
        raise DeployError(
            f"this account has {unreserved} unreserved Lambda concurrency; reserving {wanted} for the API would "
            f"leave less than {UNRESERVED_MINIMUM}. Ask for a higher 'Concurrent executions' quota (Service Quotas, "
            "Lambda), or deploy with API_RESERVED_CONCURRENCY=0 (no reservation) until then")


def edge_secret_version(stage: str, region: str) -> str:
    """The AWSCURRENT version of sentinel-<stage>-edge ("" before the stack created it)."""
    found = aws("secretsmanager", "describe-secret", "--secret-id", f"sentinel-{stage}-edge", "--query",
                "VersionIdsToStages", "--output", "json", region=region, check=False)
    if found.returncode:
        if "ResourceNotFoundException" in found.stderr:
            return ""
        raise DeployError(f"cannot read the edge secret's versions: {found.stderr.strip()}")
    versions = json.loads(found.stdout or "{}") or {}
    return next((version for version, stages in versions.items() if "AWSCURRENT" in stages), "")


def deploy(stage: str, partition: str, *, build: Path, bucket: str = "") -> dict:
    sam = build / "sam.json"
    if not sam.exists():
        raise DeployError(f"{sam} is missing: make package STAGE={stage} PARTITION={partition}")
    template = json.loads(sam.read_text(encoding="utf-8"))
    if template["Parameters"]["Stage"]["Default"] != stage:
        raise DeployError(f"{sam} was packaged for stage {template['Parameters']['Stage']['Default']}, not {stage}")
    region = region_of(partition)
    account = aws("sts", "get-caller-identity", "--query", "Account", "--output", "text", region=region).stdout.strip()
    bucket = artifact_bucket(bucket, account=account, region=region)
    stack, prefix = f"sentinel-{stage}", f"sentinel-{stage}"
    existed = stack_exists(stack, region)
    if not existed:
        check_concurrency(template, region)
    packaged = build / "packaged.json"
    aws("cloudformation", "package", "--template-file", str(sam), "--s3-bucket", bucket, "--s3-prefix", prefix,
        "--output-template-file", str(packaged), "--use-json", region=region)
    size = packaged.stat().st_size
    print(f"{packaged}: {size:,} bytes" + (f" (over {INLINE_LIMIT:,}: deployed from s3://{bucket}/{prefix}/)"
                                          if size > INLINE_LIMIT else ""), flush=True)
    parameters = [f"Stage={stage}"] + [f"{parameter}={os.environ[variable]}" for variable, parameter in
                                       OVERRIDES.items() if os.environ.get(variable)]
    version = edge_secret_version(stage, region) if existed else ""
    if version:
        parameters.append(f"EdgeSecretVersion={version}")
    aws("cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", stack,
        "--s3-bucket", bucket, "--s3-prefix", prefix,  # the template goes through S3: it is over 51,200 bytes
        "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset",
        "--parameter-overrides", *parameters, region=region)
    described = aws("cloudformation", "describe-stacks", "--stack-name", stack, "--query", "Stacks[0].Outputs",
                    "--output", "json", region=region)
    return {o["OutputKey"]: o["OutputValue"] for o in json.loads(described.stdout or "[]") or []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--partition", default="aws", choices=("aws", "aws-cn"))
    parser.add_argument("--build", type=Path, help="the folder of make package's sam.json (build/<stage>-<partition>)")
    parser.add_argument("--artifact-bucket", default=os.environ.get("ARTIFACT_BUCKET", ""))
    args = parser.parse_args()
    build = args.build or ROOT / "build" / f"{args.stage}-{args.partition}"
    try:
        outputs = deploy(args.stage, args.partition, build=build, bucket=args.artifact_bucket)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    if outputs.get("ConsoleBucketName") and outputs.get("ConsoleDistributionId"):
        published = subprocess.run([sys.executable, "-m", "infra.publish", "--bucket", outputs["ConsoleBucketName"],
                                    "--distribution", outputs["ConsoleDistributionId"]], cwd=ROOT)
        if published.returncode:
            return published.returncode
    else:
        print(NOT_HOSTED)
    print(f"stack sentinel-{args.stage} deployed" + (f"; the console: {outputs['ConsoleUrl']}"
                                                     if outputs.get("ConsoleUrl") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

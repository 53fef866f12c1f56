"""`make package STAGE=… PARTITION=…`: the deployable CloudFormation template of one stage, offline.

One value names a stage, and everything else derives from it here, checked before anything is written:
- the template's `Stage` parameter defaults to it;
- every function's environment: STAGE and TABLE_PREFIX from `Stage`, FILES_BUCKET from the bucket the
  template creates (`Ref`, never a literal), WECOM_SECRET_ID, SMS_SECRET_ID and PERSON_KEY_SECRET_ID from
  `Stage`, APP_SECRET
  resolved by CloudFormation from the secret the template generates;
- the queue subscriptions: the template's own queues (`Fn::GetAtt`), never a name typed in app.py;
- each function's role: its policy from infra/policies.py, partition-aware (`${AWS::Partition}`);
- with `FixedEgress=true` (infra/network.json), the functions that call 粤政易 in the egress VPC's private
  subnets, their roles allowed the network interfaces Lambda makes there; with the default, neither.
`aws-cn` (cn-north-1, cn-northwest-1) has no edge-optimized API Gateway, so the API is REGIONAL there and
everywhere (one template for both).

    python -m infra.package --stage prod --partition aws-cn --out build/prod-aws-cn
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from infra import policies

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^[a-z][a-z0-9]{1,15}$")
PARTITIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1"}
QUEUES = {"imports": "ImportQueue", "feeds": "FeedQueue"}
FUNCTIONS = {"APIHandler": "api_handler", "OnUpload": "on_upload", "OnFeed": "on_feed",
             "OvernightMatcher": "overnight_matcher", "MorningPush": "morning_push"}
# The functions that call 粤政易 (the 09:00 push, and the worker that continues or retries its passes): with
# FixedEgress=true they run in infra/network.json's private subnets and leave from its Elastic IP.
EGRESS_CONDITION = "HasFixedEgress"
IN_EGRESS_VPC = ("MorningPush", "OnUpload")
EGRESS_SUBNETS = ("EgressPrivateSubnetA", "EgressPrivateSubnetB")
EGRESS_SECURITY_GROUP = "EgressSecurityGroup"


class PackageError(Exception):
    pass


# The templates of infra/, each one concern: the data (tables, bucket, queues, secrets, key), the console's
# hosting, the notifier's optional fixed egress. Merged into one, then with what Chalice writes.
FRAGMENTS = ("stateful.json", "hosting.json", "network.json")
SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs")


def merge_fragments(names=FRAGMENTS) -> dict:
    """One template of infra/'s fragments: a name two of them declare must be declared the same."""
    merged: dict = {"AWSTemplateFormatVersion": "2010-09-09"}
    for name in names:
        path = ROOT / "infra" / name
        if not path.exists():
            continue
        fragment = json.loads(path.read_text(encoding="utf-8"))
        for section in SECTIONS:
            into = merged.setdefault(section, {})
            for key, value in fragment.get(section, {}).items():
                if key in into and into[key] != value:
                    raise PackageError(f"{section} {key} is declared differently in infra/{name}")
                into[key] = value
    return merged


def chalice_package(stage: str, out: Path, *, region: str) -> dict:
    """Chalice's own package (functions, API, schedules, queue subscriptions) merged with infra/."""
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    infra = out.parent / f"{out.name}-infra.json"
    infra.write_text(json.dumps(merge_fragments(), ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "SENTINEL_STAGE": stage, "AWS_DEFAULT_REGION": region}
    chalice = str(Path(sys.executable).with_name("chalice"))
    done = subprocess.run([chalice, "package", "--stage", stage, "--merge-template", str(infra), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    infra.unlink()
    if done.returncode:
        raise PackageError(f"chalice package failed: {done.stderr or done.stdout}")
    return json.loads((out / "sam.json").read_text())


def finish(template: dict, *, stage: str, partition: str) -> dict:
    """Derive every stage-dependent value from `Stage`, attach the policies, and check the result."""
    if not STAGE.match(stage):
        raise PackageError(f"stage name {stage!r}: 2–16 lowercase letters and digits, starting with a letter")
    if partition not in PARTITIONS:
        raise PackageError(f"partition {partition!r}: one of {', '.join(PARTITIONS)}")
    template["Parameters"]["Stage"]["Default"] = stage
    resources = template["Resources"]
    egress = EGRESS_CONDITION in template.get("Conditions", {})  # infra/network.json merged (a bare finish(): not)
    roles, in_vpc = {}, set()
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = FUNCTIONS.get(name)
        if function is None:
            raise PackageError(f"function {name} has no policy in infra/policies.py (FUNCTIONS in infra/package.py)")
        props = resource["Properties"]
        props.setdefault("Environment", {}).setdefault("Variables", {}).update({
            "STAGE": {"Ref": "Stage"}, "TABLE_PREFIX": {"Fn::Sub": "sentinel-${Stage}-"},
            "FILES_BUCKET": {"Ref": "FilesBucket"}, "WECOM_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-wecom"},
            "SMS_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-sms"},
            "PERSON_KEY_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-person-key"},
            # resolved by CloudFormation from the secret the template generates: never in the repo or the package
            "APP_SECRET": {"Fn::Sub": "{{resolve:secretsmanager:${AppSecret}:SecretString}}"},
            # what CloudFront sends the API (infra/hosting.json): a request bearing it came through the edge
            "EDGE_SECRET": {"Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString}}"}})
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                event["Properties"]["Queue"] = {"Fn::GetAtt": [_queue(event["Properties"]["Queue"], stage), "Arn"]}
        role = props.get("Role", {}).get("Fn::GetAtt", [None])[0]
        if role:
            roles[role] = function
        if egress and name in IN_EGRESS_VPC:
            props["VpcConfig"] = {"Fn::If": [EGRESS_CONDITION, {
                "SubnetIds": [{"Ref": subnet} for subnet in EGRESS_SUBNETS],
                "SecurityGroupIds": [{"Ref": EGRESS_SECURITY_GROUP}]}, {"Ref": "AWS::NoValue"}]}
            if role:
                in_vpc.add(role)
    for role, function in roles.items():
        document = policies.render(function, stage="${Stage}")
        resources[role]["Properties"]["Policies"] = [
            {"PolicyName": f"{function}-policy", "PolicyDocument": {"Fn::Sub": json.dumps(document)}}]
        if role in in_vpc:  # only when the function is in the VPC: see policies.VPC_NETWORK_INTERFACES
            resources[role]["Properties"]["Policies"].append({"Fn::If": [EGRESS_CONDITION, {
                "PolicyName": f"{function}-vpc-network-interfaces",
                "PolicyDocument": policies.vpc_network_interfaces()}, {"Ref": "AWS::NoValue"}]})
    check(template, stage=stage)
    return template


def _queue(arn, stage: str) -> str:
    text = json.dumps(arn)
    for suffix, logical in QUEUES.items():
        if f"sentinel-{stage}-{suffix}" in text:
            return logical
    raise PackageError(f"a queue subscription names {text}, not a queue of stage {stage}")


def check(template: dict, *, stage: str) -> None:
    """What the findings of issue 13 were: none may come back."""
    text = json.dumps(template)
    if "ACCOUNT_ID" in text:
        raise PackageError("a literal ACCOUNT_ID is in the template: names come from the template (Ref)")
    for other in re.findall(r"sentinel-([a-z0-9]+)-(?:imports|feeds|files|staff)", text):
        if other not in (stage,):
            raise PackageError(f"the template names resources of stage {other}, not {stage}")
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            env = resource["Properties"]["Environment"]["Variables"]
            if env.get("FILES_BUCKET") != {"Ref": "FilesBucket"}:
                raise PackageError(f"{name}: FILES_BUCKET must be the template's bucket")
            vpc = resource["Properties"].get("VpcConfig")
            if vpc is not None and name not in IN_EGRESS_VPC:
                raise PackageError(f"{name} is in a VPC: only {', '.join(IN_EGRESS_VPC)} are (infra/network.json)")
    if EGRESS_CONDITION in template.get("Conditions", {}):
        for logical in (*EGRESS_SUBNETS, EGRESS_SECURITY_GROUP):
            if template["Resources"].get(logical, {}).get("Condition") != EGRESS_CONDITION:
                raise PackageError(f"{logical} (infra/network.json) must exist, under {EGRESS_CONDITION}")
    for action in policies.ACTIONS:
        if action not in policies.IAM_ACTIONS:
            raise PackageError(f"{action} is not an IAM action")


def package(stage: str, partition: str, out: Path) -> Path:
    template = finish(chalice_package(stage, out, region=PARTITIONS[partition]), stage=stage, partition=partition)
    (out / "sam.json").write_text(json.dumps(template, indent=2, ensure_ascii=False))
    return out / "sam.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--partition", default="aws", choices=sorted(PARTITIONS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        path = package(args.stage, args.partition, args.out or ROOT / "build" / f"{args.stage}-{args.partition}")
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    size = (path.parent / "deployment.zip").stat().st_size
    print(f"{path} (deployment.zip {size / 1e6:.1f} MB; Lambda allows 50 MB zipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

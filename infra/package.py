"""`make package STAGE=… PARTITION=…`: the deployable CloudFormation template of one stage, offline.

One value names a stage, and everything else derives from it here, checked before anything is written:
- the template's `Stage` parameter defaults to it;
- every function's name (`sentinel-<stage>-<function>`) and environment: STAGE and TABLE_PREFIX from
  `Stage`, FILES_BUCKET from the bucket the template creates (`Ref`, never a literal), the names of its
  secrets (WECOM_SECRET_ID, SMS_SECRET_ID, PERSON_KEY_SECRET_ID, APP_SECRET_ID; EDGE_SECRET_ID for the API)
  from `Stage` — never a secret's value nor a dynamic reference to one: the functions read them at run time
  (services/common/stage_secrets.py) — and CONSOLE_URL, the console's public address;
- the queue subscriptions: the template's own queues (`Fn::GetAtt`), never a name typed in app.py, each
  with its maximum concurrency (infra/operations.json); the API's reserved concurrency;
- what watches each function: its log group with the stage's retention (created before the function, so
  Lambda never creates it without one), an Errors and a Duration alarm, and for a scheduled function a
  failure destination (Lambda's OnFailure after its retries): all to the ops topic;
- each function's role: its policy from infra/policies.py, partition-aware (`${AWS::Partition}`);
- with `FixedEgress=true` (infra/network.json), the functions that call 粤政易 in the egress VPC's private
  subnets, their roles allowed the network interfaces Lambda makes there; with the default, neither.
`aws-cn` (cn-north-1, cn-northwest-1) has no edge-optimized API Gateway, so the API is REGIONAL there and
everywhere (one template for both). The template is ~190 KB: CloudFormation takes it only from S3
(`make deploy`, infra/deploy.py).

    python -m infra.package --stage prod --partition aws-cn --out build/prod-aws-cn
    python -m infra.package --fragments build/fragments   # each infra/ fragment alone, for cfn-lint
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
             "OvernightMatcher": "overnight_matcher", "MorningPush": "morning_push", "OpsWatch": "ops_watch"}
API = "APIHandler"
# Lambda's asynchronous retries of a scheduled function before its failure goes to the ops topic: the night
# and the push are safe to repeat (a day that has a run keeps it, a sent item is not sent again); the watch
# runs again in half an hour anyway.
SCHEDULED_RETRIES = {"OvernightMatcher": 2, "MorningPush": 2, "OpsWatch": 0}
QUEUE_CONCURRENCY = {"ImportQueue": "ImportQueueConcurrency", "FeedQueue": "FeedQueueConcurrency"}
OPS_TOPIC = "OpsAlarmTopic"
DURATION_SHARE = 0.8  # the Duration alarm: an invocation that took 80 % of its function's timeout
# The functions that call 粤政易 (the 09:00 push, and the worker that continues or retries its passes): with
# FixedEgress=true they run in infra/network.json's private subnets and leave from its Elastic IP.
EGRESS_CONDITION = "HasFixedEgress"
IN_EGRESS_VPC = ("MorningPush", "OnUpload")
EGRESS_SUBNETS = ("EgressPrivateSubnetA", "EgressPrivateSubnetB")
EGRESS_SECURITY_GROUP = "EgressSecurityGroup"


class PackageError(Exception):
    pass


# The templates of infra/, each one concern: the data (tables, bucket, queues, secrets, key), the console's
# hosting, the notifier's optional fixed egress, the watching, the province's drop of its feed files. Merged
# into one, then with what Chalice writes.
FRAGMENTS = ("stateful.json", "hosting.json", "network.json", "operations.json", "province.json")
PROVINCE_POLICY = "ProvinceFeedPolicy"  # infra/province.json: its document is policies.render_province
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
    roles, in_vpc, resources_to_add = {}, set(), {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = FUNCTIONS.get(name)
        if function is None:
            raise PackageError(f"function {name} has no policy in infra/policies.py (FUNCTIONS in infra/package.py)")
        props = resource["Properties"]
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update({
            "STAGE": {"Ref": "Stage"}, "TABLE_PREFIX": {"Fn::Sub": "sentinel-${Stage}-"},
            "FILES_BUCKET": {"Ref": "FilesBucket"}, "WECOM_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-wecom"},
            "SMS_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-sms"},
            "PERSON_KEY_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-person-key"},
            # names, not values: read at run time (services/common/stage_secrets.py), so neither the package
            # nor GetFunctionConfiguration shows them, and a new value needs no deploy
            "APP_SECRET_ID": {"Fn::Sub": "sentinel-${Stage}-app"},
            "CONSOLE_URL": console_url(api=name == API),
            "NAT_FEED_DEADLINE_HOUR": {"Ref": "NatFeedDeadlineHour"},
            "DISTRICTS": {"Ref": "Districts"}, "MATCHER_SEGMENTS": {"Ref": "MatcherSegments"}})
        if name == API:  # what CloudFront sends the API (infra/hosting.json): a request bearing it came through the edge
            variables["EDGE_SECRET_ID"] = {"Fn::Sub": "sentinel-${Stage}-edge"}
        slug = function_name(function)
        props["FunctionName"] = {"Fn::Sub": f"sentinel-${{Stage}}-{slug}"}
        resources_to_add.update(watching(name, slug, timeout=props.get("Timeout", 60)))
        resource["DependsOn"] = sorted({*_as_list(resource.get("DependsOn")), f"{name}LogGroup"})
        if name == API:
            props["ReservedConcurrentExecutions"] = {"Fn::If": [
                "HasApiReservation", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
        if name in SCHEDULED_RETRIES:
            props["EventInvokeConfig"] = {"MaximumRetryAttempts": SCHEDULED_RETRIES[name], "DestinationConfig": {
                "OnFailure": {"Type": "SNS", "Destination": {"Ref": OPS_TOPIC}}}}
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = _queue(event["Properties"]["Queue"], stage)
                event["Properties"]["Queue"] = {"Fn::GetAtt": [queue, "Arn"]}
                event["Properties"]["ScalingConfig"] = {"MaximumConcurrency": {"Ref": QUEUE_CONCURRENCY[queue]}}
        role = props.get("Role", {}).get("Fn::GetAtt", [None])[0]
        if role:
            roles[role] = function
        if egress and name in IN_EGRESS_VPC:
            props["VpcConfig"] = {"Fn::If": [EGRESS_CONDITION, {
                "SubnetIds": [{"Ref": subnet} for subnet in EGRESS_SUBNETS],
                "SecurityGroupIds": [{"Ref": EGRESS_SECURITY_GROUP}]}, {"Ref": "AWS::NoValue"}]}
            if role:
                in_vpc.add(role)
    resources.update(resources_to_add)
    for role, function in roles.items():
        document = policies.render(function, stage="${Stage}")
        resources[role]["Properties"]["Policies"] = [
            {"PolicyName": f"{function}-policy", "PolicyDocument": {"Fn::Sub": json.dumps(document)}}]
        if role in in_vpc:  # only when the function is in the VPC: see policies.VPC_NETWORK_INTERFACES
            resources[role]["Properties"]["Policies"].append({"Fn::If": [EGRESS_CONDITION, {
                "PolicyName": f"{function}-vpc-network-interfaces",
                "PolicyDocument": policies.vpc_network_interfaces()}, {"Ref": "AWS::NoValue"}]})
    if PROVINCE_POLICY in resources:  # the province's drop, from the same source as the functions' policies
        resources[PROVINCE_POLICY]["Properties"]["PolicyDocument"] = {
            "Fn::Sub": json.dumps(policies.render_province(stage="${Stage}"))}
    check(template, stage=stage)
    return template


def function_name(function: str) -> str:
    """`sentinel-<stage>-` + this: the Lambda function's name, its log group's and its alarms'."""
    return function.replace("_", "-")


def console_url(*, api: bool) -> dict:
    """CONSOLE_URL: ConsolePublicUrl, else https://<ConsoleDomain>/, else the distribution's own address
    (infra/hosting.json, output ConsoleUrl). Not the last for the API: the distribution forwards /api/* to
    the API, which calls the API function, so the function cannot wait for the distribution (a dependency
    cycle) — and the API sends no link (only the push, in OnUpload and MorningPush, does)."""
    own = "" if api else {"Fn::If": ["HostsConsole", {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/"}, ""]}
    return {"Fn::If": ["HasConsolePublicUrl", {"Ref": "ConsolePublicUrl"},
                       {"Fn::If": ["HasConsoleDomain", {"Fn::Sub": "https://${ConsoleDomain}/"}, own]}]}


def watching(logical: str, slug: str, *, timeout: int) -> dict:
    """A function's log group (the stage's retention) and its two alarms, to the ops topic."""
    topic = [{"Ref": OPS_TOPIC}]

    def alarm(what: str, description: str, metric: str, statistic: str, threshold: float) -> dict:
        return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": {"Fn::Sub": f"sentinel-${{Stage}}-{slug}-{what}"},
            "AlarmDescription": f"{description}. Runbook: docs/deploy.md, {slug}-{what}",
            "Namespace": "AWS/Lambda", "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical}}],
            "Statistic": statistic, "Period": 300, "EvaluationPeriods": 1, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": topic, "OKActions": topic}}

    return {
        f"{logical}LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/sentinel-${{Stage}}-{slug}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"}}},
        f"{logical}ErrorsAlarm": alarm("errors", f"{slug} failed (an exception, a timeout or out of memory) in the "
                                       "last 5 minutes", "Errors", "Sum", 0),
        f"{logical}DurationAlarm": alarm("duration", f"{slug} ran longer than {int(DURATION_SHARE * 100)} % of its "
                                         f"{timeout} s timeout", "Duration", "Maximum",
                                         round(timeout * 1000 * DURATION_SHARE)),
    }


def _as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


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
            for variable, value in env.items():  # issue 23: GetFunctionConfiguration showed APP_SECRET, EDGE_SECRET
                if variable.endswith(("SECRET", "KEY", "PASSWORD", "TOKEN")) or "{{resolve:" in json.dumps(value):
                    raise PackageError(f"{name}: {variable} would put a secret in the function's environment; "
                                       "name the secret (…_SECRET_ID) and read it at run time")
            if "{{resolve:" in json.dumps(resource["Properties"]):
                raise PackageError(f"{name}: a dynamic reference in a function's properties is resolved into its "
                                   "configuration, readable by GetFunctionConfiguration")
            for logical in (f"{name}LogGroup", f"{name}ErrorsAlarm", f"{name}DurationAlarm"):
                if logical not in template["Resources"]:
                    raise PackageError(f"{name} has no {logical}: every function is watched (watching())")
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


def standalone(name: str) -> dict:
    """One fragment as a template of its own, for cfn-lint. Its Metadata says what it shares with the rest of
    the package: "Imports", the resources it uses that another part declares (name → the type the merged,
    SAM-translated template gives it), added here as stubs of that type; "Exports", the parameters and
    conditions only infra/package.py uses (in what it adds to the functions), added here as outputs, so that
    they count as used. tests/unit/test_deploy.py holds both lists to what the fragment and package.py
    really reference, and the imports to the types the package really has."""
    fragment = json.loads((ROOT / "infra" / name).read_text(encoding="utf-8"))
    shared = fragment.get("Metadata", {})
    for logical, spec in shared.get("Imports", {}).items():
        if logical in fragment.get("Resources", {}):
            raise PackageError(f"infra/{name} imports {logical} and declares it")
        fragment.setdefault("Resources", {})[logical] = {"Type": spec["Type"], "Properties": STUBS.get(spec["Type"], {})}
    for logical in shared.get("Exports", {}):
        if logical in fragment.get("Parameters", {}):
            fragment.setdefault("Outputs", {})[f"Exported{logical}"] = {"Value": {"Ref": logical}}
        elif logical in fragment.get("Conditions", {}):
            fragment.setdefault("Outputs", {})[f"Exported{logical}"] = {"Condition": logical, "Value": logical}
        else:
            raise PackageError(f"infra/{name} exports {logical}, which it does not declare")
    return fragment


# The least a stub needs to be a valid resource of its type (cfn-lint checks required properties).
STUBS = {"AWS::ApiGateway::RestApi": {"Name": "imported"}}


def write_fragments(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FRAGMENTS:
        path = out / name
        path.write_text(json.dumps(standalone(name), indent=2, ensure_ascii=False))
        written.append(path)
    return written


def translate(template: dict, *, region: str, code: tuple[str, str]) -> dict:
    """What CloudFormation makes of the package (its AWS::Serverless-2016-10-31 transform), offline, with
    AWS's own translator (aws-sam-translator, a dev dependency): the functions' code at s3://<code> as
    `aws cloudformation package` leaves it. No managed policy is used (every role has its own), so no IAM
    call is made."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": code[0], "Key": code[1]}
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    return translator.translate(template, parameter_values={}, get_managed_policy_map=lambda: {})


def package(stage: str, partition: str, out: Path) -> Path:
    template = finish(chalice_package(stage, out, region=PARTITIONS[partition]), stage=stage, partition=partition)
    (out / "sam.json").write_text(json.dumps(template, indent=2, ensure_ascii=False))
    return out / "sam.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--partition", default="aws", choices=sorted(PARTITIONS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fragments", type=Path, help="write each infra/ fragment alone (with its imports) here")
    args = parser.parse_args()
    if args.fragments:
        print("\n".join(map(str, write_fragments(args.fragments))))
        return 0
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

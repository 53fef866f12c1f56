"""Deployable as packaged (issue 13): one source for a stage and for the policies, checked offline.

Each of the four findings a deployment engineer made on the hand-written package is a test here:
账号管理's Scan had no permission, FILES_BUCKET was the literal `sentinel-dev-files-ACCOUNT_ID`, a bare
`chalice package --stage prod` subscribed prod's functions to dev's queues, and a policy granted
`s3:CopyObject`, which is not an IAM action. Every AWS call the functional suite makes is also checked
against its function's policy (tests/policy_check.py, at the end of each session)."""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import package, policies
from tests.cfn_effective import Effective
from tests.policy_check import allowed

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "cn-north-1"


def _policy(function: str, partition: str = "aws-cn") -> dict:
    return policies.render(function, stage="prod", partition=partition, account=ACCOUNT, region=REGION)


def _table(name: str, partition: str = "aws-cn") -> str:
    return f"arn:{partition}:dynamodb:{REGION}:{ACCOUNT}:table/sentinel-prod-{name}"


def test_account_management_may_scan_accounts_and_only_the_matcher_scans_people():
    assert allowed(_policy("api_handler"), "dynamodb:Scan", _table("accounts"))
    assert not allowed(_policy("api_handler"), "dynamodb:Scan", _table("staff"))
    assert allowed(_policy("on_upload"), "dynamodb:Scan", _table("staff"))  # the matcher's segments run there
    assert not allowed(_policy("overnight_matcher"), "dynamodb:Scan", _table("staff"))  # it only plans them
    assert not allowed(_policy("on_feed"), "dynamodb:Scan", _table("staff"))


def test_policies_are_per_function_named_and_partition_aware():
    assert not allowed(_policy("on_feed"), "dynamodb:PutItem", _table("accounts"))  # a feed never writes accounts
    assert not allowed(_policy("morning_push"), "dynamodb:GetItem", _table("staff"))
    assert allowed(_policy("morning_push"), "secretsmanager:GetSecretValue",
                   f"arn:aws-cn:secretsmanager:{REGION}:{ACCOUNT}:secret:sentinel-prod-wecom-Ab12Cd")
    assert not allowed(_policy("api_handler"), "secretsmanager:GetSecretValue",
                       f"arn:aws-cn:secretsmanager:{REGION}:{ACCOUNT}:secret:sentinel-prod-wecom-Ab12Cd")
    assert not allowed(_policy("api_handler", "aws"), "dynamodb:GetItem", _table("staff", "aws-cn"))
    for function in policies.FUNCTIONS:
        for statement in _policy(function)["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            # the only actions without a resource: an SMS to a phone number, the watch's own metrics
            assert resources != ["*"] or (function, statement["Action"]) in (
                ("api_handler", ["sns:Publish"]), ("ops_watch", ["cloudwatch:PutMetricData"])), (function, statement)


def test_every_function_may_use_the_stages_key_and_no_other():
    key = f"arn:aws-cn:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for function in policies.FUNCTIONS:  # S3, SQS and Secrets Manager use it on the caller's behalf
        policy = policies.render(function, stage="prod", partition="aws-cn", account=ACCOUNT, region=REGION, key=key)
        assert allowed(policy, "kms:GenerateDataKey", key) and allowed(policy, "kms:Decrypt", key), function
        assert not allowed(policy, "kms:Decrypt", key.replace("1234abcd", "99999999")), function
    assert _policy("api_handler")["Statement"][1:] and "${DataKey.Arn}" in json.dumps(
        policies.render("api_handler", stage="${Stage}"))  # the package's: the template's own key


def test_every_action_is_a_real_iam_action():
    assert "s3:CopyObject" not in policies.IAM_ACTIONS
    assert set(policies.ACTIONS) <= policies.IAM_ACTIONS, set(policies.ACTIONS) - policies.IAM_ACTIONS


def _chalice_like(stage_in_queue_names: str) -> dict:
    """The shape of what `chalice package` writes: functions with literal queue ARNs and config literals."""
    function = lambda role, queue=None: {"Type": "AWS::Serverless::Function", "Properties": {  # noqa: E731
        "Role": {"Fn::GetAtt": [role, "Arn"]}, "Environment": {"Variables": {
            "FILES_BUCKET": "sentinel-dev-files-ACCOUNT_ID", "STAGE": "dev"}},
        "Events": {"E": {"Type": "SQS", "Properties": {"Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:"
                                                                  f"${{AWS::AccountId}}:sentinel-{stage_in_queue_names}-{queue}"}}}}
        if queue else {}}}
    return {"Parameters": {"Stage": {"Type": "String", "Default": "dev"}}, "Resources": {
        "OnUpload": function("OnUploadRole", "imports"), "OnFeed": function("OnFeedRole", "feeds"),
        "APIHandler": function("ApiHandlerRole"),
        **{r: {"Type": "AWS::IAM::Role", "Properties": {"Policies": []}} for r in ("OnUploadRole", "OnFeedRole", "ApiHandlerRole")},
        "FilesBucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}


def test_a_stage_comes_from_one_value_and_the_bucket_from_the_template():
    done = package.finish(_chalice_like("prod"), stage="prod", partition="aws-cn")
    assert done["Parameters"]["Stage"]["Default"] == "prod"
    for name in ("OnUpload", "OnFeed", "APIHandler"):
        env = done["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert env["FILES_BUCKET"] == {"Ref": "FilesBucket"} and env["STAGE"] == {"Ref": "Stage"}
        assert env["APP_SECRET_ID"] == {"Fn::Sub": "sentinel-${Stage}-app"}  # a name: the value is read at run time
    assert done["Resources"]["OnUpload"]["Properties"]["Events"]["E"]["Properties"]["Queue"] == {
        "Fn::GetAtt": ["ImportQueue", "Arn"]}
    assert "ACCOUNT_ID" not in json.dumps(done)


def test_a_secret_in_a_functions_environment_is_refused():
    """Issue 23: APP_SECRET and EDGE_SECRET were resolved into every function's environment."""
    template = _chalice_like("prod")
    template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]["EDGE_SECRET"] = {
        "Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString}}"}
    with pytest.raises(package.PackageError, match="EDGE_SECRET would put a secret"):
        package.finish(template, stage="prod", partition="aws")
    template = _chalice_like("prod")
    template["Resources"]["OnFeed"]["Properties"]["Description"] = "{{resolve:secretsmanager:sentinel-prod-app}}"
    with pytest.raises(package.PackageError, match="dynamic reference"):
        package.finish(template, stage="prod", partition="aws")


def test_prod_is_never_subscribed_to_dev_queues():
    with pytest.raises(package.PackageError, match="not a queue of stage prod"):
        package.finish(_chalice_like("dev"), stage="prod", partition="aws")  # SENTINEL_STAGE was left at dev
    with pytest.raises(package.PackageError, match="stage name"):
        package.finish(_chalice_like("dev"), stage="Prod!", partition="aws")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """`chalice package` once per stage (the zip is the same for both partitions), finished for each."""
    out = {}
    for stage in ("dev", "prod"):
        base = package.chalice_package(stage, tmp_path_factory.mktemp(stage), region="us-east-1")
        for partition in ("aws", "aws-cn"):
            path = tmp_path_factory.mktemp(f"{stage}-{partition}") / "sam.json"
            path.write_text(json.dumps(package.finish(copy.deepcopy(base), stage=stage, partition=partition)))
            out[(stage, partition)] = path
    return out


def test_the_packages_of_both_stages_in_both_partitions_pass_cfn_lint(packaged):
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    # the SAM template hides what only its translation shows (a dependency cycle through the API's body): the
    # translated templates of each partition are linted too, side by side with the packages
    translated = []
    for partition in ("aws", "aws-cn"):
        out = packaged[("prod", partition)].with_name("translated.json")
        out.write_text(json.dumps(_translated(packaged, "prod", partition)))
        translated.append(str(out))
    runs = [subprocess.Popen([cfn_lint, *files], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for files in (list(map(str, packaged.values())), translated)]
    for run in runs:
        output = run.communicate()[0]
        assert run.returncode == 0, output
    prod = json.loads(packaged[("prod", "aws-cn")].read_text())
    functions = {n for n, r in prod["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions == set(package.FUNCTIONS)
    assert prod["Resources"]["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"  # no edge in China
    assert "sentinel-dev-" not in packaged[("prod", "aws")].read_text()


# --- issue 23: the template's size and the deploy command ------------------------------------------------------

FAKE_AWS = Path(__file__).resolve().parents[1] / "fake_aws.py"


@pytest.fixture
def fake_aws(tmp_path):
    """`aws` on PATH answering from a state file (tests/fake_aws.py), as a clean account would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_AWS} \"$@\"\n")
    (bin_dir / "aws").chmod(0o755)
    state, log = tmp_path / "aws-state.json", tmp_path / "aws-calls.log"

    def run(stage: str, partition: str, template: dict, *, region: str, make_vars=(), **world):
        state.write_text(json.dumps({"region": region, "account": "123456789012", "buckets": {}, "stacks": {},
                                     "unreserved": 1000, **world}))
        log.write_text("")
        build = ROOT / "build" / f"{stage}-{partition}"  # where make package writes, and make deploy reads
        build.mkdir(parents=True, exist_ok=True)
        (build / "sam.json").write_text(json.dumps(template, indent=2, ensure_ascii=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ARTIFACT_BUCKET", "CONSOLE_"))}
        env.update(PATH=f"{bin_dir}:{env['PATH']}", FAKE_AWS_STATE=str(state), FAKE_AWS_LOG=str(log))
        try:
            done = subprocess.run(["make", "-o", "package", "-o", "frontend", "deploy", f"STAGE={stage}",
                                   f"PARTITION={partition}", *make_vars], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=120)
            packaged = build / "packaged.json"
            size = packaged.stat().st_size if packaged.exists() else None
        finally:
            shutil.rmtree(build, ignore_errors=True)
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return done, calls, json.loads(state.read_text()), size

    return run


def _stage_template(packaged, stage: str, partition: str) -> dict:
    template = json.loads(packaged[("prod", partition)].read_text())
    template["Parameters"]["Stage"]["Default"] = stage  # as `make package STAGE=<stage>` writes it
    return template


def _call(calls, *prefix):
    found = [c for c in calls if c[:len(prefix)] == list(prefix)]
    assert found, (prefix, calls)
    return found[-1]


def test_make_deploy_creates_the_artifact_bucket_and_deploys_the_large_template_through_it(packaged, fake_aws):
    """Issue 23: the ~190 KB template was deployed without --s3-bucket, which CloudFormation refuses over
    51,200 bytes ("Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket"), and
    ARTIFACT_BUCKET had to exist before. From a clean account, in aws-cn and in aws."""
    stage = f"t{os.getpid() % 100000}"
    for partition, region in (("aws-cn", "cn-north-1"), ("aws", "us-east-1")):
        done, calls, state, size = fake_aws(stage, partition, _stage_template(packaged, stage, partition),
                                            region=region)
        assert done.returncode == 0, done.stdout + done.stderr
        bucket = f"sentinel-artifacts-123456789012-{region}"
        created = _call(calls, "s3api", "create-bucket")
        assert created[created.index("--bucket") + 1] == bucket
        assert ("--create-bucket-configuration" in created) == (region != "us-east-1")  # LocationConstraint
        assert state["buckets"][bucket]["put-public-access-block"] and state["buckets"][bucket]["put-bucket-encryption"]
        assert size > package_limit()  # the packaged template: CloudFormation takes it only from S3
        deploy = _call(calls, "cloudformation", "deploy")
        assert deploy[deploy.index("--s3-bucket") + 1] == bucket
        assert "--s3-bucket" in _call(calls, "cloudformation", "package")
        stack = state["stacks"][f"sentinel-{stage}"]
        assert stack["parameters"]["Stage"] == stage and "EdgeSecretVersion" not in stack["parameters"]
        assert stack["capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
        assert _call(calls, "lambda", "get-account-settings")  # a new stack: the API's reservation fits
        assert all(c[c.index("--region") + 1] == region for c in calls if "--region" in c)


def test_make_deploy_uses_a_given_bucket_passes_overrides_and_follows_the_edge_secret(packaged, fake_aws):
    stage = f"t{os.getpid() % 100000}"
    existing = {"outputs": [], "parameters": {}}
    done, calls, state, _ = fake_aws(
        stage, "aws-cn", _stage_template(packaged, stage, "aws-cn"), region="cn-north-1",
        make_vars=("ARTIFACT_BUCKET=my-artifacts", "CONSOLE_URL=https://jkjc.example.gov.cn/", "LOG_RETENTION_DAYS=90"),
        buckets={"my-artifacts": {"region": "cn-north-1", "objects": []}}, stacks={f"sentinel-{stage}": existing},
        edge_versions={"v-old": ["AWSPREVIOUS"], "v-new": ["AWSCURRENT"]})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [c for c in calls if c[:2] == ["s3api", "create-bucket"]]
    parameters = state["stacks"][f"sentinel-{stage}"]["parameters"]
    assert parameters["ConsolePublicUrl"] == "https://jkjc.example.gov.cn/" and parameters["LogRetentionDays"] == "90"
    # CloudFront's header follows the secret's current version (a rotation, python -m infra.stage_secrets)
    assert parameters["EdgeSecretVersion"] == "v-new"
    assert "控制台未托管" in done.stdout  # aws-cn without a filed domain hosts no console: nothing to publish
    assert not [c for c in calls if c[:2] == ["lambda", "get-account-settings"]]  # not a new stack


def test_make_deploy_stops_before_creating_a_stack_the_accounts_concurrency_cannot_hold(packaged, fake_aws):
    stage = f"t{os.getpid() % 100000}"
    done, calls, state, _ = fake_aws(stage, "aws", _stage_template(packaged, stage, "aws"), region="us-east-1",
                                     unreserved=10)  # a new account's quota
    assert done.returncode != 0 and "API_RESERVED_CONCURRENCY=0" in done.stderr
    assert not state["stacks"]
    done, calls, state, _ = fake_aws(stage, "aws", _stage_template(packaged, stage, "aws"), region="us-east-1",
                                     unreserved=10, make_vars=("API_RESERVED_CONCURRENCY=0",))
    assert done.returncode == 0, done.stderr
    assert state["stacks"][f"sentinel-{stage}"]["parameters"]["ApiReservedConcurrency"] == "0"
    done, _, _, _ = fake_aws(stage, "aws", _stage_template(packaged, stage, "aws"), region="cn-north-1")
    assert done.returncode != 0 and "not in partition aws" in done.stderr


def package_limit() -> int:
    from infra import deploy

    return deploy.INLINE_LIMIT


# --- issue 23: CONSOLE_URL, no secret in the functions, watched, every fragment lints alone ------------------------

def _functions(template: dict) -> dict:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def test_console_url_is_a_stack_parameter_in_every_functions_environment(packaged):
    """Issue 23: CONSOLE_URL was never set, so every 粤政易 card's 详情 opened http://127.0.0.1:8000/."""
    aws, china = (json.loads(packaged[("prod", p)].read_text()) for p in ("aws", "aws-cn"))
    assert aws["Parameters"]["ConsolePublicUrl"]["Default"] == ""

    def url(template, name, partition, **parameters):
        effective = Effective(template, **parameters, **{"AWS::Partition": partition})
        return effective.resolve(_functions(template)[name]["Properties"]["Environment"]["Variables"]["CONSOLE_URL"])

    for name in package.FUNCTIONS:
        for template, partition in ((aws, "aws"), (china, "aws-cn")):
            assert url(template, name, partition, ConsolePublicUrl="https://jkjc.example.gov.cn/") == \
                "https://jkjc.example.gov.cn/"
            assert url(template, name, partition, ConsoleDomain="jkjc.example.gov.cn") == {
                "Fn::Sub": "https://${ConsoleDomain}/"}
        # by default, in aws: the distribution's own address, the stack's output ConsoleUrl — but the API's,
        # which CloudFront calls (a cycle) and which sends no link
        own = url(aws, name, "aws")
        assert own == ("" if name == "APIHandler" else {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/"})
        assert url(china, name, "aws-cn") == ""  # no filed domain, no console: nothing to link to
    assert aws["Outputs"]["ConsoleUrl"]["Value"]["Fn::If"][:2] == ["HasConsolePublicUrl", {"Ref": "ConsolePublicUrl"}]
    from chalicelib.config import settings  # the setting the push reads it from
    assert "CONSOLE_URL" in (ROOT / "chalicelib" / "config.py").read_text() and settings().console_url


def test_no_secret_value_or_reference_in_any_functions_environment(packaged):
    """Issue 23: APP_SECRET and EDGE_SECRET were resolved into all five functions' environment, readable
    with GetFunctionConfiguration. Now their names; the functions read them at run time."""
    for key, path in packaged.items():
        template = json.loads(path.read_text())
        for name, function in _functions(template).items():
            env = function["Properties"]["Environment"]["Variables"]
            assert "{{resolve:" not in json.dumps(function), (key, name)
            assert not {v for v in env if re.search(r"SECRET$|KEY$|PASSWORD$|TOKEN$", v)}, (key, name)
            assert env["APP_SECRET_ID"] == {"Fn::Sub": "sentinel-${Stage}-app"}
            assert ("EDGE_SECRET_ID" in env) == (name == "APIHandler")
        # CloudFront alone holds the edge secret's value (it must send it), resolved at the version the stack
        # names, so that a rotation changes the reference and CloudFormation resolves it again
        (origin,) = [o for o in template["Resources"].get("ConsoleDistribution", {"Properties": {"DistributionConfig": {
            "Origins": [{"Id": "api", "OriginCustomHeaders": [{"HeaderValue": None}]}]}}})["Properties"][
            "DistributionConfig"]["Origins"] if o["Id"] == "api"]
        header = origin["OriginCustomHeaders"][0]["HeaderValue"]
        effective = Effective(template, EdgeSecretVersion="3f1b2c4d-0000-4000-8000-1234567890ab")
        assert effective.resolve(header) == {
            "Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString:::${EdgeSecretVersion}}}"}
    assert policies.render("api_handler", stage="prod")["Statement"]  # granted: tests/functional read them so


def _translated(packaged, stage="prod", partition="aws-cn") -> dict:
    return package.translate(json.loads(packaged[(stage, partition)].read_text()),
                             region=package.PARTITIONS[partition], code=("artifacts", "code.zip"))


def _of_type(template: dict, kind: str) -> dict:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_every_function_has_its_alarms_log_retention_and_limits_and_each_schedule_a_failure_destination(packaged):
    """Issue 23: production ran blind: two alarms in all, no failure destination, no log retention, no
    reserved or maximum concurrency. Read from the translated template (what CloudFormation creates)."""
    template = _translated(packaged)
    functions = _of_type(template, "AWS::Lambda::Function")
    assert set(functions) == set(package.FUNCTIONS)
    alarms = {a["Properties"]["AlarmName"]["Fn::Sub"].removeprefix("sentinel-${Stage}-"): a["Properties"]
              for a in _of_type(template, "AWS::CloudWatch::Alarm").values()}
    groups = {g["Properties"]["LogGroupName"]["Fn::Sub"]: g for g in _of_type(template, "AWS::Logs::LogGroup").values()}
    topic = [{"Ref": "OpsAlarmTopic"}]
    for name, function in functions.items():
        slug = package.function_name(package.FUNCTIONS[name])
        assert function["Properties"]["FunctionName"] == {"Fn::Sub": f"sentinel-${{Stage}}-{slug}"}
        for what, metric in (("errors", "Errors"), ("duration", "Duration")):
            alarm = alarms.pop(f"{slug}-{what}")
            assert alarm["MetricName"] == metric and alarm["AlarmActions"] == topic
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]
        group = groups.pop(f"/aws/lambda/sentinel-${{Stage}}-{slug}")
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert f"{name}LogGroup" in function["DependsOn"]  # exists before Lambda could make one without retention
    assert not groups
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    assert set(alarms) == {"night-unfinished", "nat-feed-missing", "ops-watch-silent", "imports-dead-letters",
                           "feeds-dead-letters"}
    assert all(a["AlarmActions"] == topic for a in alarms.values())
    assert (alarms["night-unfinished"]["MetricName"], alarms["nat-feed-missing"]["MetricName"]) == (
        "NightFinished", "NatFeedArrived")

    invoke = {r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
              for r in _of_type(template, "AWS::Lambda::EventInvokeConfig").values()}
    rules = {r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] for r in _of_type(template, "AWS::Events::Rule").values()}
    assert set(invoke) == rules == {"OvernightMatcher", "MorningPush", "OpsWatch"}  # every scheduled function
    assert all(i["DestinationConfig"]["OnFailure"]["Destination"] == {"Ref": "OpsAlarmTopic"} for i in invoke.values())
    for role in ("OvernightMatcher", "MorningPush", "OpsWatch"):  # Lambda publishes the failure as the function
        policy = policies.render(package.FUNCTIONS[role], stage="prod", partition="aws-cn", account=ACCOUNT,
                                 region=REGION)
        assert allowed(policy, "sns:Publish", f"arn:aws-cn:sns:{REGION}:{ACCOUNT}:sentinel-prod-ops-alarms")

    assert functions["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasApiReservation", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    mappings = {r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
                for r in _of_type(template, "AWS::Lambda::EventSourceMapping").values()}
    assert mappings["OnUpload"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ImportQueueConcurrency"}}
    assert mappings["OnFeed"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "FeedQueueConcurrency"}}
    defaults = {p: template["Parameters"][p]["Default"] for p in
                ("ApiReservedConcurrency", "ImportQueueConcurrency", "FeedQueueConcurrency")}
    assert defaults == {"ApiReservedConcurrency": 50, "ImportQueueConcurrency": 20, "FeedQueueConcurrency": 5}


def test_every_infra_fragment_lints_on_its_own(tmp_path):
    """Issue 23: `cfn-lint infra/hosting.json` failed (E1019: Stage, EdgeSecret, RestAPI undeclared). Each
    fragment declares Stage itself, and what it takes from the others ("Imports") or leaves to package.py
    ("Exports") is declared in its Metadata (`make lint-infra`)."""
    written = package.write_fragments(tmp_path)
    assert {p.name for p in written} == set(package.FRAGMENTS) == {p.name for p in (ROOT / "infra").glob("*.json")}
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, *map(str, written)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _referenced(node) -> set[str]:
    text = json.dumps(node)
    names = set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text)) | set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text))
    names |= set(re.findall(r'"Condition": "([A-Za-z0-9]+)"', text)) | {
        n["Fn::If"][0] for n in _nodes(node, "Fn::If")}
    for sub in re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", text):
        names.add(sub)
    return names


def _nodes(node, key):
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from _nodes(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value, key)


def test_a_fragments_imports_and_exports_are_what_it_and_the_package_really_use(packaged):
    translated = _translated(packaged, "prod", "aws")
    finished = json.loads(packaged[("prod", "aws")].read_text())
    added = {n: r for n, r in finished["Resources"].items() if n.startswith(tuple(package.FUNCTIONS))}
    for name in package.FRAGMENTS:
        fragment = json.loads((ROOT / "infra" / name).read_text(encoding="utf-8"))
        declared = set(fragment.get("Parameters", {})) | set(fragment.get("Resources", {})) | set(
            fragment.get("Conditions", {}))
        used = _referenced({k: fragment.get(k, {}) for k in ("Resources", "Outputs", "Conditions")})
        imports = fragment.get("Metadata", {}).get("Imports", {})
        assert set(imports) == {u for u in used - declared if not u.startswith("AWS")}, name
        for logical, spec in imports.items():  # and the package gives each the type the stub has
            assert translated["Resources"][logical]["Type"] == spec["Type"], (name, logical)
        exports = fragment.get("Metadata", {}).get("Exports", {})
        unused = (set(fragment.get("Parameters", {})) | set(fragment.get("Conditions", {}))) - used - {"Stage"}
        assert unused <= set(exports), name  # nothing declared and left unused but what package.py uses
        assert set(exports) <= _referenced(added), name  # and infra/package.py really uses each

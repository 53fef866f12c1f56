"""The stack as CloudFormation would create it, offline.

First infra/stateful.json alone (moto's CloudFormation), compared with what the code expects: every pynamodb
model's table with its keys and indexes. Then the whole package of a stage (issue 23): Chalice's functions
merged with infra/'s fragments (infra/package.py), translated by AWS's own SAM translator as CloudFormation's
transform would, and created as a stack on moto — taught the five resource types its CloudFormation skips
(tests/moto_cfn.py) — then read back through each service's API: every function with its name, memory,
timeout, environment (no secret), reserved concurrency and failure destination; every queue and its
subscription's maximum concurrency; every schedule; every table; every alarm with its metric, threshold and
the ops topic; every log group with its retention; the secrets; the REST API's routes. And every name the
code reads from its environment is set in the packaged functions or defaulted in code."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.store.models import ALL_MODELS
from infra import package
from infra.provision import load_template
from tests.moto_cfn import for_moto, taught

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.once
def test_the_stateful_stack_creates_every_table_the_models_use():
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="sentinel-test", TemplateBody=json.dumps(load_template()),
                         Parameters=[{"ParameterKey": "Stage", "ParameterValue": "test"}])
        status = cfn.describe_stacks(StackName="sentinel-test")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", status
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        tables = set(ddb.list_tables()["TableNames"])
        for model in ALL_MODELS:
            name = f"sentinel-test-{model.Meta.base_name}"
            assert name in tables, name
            described = ddb.describe_table(TableName=name)["Table"]
            schema = model._get_schema()
            assert sorted((k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]) == sorted(
                (k["AttributeName"], k["KeyType"]) for k in schema["key_schema"])
            assert {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])} == {
                g["index_name"] for g in schema["global_secondary_indexes"]}
        queues = boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]
        assert {u.rsplit("/", 1)[-1] for u in queues} >= {"sentinel-test-imports", "sentinel-test-feeds",
                                                          "sentinel-test-imports-dlq", "sentinel-test-feeds-dlq"}


def test_every_environment_variable_the_code_reads_is_set_by_the_package_or_defaulted():
    read = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r'env(?:iron)?\.get\("([A-Z_]+)"', text))
        read |= set(re.findall(r'environ\["([A-Z_]+)"\]', text))
    defaulted = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        defaulted |= set(re.findall(r'\.get\("([A-Z_]+)", [^)]', path.read_text(encoding="utf-8")))
    # infra/package.py sets them (APP_SECRET and EDGE_SECRET: the local and test stages' fallback, never packaged)
    packaged = {"STAGE", "TABLE_PREFIX", "FILES_BUCKET", "WECOM_SECRET_ID", "SMS_SECRET_ID", "APP_SECRET_ID",
                "EDGE_SECRET_ID", "PERSON_KEY_SECRET_ID", "CONSOLE_URL", "NAT_FEED_DEADLINE_HOUR"}
    fallbacks = {"APP_SECRET", "EDGE_SECRET"}
    optional = {"LOCAL_SMS_OUTBOX"}  # absent means off: the local stage's SMS outbox file
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    configured = set(config["environment_variables"]) | set(config["stages"]["prod"]["environment_variables"])
    assert read - defaulted <= packaged | configured | optional | fallbacks, (
        read - defaulted - packaged - configured - optional - fallbacks)


PARAMETERS = {"Stage": "prod", "LogRetentionDays": "90", "ConsolePublicUrl": "https://jkjc.example.gov.cn/",
              "NatFeedDeadlineHour": "11", "ApiReservedConcurrency": "40", "ImportQueueConcurrency": "30",
              "FeedQueueConcurrency": "4", "AlarmEmail": "yunwei@example.gov.cn",
              "ProvinceFeedPrincipal": "arn:aws-cn:iam::111122223333:role/feed-sender"}
ARTIFACTS = ("sentinel-artifacts-123456789012-cn-north-1", "sentinel-prod/deployment.zip")


@pytest.mark.once
def test_the_translated_package_is_created_as_a_stack_with_every_setting(tmp_path):
    """aws-cn, as a China stage is first deployed: without an ICP-filed domain, so without the console's
    CloudFront (which moto cannot create), and with every parameter away from its default, so each is seen
    to arrive where it is used."""
    started = time.monotonic()
    sam = package.finish(package.chalice_package("prod", tmp_path / "prod", region="cn-north-1"),
                         stage="prod", partition="aws-cn")
    translated = package.translate(sam, region="cn-north-1", code=ARTIFACTS)
    assert "Transform" not in translated and not any(
        r["Type"].startswith("AWS::Serverless::") for r in translated["Resources"].values())
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]["lambda_functions"]
    with mock_aws(), taught():
        s3 = boto3.client("s3", region_name="cn-north-1")
        s3.create_bucket(Bucket=ARTIFACTS[0], CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        s3.put_object(Bucket=ARTIFACTS[0], Key=ARTIFACTS[1], Body=(tmp_path / "prod" / "deployment.zip").read_bytes())
        cfn = boto3.client("cloudformation", region_name="cn-north-1")
        cfn.create_stack(StackName="sentinel-prod", Capabilities=["CAPABILITY_IAM"],
                         TemplateBody=json.dumps(for_moto(translated, partition="aws-cn", parameters=PARAMETERS)),
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()])
        stack = cfn.describe_stacks(StackName="sentinel-prod")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        created = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="sentinel-prod")[
            "StackResourceSummaries"] if r["ResourceType"]}
        hosted = {n for n, r in translated["Resources"].items() if r.get("Condition") in ("HostsConsole", "HasFixedEgress")}
        assert set(created) == set(translated["Resources"]) - hosted  # nothing skipped
        assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in created.values())
        _functions_and_their_settings(config)
        _queues_schedules_and_tables()
        _alarms_log_groups_and_secrets()
        _api_routes()
        _uploads_and_the_provinces_drop()
    elapsed = time.monotonic() - started
    print(f"translated stack created and checked in {elapsed:.1f} s")
    assert elapsed < 120


def _uploads_and_the_provinces_drop():
    """Issue 24: the bucket takes the console's form posts (CORS, from ConsolePublicUrl's origin); the
    province's principal may assume a role whose one policy puts feed files and nothing else."""
    (rule,) = _client("s3").get_bucket_cors(Bucket="sentinel-prod-files-123456789012")["CORSRules"]
    assert (rule["AllowedMethods"], rule["AllowedOrigins"]) == (["POST"], ["https://jkjc.example.gov.cn"])
    iam = _client("iam")
    (role,) = [r for r in iam.list_roles()["Roles"] if r["Path"] == "/sentinel-prod/"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"] == [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                   "Principal": {"AWS": "arn:aws-cn:iam::111122223333:role/feed-sender"}}]
    (attached,) = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert not iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])[
        "PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    objects, key = document["Statement"]
    assert objects["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert [r.rsplit(":::", 1)[1] for r in objects["Resource"]] == [
        "sentinel-prod-files-123456789012/feeds/nat/*", "sentinel-prod-files-123456789012/feeds/vaccine/*"]
    assert key["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"] and ":key/" in key["Resource"][0]
    assert "kms:ViaService" in key["Condition"]["StringEquals"]


def _client(service):
    return boto3.client(service, region_name="cn-north-1")


TOPIC = "arn:aws-cn:sns:cn-north-1:123456789012:sentinel-prod-ops-alarms"
NAMES = {"api_handler": "sentinel-prod-api-handler", "on_upload": "sentinel-prod-on-upload",
         "on_feed": "sentinel-prod-on-feed", "overnight_matcher": "sentinel-prod-overnight-matcher",
         "morning_push": "sentinel-prod-morning-push", "ops_watch": "sentinel-prod-ops-watch"}


def _functions_and_their_settings(config):
    lam, secrets = _client("lambda"), _client("secretsmanager")
    functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(functions) == set(NAMES.values())
    values = [secrets.get_secret_value(SecretId=s["Name"])["SecretString"] for s in secrets.list_secrets()["SecretList"]]
    for function, name in NAMES.items():
        found = functions[name]
        assert found["Handler"] == ("app.app" if function == "api_handler" else f"app.{function}")
        assert (found["MemorySize"], found["Timeout"]) == (config[function]["lambda_memory_size"],
                                                          config[function]["lambda_timeout"]), function
        env = found["Environment"]["Variables"]
        assert env["STAGE"] == "prod" and env["FILES_BUCKET"] == "sentinel-prod-files-123456789012"
        assert env["CONSOLE_URL"] == "https://jkjc.example.gov.cn/", function  # the 详情 link of every card
        assert env["APP_SECRET_ID"] == "sentinel-prod-app" and "APP_SECRET" not in env and "EDGE_SECRET" not in env
        assert ("EDGE_SECRET_ID" in env) == (function == "api_handler")
        shown = json.dumps(lam.get_function_configuration(FunctionName=name))  # what GetFunctionConfiguration shows
        assert "resolve:secretsmanager" not in shown and not any(v in shown for v in values), function
        assert str(env["NAT_FEED_DEADLINE_HOUR"]) == "11"
        reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        assert reserved == (40 if function == "api_handler" else None), function
        if function in ("overnight_matcher", "morning_push", "ops_watch"):
            invoke = lam.get_function_event_invoke_config(FunctionName=name)
            assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == TOPIC, function
            assert invoke["MaximumRetryAttempts"] == (0 if function == "ops_watch" else 2)
    mappings = {m["EventSourceArn"].rsplit(":", 1)[-1]: m for m in lam.list_event_source_mappings()["EventSourceMappings"]}
    assert set(mappings) == {"sentinel-prod-imports", "sentinel-prod-feeds"}
    assert mappings["sentinel-prod-imports"]["FunctionArn"].endswith(":sentinel-prod-on-upload")
    assert mappings["sentinel-prod-feeds"]["FunctionArn"].endswith(":sentinel-prod-on-feed")
    assert mappings["sentinel-prod-imports"]["ScalingConfig"] == {"MaximumConcurrency": 30}
    assert mappings["sentinel-prod-feeds"]["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert {m["BatchSize"] for m in mappings.values()} == {1}


def _queues_schedules_and_tables():
    sqs = _client("sqs")
    urls = {u.rsplit("/", 1)[-1]: u for u in sqs.list_queues()["QueueUrls"]}
    assert set(urls) == {"sentinel-prod-imports", "sentinel-prod-feeds", "sentinel-prod-imports-dlq",
                         "sentinel-prod-feeds-dlq"}
    for queue in ("imports", "feeds"):
        attributes = sqs.get_queue_attributes(QueueUrl=urls[f"sentinel-prod-{queue}"], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(f":sentinel-prod-{queue}-dlq") and int(redrive["maxReceiveCount"]) == 5
        assert int(attributes["VisibilityTimeout"]) >= 900  # longer than its consumer's timeout
        assert "s3.amazonaws.com" in attributes["Policy"]  # the bucket may notify it
    events = _client("events")
    schedules = {}
    for rule in events.list_rules()["Rules"]:
        (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        schedules[target["Arn"].rsplit(":", 1)[-1]] = rule["ScheduleExpression"]
    assert schedules == {"sentinel-prod-overnight-matcher": "cron(0 18 * * ? *)",  # 02:00 Asia/Shanghai
                         "sentinel-prod-morning-push": "cron(0 1 * * ? *)",  # 09:00
                         "sentinel-prod-ops-watch": "cron(0/30 * * * ? *)"}
    ddb = _client("dynamodb")
    for model in ALL_MODELS:
        described = ddb.describe_table(TableName=f"sentinel-prod-{model.Meta.base_name}")["Table"]
        assert {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])} == {
            g["index_name"] for g in model._get_schema()["global_secondary_indexes"]}


def _alarms_log_groups_and_secrets():
    alarms = {a["AlarmName"].removeprefix("sentinel-prod-"): a for a in _client("cloudwatch").describe_alarms()["MetricAlarms"]}
    timeouts = {"api-handler": 29, "on-upload": 900, "on-feed": 900, "overnight-matcher": 900, "morning-push": 900,
                "ops-watch": 60}
    for slug, timeout in timeouts.items():
        errors, duration = alarms.pop(f"{slug}-errors"), alarms.pop(f"{slug}-duration")
        for alarm, metric in ((errors, "Errors"), (duration, "Duration")):
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": f"sentinel-prod-{slug}"}]
            assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC]
        assert (errors["Statistic"], errors["Threshold"], errors["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold")
        assert (duration["Statistic"], duration["Threshold"]) == ("Maximum", timeout * 800)  # 80 % of the timeout, ms
    night, feed, silent = alarms.pop("night-unfinished"), alarms.pop("nat-feed-missing"), alarms.pop("ops-watch-silent")
    for alarm, metric in ((night, "NightFinished"), (feed, "NatFeedArrived")):
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("Sentinel", metric, "Minimum")
        assert alarm["Dimensions"] == [{"Name": "Stage", "Value": "prod"}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
        # published only from its hour on, every half hour: between checks the alarm keeps its state
        assert (alarm["Period"], alarm["TreatMissingData"]) == (300, "ignore")
        assert alarm["AlarmActions"] == [TOPIC]
    assert "11:00" in feed["AlarmDescription"]
    assert (silent["MetricName"], silent["TreatMissingData"]) == ("Invocations", "breaching")
    assert set(alarms) == {"imports-dead-letters", "feeds-dead-letters"}  # and nothing else
    assert all(a["AlarmActions"] == [TOPIC] for a in alarms.values())
    topic = _client("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in topic] == [("email", "yunwei@example.gov.cn")]

    groups = {g["logGroupName"]: g for g in _client("logs").describe_log_groups()["logGroups"]}
    assert set(groups) == {f"/aws/lambda/sentinel-prod-{slug}" for slug in timeouts}
    assert {g.get("retentionInDays") for g in groups.values()} == {90}

    names = {s["Name"] for s in _client("secretsmanager").list_secrets()["SecretList"]}
    assert names == {f"sentinel-prod-{n}" for n in ("wecom", "sms", "app", "person-key", "edge")}


def _api_routes():
    gateway = _client("apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]  # no edge-optimized endpoint in China
    paths = {r["path"]: r for r in gateway.get_resources(restApiId=api["id"], limit=500)["items"]}
    login = paths["/api/auth/login"]
    integration = gateway.get_integration(restApiId=api["id"], resourceId=login["id"], httpMethod="POST")
    assert integration["type"].upper() == "AWS_PROXY" and ":function:sentinel-prod-api-handler/" in integration["uri"]
    # Chalice's stage, where CloudFront sends /api/* (origin path /api); SAM's Deployment also names a stage
    # "Stage" (its long-standing default without OpenApiVersion), which nothing uses
    assert "api" in {s["stageName"] for s in gateway.get_stages(restApiId=api["id"])["item"]}

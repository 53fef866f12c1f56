"""infra/stateful.json created as a CloudFormation stack (moto's), then compared with what the code
expects: every pynamodb model's table with its keys and indexes, and every name the code reads from
its environment set in the packaged functions or defaulted in code (chalicelib/config.py and the
integrations)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.store.models import ALL_MODELS
from infra.provision import load_template

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
    # infra/package.py sets them
    packaged = {"STAGE", "TABLE_PREFIX", "FILES_BUCKET", "WECOM_SECRET_ID", "SMS_SECRET_ID", "APP_SECRET",
                "EDGE_SECRET", "PERSON_KEY_SECRET_ID"}
    optional = {"LOCAL_SMS_OUTBOX"}  # absent means off: the local stage's SMS outbox file
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    configured = set(config["environment_variables"]) | set(config["stages"]["prod"]["environment_variables"])
    assert read - defaulted <= packaged | configured | optional, read - defaulted - packaged - configured - optional

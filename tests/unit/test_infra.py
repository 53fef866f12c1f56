"""infra/stateful.json must declare exactly the keys and indexes the pynamodb models use, and keep people's
data as the district must: encrypted with the stage's KMS key, recoverable, and deleted when it is due."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.store.models import ALL_MODELS
from infra.provision import load_template

ROOT = Path(__file__).resolve().parents[2]


def _template_tables():
    tables = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            base = props["TableName"]["Fn::Sub"].removeprefix("sentinel-${Stage}-")
            tables[base] = props
    return tables


def _normal(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_table_matches_model(model):
    props = _template_tables()[model.Meta.base_name]
    schema = model._get_schema()
    assert _normal(props["KeySchema"]) == _normal(schema["key_schema"])
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]) == sorted(
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"])
    declared = {g["IndexName"]: (_normal(g["KeySchema"]), g["Projection"]["ProjectionType"])
                for g in props.get("GlobalSecondaryIndexes", [])}
    modelled = {g["index_name"]: (_normal(g["key_schema"]), g["projection"]["ProjectionType"])
                for g in schema["global_secondary_indexes"]}
    assert declared == modelled
    ttl = [name for name, attr in model.get_attributes().items() if type(attr).__name__ == "TTLAttribute"]
    declared_ttl = [props["TimeToLiveSpecification"]["AttributeName"]] if "TimeToLiveSpecification" in props else []
    assert declared_ttl == ttl


def test_every_template_table_has_a_model():
    assert set(_template_tables()) == {m.Meta.base_name for m in ALL_MODELS}


def test_template_passes_cfn_lint():
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(ROOT / "infra" / "stateful.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _resources(kind: str) -> dict:
    return {n: r for n, r in load_template()["Resources"].items() if r["Type"] == kind}


def test_every_store_of_personal_data_is_encrypted_with_the_stages_key():
    key = {"Ref": "DataKey"}
    assert load_template()["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True
    for name, table in _resources("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                                           "KMSMasterKeyId": key}, name
    for name, queue in _resources("AWS::SQS::Queue").items():  # a queued S3 event names the uploaded file
        assert queue["Properties"]["KmsMasterKeyId"] == key, name
    for name, secret in _resources("AWS::SecretsManager::Secret").items():
        assert secret["Properties"]["KmsKeyId"] == key, name
    rule, = _resources("AWS::S3::Bucket")["FilesBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                     "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    assert rule["BucketKeyEnabled"] is True  # one KMS request per object per bucket key, not per request
    statements = load_template()["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "s3.amazonaws.com"} for s in statements)  # S3 → encrypted queues


def test_the_bucket_keeps_replaced_files_a_week_and_nat_data_no_longer_than_fourteen_days_and_one():
    bucket = _resources("AWS::S3::Bucket")["FilesBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Prefix"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["feeds/"]["ExpirationInDays"] == 14 and rules["feeds/"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 1}
    for prefix in ("uploads/", "results/", "push/", "runs/"):
        assert rules[prefix]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7, prefix
    assert rules[""]["ExpiredObjectDeleteMarker"] is True


def test_tables_of_people_have_point_in_time_recovery():
    for name, table in _resources("AWS::DynamoDB::Table").items():
        if name != "ThrottlesTable":  # counters that expire within minutes
            assert table["Properties"]["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True}, name

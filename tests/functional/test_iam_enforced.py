"""moto enforces each function's IAM policy in this suite (tests/iam_moto.py): a call its policy lacks is
AccessDenied, so the test that makes it fails. Proven here on calls the policies deliberately leave out —
made outside tests/policy_check.py's record, which would otherwise (rightly) fail the session for them."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.config import settings
from chalicelib.runtime import running
from tests import iam_moto
from tests.policy_check import unrecorded

pytestmark = pytest.mark.skipif(not iam_moto.enabled(), reason="moto enforces IAM only when DynamoDB is moto's")


def _denied(call) -> None:
    with unrecorded(), pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_call_outside_a_functions_policy_is_denied(aws):
    prefix, bucket = settings().table_prefix, settings().files_bucket
    ddb, s3, secrets = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("secretsmanager")
    with running("api_handler"):  # it may scan accounts (账号管理), never staff: resources are checked
        _denied(lambda: ddb.scan(TableName=f"{prefix}staff", Limit=1))
        ddb.scan(TableName=f"{prefix}accounts", Limit=1)
    with running("on_upload"):  # the worker runs the matcher's segments: the only scans of people
        ddb.scan(TableName=f"{prefix}staff", Limit=1)
    with running("overnight_matcher"):  # the schedule only plans the segments now
        _denied(lambda: ddb.scan(TableName=f"{prefix}staff", Limit=1))
    with running("on_feed"):  # the feed worker never writes accounts, not even inside a transaction
        _denied(lambda: ddb.put_item(TableName=f"{prefix}accounts", Item={"username": {"S": "x"}}))
        _denied(lambda: ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": f"{prefix}accounts", "Item": {"username": {"S": "x"}}}}]))
        _denied(lambda: ddb.batch_get_item(RequestItems={f"{prefix}accounts": {"Keys": [{"username": {"S": "x"}}]}}))
        _denied(lambda: secrets.get_secret_value(SecretId=f"sentinel-{settings().stage}-wecom"))
    with running("morning_push"):  # the push reads and writes files, never lists the bucket
        _denied(lambda: s3.list_objects_v2(Bucket=bucket))
    with running("api_handler"):
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
        _denied(lambda: s3.get_object(Bucket="someone-elses", Key="x"))  # S3 resources are checked too


def test_outside_any_function_the_fixtures_are_admin(aws):
    boto3.client("dynamodb").scan(TableName=f"{settings().table_prefix}staff", Limit=1)

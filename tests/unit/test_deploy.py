"""Deployable as packaged (issue 13): one source for a stage and for the policies, checked offline.

Each of the four findings a deployment engineer made on the hand-written package is a test here:
账号管理's Scan had no permission, FILES_BUCKET was the literal `sentinel-dev-files-ACCOUNT_ID`, a bare
`chalice package --stage prod` subscribed prod's functions to dev's queues, and a policy granted
`s3:CopyObject`, which is not an IAM action. Every AWS call the functional suite makes is also checked
against its function's policy (tests/policy_check.py, at the end of each session)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import package, policies
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
    assert allowed(_policy("overnight_matcher"), "dynamodb:Scan", _table("staff"))
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
            assert resources != ["*"] or statement["Action"] == ["sns:Publish"], (function, statement)


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
        assert env["APP_SECRET"] == {"Fn::Sub": "{{resolve:secretsmanager:${AppSecret}:SecretString}}"}
        assert env["EDGE_SECRET"] == {"Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString}}"}
    assert done["Resources"]["OnUpload"]["Properties"]["Events"]["E"]["Properties"]["Queue"] == {
        "Fn::GetAtt": ["ImportQueue", "Arn"]}
    assert "ACCOUNT_ID" not in json.dumps(done)


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
    result = subprocess.run([cfn_lint, *map(str, packaged.values())], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    prod = json.loads(packaged[("prod", "aws-cn")].read_text())
    functions = {n for n, r in prod["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions == set(package.FUNCTIONS)
    assert prod["Resources"]["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"  # no edge in China
    assert "sentinel-dev-" not in packaged[("prod", "aws")].read_text()

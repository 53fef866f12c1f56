"""The app and edge secrets are read at run time from Secrets Manager, each by the functions whose policy
allows it (moto enforces infra/policies.py here), trusted a minute, and rotated for real (issue 23: they were
resolved into every function's environment at deploy time, and "put a new value, deploy again" rotated
nothing, as CloudFormation does not re-resolve an unchanged dynamic reference). The procedure of
docs/deploy.md, "Secrets", step by step through infra/stage_secrets.py."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.api.common import viewer_address
from chalicelib.errors import SecretUnavailableError
from chalicelib.runtime import running
from chalicelib.services.common import security, stage_secrets
from infra import stage_secrets as cli
from tests import iam_moto
from tests.conftest import STAGE_SECRETS
from tests.policy_check import unrecorded

CLOUDFRONT, VIEWER = "130.176.1.1", "203.0.113.7"


class Clock:
    """stage_secrets' monotonic clock, moved by hand: what a warm function trusts, and for how long."""

    def __init__(self, monkeypatch):
        self.now = 1000.0
        monkeypatch.setattr(stage_secrets.time, "monotonic", lambda: self.now)

    def pass_(self, seconds: float) -> None:
        self.now += seconds


def _through_edge(value: str) -> str:
    """The address the API counts for a request CloudFront forwarded with this X-Sentinel-Edge."""
    headers = {"x-sentinel-edge": value, "x-forwarded-for": f"6.6.6.6, {VIEWER}, {CLOUDFRONT}"}
    with running("api_handler"):
        return viewer_address(CLOUDFRONT, headers, stage_secrets.edge_secrets())


def _value(name: str, stage: str = "AWSCURRENT") -> str:
    return boto3.client("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]


@pytest.fixture
def stack(aws):
    """The stage's stack as make deploy leaves it: EdgeSecretVersion names what CloudFront sends."""
    cfn = boto3.client("cloudformation")
    template = {"Parameters": {"EdgeSecretVersion": {"Type": "String", "Default": ""}},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cfn.create_stack(StackName="sentinel-local", TemplateBody=json.dumps(template))

    def deploy():  # make deploy: the edge secret's AWSCURRENT version becomes the header's
        current = cli.stages_of("sentinel-local-edge")["AWSCURRENT"]
        cfn.update_stack(StackName="sentinel-local", TemplateBody=json.dumps(template),
                         Parameters=[{"ParameterKey": "EdgeSecretVersion", "ParameterValue": current}])
        return current

    return deploy


def test_the_app_secret_is_read_at_run_time_and_a_new_value_is_used_within_the_minute(aws, monkeypatch):
    clock = Clock(monkeypatch)
    assert stage_secrets.app_secret() == STAGE_SECRETS["APP_SECRET_ID"][1].encode()  # not the environment's
    with running("api_handler"):
        before = security.keyed_hash("sms", "13800138000:123456")
    version = cli.rotate_app("local")
    assert cli.stages_of("sentinel-local-app")["AWSCURRENT"] == version
    with running("api_handler"):
        assert security.keyed_hash("sms", "13800138000:123456") == before  # a warm function: still the old one
        clock.pass_(stage_secrets.FRESH_SECONDS + 1)
        after = security.keyed_hash("sms", "13800138000:123456")
    assert after != before and stage_secrets.app_secret() == _value("sentinel-local-app").encode()


@pytest.mark.skipif(not iam_moto.enabled(), reason="moto enforces IAM only when DynamoDB is moto's")
def test_only_the_functions_allowed_read_the_secrets(aws):
    """infra/policies.py: the API (SMS codes, audit, the edge) and the worker (an export's audit) read the
    app secret; only the API the edge secret; the feeds, the night and the push neither."""
    with unrecorded():  # denied on purpose (moto enforcing the policies): not the app's calls
        with running("on_feed"), pytest.raises(SecretUnavailableError):
            stage_secrets.app_secret()
        with running("morning_push"):
            assert stage_secrets.edge_secrets() == ()  # unreadable: no header is trusted
    with running("on_upload"):
        assert stage_secrets.app_secret()


def test_an_edge_rotation_accepts_old_and_new_until_cloudfront_sends_the_new_one(aws, stack, monkeypatch, capsys):
    clock = Clock(monkeypatch)
    old = _value("sentinel-local-edge")
    assert _through_edge(old) == VIEWER and _through_edge("forged") == CLOUDFRONT
    stack()  # the stack as deployed: CloudFront sends the current version

    new_version = cli.rotate_edge("local")
    new = _value("sentinel-local-edge")
    assert new != old and cli.stages_of("sentinel-local-edge")["AWSCURRENT"] == new_version
    clock.pass_(stage_secrets.FRESH_SECONDS + 1)
    # CloudFront still sends the old value until the deploy: both are accepted
    assert _through_edge(old) == VIEWER and _through_edge(new) == VIEWER
    with pytest.raises(cli.Refused, match="make deploy"):
        cli.finish_edge("local")  # CloudFront does not send the new one yet
    with pytest.raises(cli.Refused, match="not finished"):
        cli.rotate_edge("local")  # a second rotation would drop what CloudFront sends
    assert cli.status("local")["edge_rotation_under_way"] is True

    assert stack() == new_version  # make deploy: EdgeSecretVersion, so CloudFormation resolves the header again
    assert cli.finish_edge("local") == new_version
    assert "AWSPREVIOUS" not in cli.stages_of("sentinel-local-edge")
    assert _through_edge(old) == VIEWER  # within the minute a warm function still holds both
    clock.pass_(stage_secrets.FRESH_SECONDS + 1)
    assert _through_edge(old) == CLOUDFRONT and _through_edge(new) == VIEWER  # the old value is refused
    assert cli.main(["status", "--stage", "local"]) == 0
    assert old not in capsys.readouterr().out and new not in capsys.readouterr().out  # never printed


def test_a_deployed_stage_without_its_secret_names_refuses_to_start(monkeypatch):
    from chalicelib.config import settings

    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("SMS_SENDER", "sns")
    monkeypatch.delenv("APP_SECRET", raising=False)
    monkeypatch.delenv("APP_SECRET_ID", raising=False)
    with pytest.raises(RuntimeError, match="APP_SECRET_ID"):
        settings()
    monkeypatch.setenv("APP_SECRET_ID", "sentinel-prod-app")  # a name is enough: the value is read when used
    assert settings().app_secret_id == "sentinel-prod-app"

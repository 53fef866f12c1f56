"""Shared fixtures: a fresh moto AWS per test with the resources of infra/stateful.json, a Chalice test
client, logins for every role, and a recording SMS sender."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Before anything creates a client: fake credentials, one region, never a real endpoint.
for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(name, None)
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"})

from local.stack import stage_environment  # noqa: E402

os.environ.update(stage_environment("local"))
os.environ["ROSTER_FRESH_SECONDS"] = "0"  # tests write and read the statistics within a second (config.py)

from moto import mock_aws  # noqa: E402


@pytest.fixture(scope="session")
def dynamodb_local():
    """SENTINEL_TEST_DYNAMODB=local: the tables live on Amazon's DynamoDB Local (in memory) while S3 and
    SQS stay on in-process moto, so the same tests prove the store code on the real DynamoDB engine."""
    if os.environ.get("SENTINEL_TEST_DYNAMODB") != "local":
        yield None
        return
    from local.dynamodb import DynamoDBLocal
    from local.stack import free_port

    server = DynamoDBLocal(free_port()).start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint  # moto passes requests to it through
    yield server
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    server.stop()


# The app and edge secrets as a deployed stage has them: in Secrets Manager, named by APP_SECRET_ID and
# EDGE_SECRET_ID, read at run time (services/common/stage_secrets.py) by the functions whose policy allows it.
STAGE_SECRETS = {"APP_SECRET_ID": ("sentinel-local-app", "a" * 24 + "test-app-secret" + "b" * 25),
                 "EDGE_SECRET_ID": ("sentinel-local-edge", "test-edge-secret-" + "e" * 31)}


@pytest.fixture
def aws(dynamodb_local, monkeypatch):
    import boto3

    from chalicelib.integrations import storage
    from chalicelib.services.common import stage_secrets
    from infra.provision import provision
    from tests import iam_moto, s3_post

    with mock_aws():
        storage.reset_client()
        if dynamodb_local is not None:  # a fresh store per test, as moto gives
            ddb = boto3.client("dynamodb")
            for name in ddb.list_tables()["TableNames"]:
                ddb.delete_table(TableName=name)
        resources = provision("local")
        for variable, (name, value) in STAGE_SECRETS.items():
            boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)
            monkeypatch.setenv(variable, name)
        stage_secrets.forget()
        # a presigned POST is checked as S3 checks it (signature, expiry, key, type, size): moto checks none
        with s3_post.taught(enforce_iam=iam_moto.enabled()):
            if iam_moto.enabled():  # moto authorizes every call as the function making it (tests/iam_moto.py)
                from chalicelib.config import settings

                with iam_moto.enforced(stage=settings().stage, bucket=settings().files_bucket):
                    yield resources
            else:
                yield resources
        storage.reset_client()
        stage_secrets.forget()


class SentSms(list):
    def send(self, phone, text, *, code=""):
        self.append((phone, text))

    def code_for(self, phone):
        import re

        for sent_phone, text in reversed(self):
            if sent_phone == phone:
                return re.search(r"\d{6}", text).group()
        return None


@pytest.fixture
def sms(monkeypatch):
    sent = SentSms()
    monkeypatch.setattr("chalicelib.services.identity.auth.sender", lambda: sent)
    return sent


class Api:
    """Calls the app through chalice.test.Client and decodes JSON answers."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, *, token=None, body=None, raw=None, headers=None):
        all_headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload)
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
        data = json.loads(response.body) if "json" in content_type and response.body else response.body
        return response.status_code, data

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)


@pytest.fixture
def api(aws):
    from chalice.test import Client

    import app as application

    with Client(application.app, stage_name="local", project_dir=str(ROOT)) as client:
        yield Api(client)


PASSWORD = "nansha2026"
USERS = {
    "admin": dict(role="admin", display_name="运维"),
    "youzheng": dict(role="bureau", display_name="区邮政管理局", categories=["express"]),
    "zhujian": dict(role="bureau", display_name="区住建局", categories=["construction"]),
    "nanshajie": dict(role="town", display_name="南沙街", town="南沙街"),
    "huangge": dict(role="town", display_name="黄阁镇", town="黄阁镇"),
    "zhuanban": dict(role="taskforce", display_name="专班"),
}


@pytest.fixture
def accounts(aws):
    from chalicelib.rules.clock import now
    from chalicelib.services.common import security
    from chalicelib.store.models import Account

    stamp = now()
    hashed = security.hash_password(PASSWORD)
    for username, fields in USERS.items():
        Account(username, password_hash=hashed, created_at=stamp, updated_at=stamp, **fields).save()
    return USERS


@pytest.fixture
def login(api, accounts):
    tokens = {}

    def token_for(username):
        if username not in tokens:
            status, body = api.post("/api/auth/login", body={"username": username, "password": PASSWORD})
            assert status == 200, body
            tokens[username] = body["token"]
        return tokens[username]

    return token_for


def enterprise_body(**overrides):
    body = {"category": "express", "name": "南沙速递营业部", "town": "南沙街", "grid": "",
            "head_name": "陈志强", "head_phone": "13800138000", "address": "广州市南沙区进港大道1号", "extra": {}}
    body.update(overrides)
    return body


@pytest.fixture
def make_enterprise(api, login):
    def make(username="admin", **overrides):
        status, body = api.post("/api/enterprises", token=login(username), body=enterprise_body(**overrides))
        assert status == 201, body
        return body

    return make


@pytest.fixture
def head_login(api, sms):
    tokens: dict[str, str] = {}  # one session per head and test: a second SMS within the minute is refused

    def token_for(phone):
        if phone not in tokens:
            tokens[phone] = _sms_login(phone)
        return tokens[phone]

    def _sms_login(phone):
        status, body = api.post("/api/auth/sms", body={"phone": phone})
        assert status == 200, body
        status, body = api.post("/api/auth/sms-login", body={"phone": phone, "code": sms.code_for(phone)})
        assert status == 200, body
        return body["token"]

    return token_for


def pytest_configure(config):
    config.addinivalue_line("markers", "stack: starts the real local stack (runs once, not per DynamoDB backend)")
    config.addinivalue_line("markers", "once: about the HTTP edge, not the store (runs once, not per DynamoDB backend)")
    config.addinivalue_line("markers", "heavy: thousands of rows through the store: runs once, on DynamoDB Local (the real "
                            "store's engine, and several times faster than in-process moto at size)")


# --- every AWS call of the app, against its function's IAM policy (tests/policy_check.py) ------------------

_RECORDER = None


def pytest_sessionstart(session):
    global _RECORDER
    if os.environ.get("SENTINEL_POLICY_CHECK") == "0":  # to measure what the check costs
        return
    from tests.policy_check import Recorder

    _RECORDER = Recorder()
    _RECORDER.install()


def pytest_sessionfinish(session, exitstatus):
    if _RECORDER is None:
        return
    _RECORDER.uninstall()
    from chalicelib.config import settings

    found = _RECORDER.violations(stage=settings().stage, bucket=settings().files_bucket)
    if os.environ.get("SENTINEL_SHOW_CALLS"):  # what each function called, for writing its policy
        for (function, action, resource), count in sorted(_RECORDER.calls.items()):
            print(f"{function:18} {action:34} {resource} ×{count}", file=sys.stderr)
    if found:
        print("\nAWS calls that the functions' IAM policies (infra/policies.py) do not allow:\n  "
              + "\n  ".join(found[:60]), file=sys.stderr)
        session.exitstatus = 1

"""The SMS provider comes from the stage's secret: SNS, or Tencent Cloud SendSms for the AWS China regions.

- the TC3-HMAC-SHA256 signature reproduces the worked example of Tencent's "Signature v3" document;
- a stand-in Tencent server on 127.0.0.1 checks the headers and signature of each SendSms request and
  answers Ok or an error code; the sender is pointed at it by the secret's "endpoint";
- the secret (moto's Secrets Manager) picks the sender; one that cannot be read or is incomplete, and a
  refusal by the provider, reach the head as a Chinese sentence, never a 500.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws

from chalicelib.errors import RateLimitedError, SmsUnavailableError, ValidationError
from chalicelib.integrations import sms, sms_tencent
from chalicelib.integrations.sms_tencent import TencentConfig, TencentSender, authorization, canonical_request

KEY_ID, KEY = "AKIDtestonly0000000000000000000000", "test-secret-key-not-real"
PHONE = "13800138000"


def _chinese(message: str) -> bool:
    """The house rule for answers (tests/functional/test_found_from_outside.py): no Latin before a （."""
    return bool(message) and all(not ("a" <= c.lower() <= "z") for c in message.split("（")[0])


# --- the signature against Tencent's published example -------------------------------------------------

# Tencent Cloud API 3.0, "Signature v3", its worked example (CVM DescribeInstances, ap-guangzhou), published
# under each product, e.g. https://www.tencentcloud.com/document/product/267/37447 (English revision whose
# SignedHeaders are content-type;host). Its values: SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, the SecretId
# printed masked as below (it enters the Authorization text only, not the signature), X-TC-Timestamp
# 1551113065 (2019-02-26 00:44 in Beijing, so the scope's UTC date 2019-02-25 is checked too), the body as
# sent, with \u escapes; the payload hash, CanonicalRequest hash, Signature and Authorization it prints.
DOC_SECRET_ID = "AKID**********************0123456789EXAMPLE"
DOC_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
DOC_HASHED_PAYLOAD = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
DOC_HASHED_CANONICAL_REQUEST = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
DOC_AUTHORIZATION = ("TC3-HMAC-SHA256 "
                     "Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, "
                     "SignedHeaders=content-type;host, "
                     "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_the_signature_reproduces_tencents_worked_example():
    assert hashlib.sha256(DOC_PAYLOAD).hexdigest() == DOC_HASHED_PAYLOAD
    canonical = canonical_request("cvm.tencentcloudapi.com", DOC_PAYLOAD)
    assert canonical == ("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
                         f"content-type;host\n{DOC_HASHED_PAYLOAD}")
    assert hashlib.sha256(canonical.encode()).hexdigest() == DOC_HASHED_CANONICAL_REQUEST
    assert authorization(DOC_SECRET_ID, DOC_SECRET_KEY, service="cvm", host="cvm.tencentcloudapi.com",
                         payload=DOC_PAYLOAD, timestamp=1551113065) == DOC_AUTHORIZATION


# --- a stand-in for sms.tencentcloudapi.com -------------------------------------------------------------

AUTH_SHAPE = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})/sms/tc3_request, "
                        r"SignedHeaders=content-type;host, Signature=[0-9a-f]{64}")


class StandIn:
    """Answers SendSms as Tencent does: HTTP 200 with {"Response": …}. A request whose headers or
    signature are wrong gets AuthFailure.SignatureFailure, and the fault is kept in `problems`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.problems: list[str] = []
        self.status_code, self.error, self.delay = "Ok", None, 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _check(self, headers, body: bytes) -> None:
        expected = {"X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11", "X-TC-Region": "ap-guangzhou",
                    "Content-Type": "application/json; charset=utf-8"}
        self.problems += [f"{k}: {headers.get(k)!r}" for k, v in expected.items() if headers.get(k) != v]
        stamp = headers.get("X-TC-Timestamp") or ""
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 300:  # Tencent refuses beyond five minutes
            self.problems.append(f"X-TC-Timestamp: {stamp!r}")
            return
        shape = AUTH_SHAPE.fullmatch(headers.get("Authorization") or "")
        if not shape or shape["id"] != KEY_ID:
            self.problems.append(f"Authorization: {headers.get('Authorization')!r}")
            return
        if headers["Authorization"] != authorization(KEY_ID, KEY, service="sms", host=headers.get("Host"),
                                                     payload=body, timestamp=int(stamp)):
            self.problems.append("Authorization: the signature does not match the request")

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                before = len(stand_in.problems)
                stand_in._check(self.headers, body)
                stand_in.requests.append({"headers": dict(self.headers), "body": json.loads(body)})
                time.sleep(stand_in.delay)
                if len(stand_in.problems) > before:
                    answer = {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad signature"}}
                elif stand_in.error:
                    answer = {"Error": {"Code": stand_in.error, "Message": "refused"}}
                else:
                    answer = {"SendStatusSet": [{"SerialNo": "2640:1", "PhoneNumber": "+86" + PHONE, "Fee": 1,
                                                 "Code": stand_in.status_code, "Message": "send success"}]}
                data = json.dumps({"Response": {**answer, "RequestId": "standin-1"}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (the timeout test)
                    pass

            def log_message(self, *args):  # keep pytest's output clean
                pass

        return Handler

    def sent_codes(self) -> list[list[str]]:
        return [r["body"]["TemplateParamSet"] for r in self.requests]


@pytest.fixture
def stand_in():
    server = StandIn()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def tencent_secret(endpoint: str, **overrides) -> dict:
    return {"provider": "tencent", "secret_id": KEY_ID, "secret_key": KEY, "sdk_app_id": "1400006666",
            "sign_name": "智慧南沙", "template_id": "1110", "region": "ap-guangzhou", "endpoint": endpoint,
            **overrides}


def test_a_code_goes_out_as_tencent_expects_it(stand_in):
    TencentSender(TencentConfig.from_secret(tencent_secret(stand_in.endpoint))).send(PHONE, "…123456…", code="123456")
    assert stand_in.problems == []
    body = stand_in.requests[0]["body"]
    assert body == {"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666", "SignName": "智慧南沙",
                    "TemplateId": "1110", "TemplateParamSet": ["123456"]}


def test_a_template_may_take_the_days_the_code_stays_valid(stand_in):
    config = TencentConfig.from_secret(tencent_secret(stand_in.endpoint, template_params=["code", "valid_days"]))
    TencentSender(config).send(PHONE, "", code="654321")
    assert stand_in.problems == [] and stand_in.sent_codes() == [["654321", "7"]]


@pytest.mark.parametrize("where,code,kind,words", [
    ("status", "LimitExceeded.PhoneNumberDailyLimit", RateLimitedError, "今日接收短信次数已达上限"),
    ("status", "InvalidParameterValue.IncorrectPhoneNumber", ValidationError, "无法接收短信"),
    ("status", "FailedOperation.InsufficientBalanceInSmsPackage", SmsUnavailableError, "余额不足"),
    ("status", "FailedOperation.TemplateIncorrectOrUnapproved", SmsUnavailableError, "模板"),
    ("error", "AuthFailure.SecretIdNotFound", SmsUnavailableError, "密钥无效"),
    ("error", "InternalError.Timeout", SmsUnavailableError, "暂时故障"),
    ("error", "UnheardOf.Code", SmsUnavailableError, "短信发送失败"),
])
def test_a_refusal_is_a_chinese_sentence_and_its_code_is_logged(stand_in, caplog, where, code, kind, words):
    if where == "status":
        stand_in.status_code = code
    else:
        stand_in.error = code
    sender = TencentSender(TencentConfig.from_secret(tencent_secret(stand_in.endpoint)))
    with caplog.at_level(logging.ERROR), pytest.raises(kind) as refused:
        sender.send(PHONE, "", code="123456")
    assert words in refused.value.message and _chinese(refused.value.message), refused.value.message
    assert code in caplog.text and "standin-1" in caplog.text
    assert stand_in.problems == []


def test_an_unreachable_server_sent_nothing_and_a_silent_one_may_have(stand_in):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(SmsUnavailableError, match="无法连接短信服务，验证码未发出"):
        TencentSender(TencentConfig.from_secret(tencent_secret(closed))).send(PHONE, "", code="123456")
    stand_in.delay = 1.0
    with pytest.raises(SmsUnavailableError, match="验证码可能已发出"):
        TencentSender(TencentConfig.from_secret(tencent_secret(stand_in.endpoint)), timeout=0.3).send(
            PHONE, "", code="123456")


# --- which sender: the stage's secret ------------------------------------------------------------------


@pytest.fixture
def secrets(monkeypatch):
    sms.reset()
    with mock_aws():
        client = boto3.client("secretsmanager")

        def put(name: str, value) -> None:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            try:
                client.put_secret_value(SecretId=name, SecretString=text)
            except client.exceptions.ResourceNotFoundException:
                client.create_secret(Name=name, SecretString=text)
            monkeypatch.setenv("SMS_SECRET_ID", name)

        yield put
    sms.reset()


def test_without_a_secret_the_setting_decides_as_before(monkeypatch):
    monkeypatch.delenv("SMS_SECRET_ID", raising=False)
    assert isinstance(sms.sender(), sms.ConsoleSender)  # the local stage the tests run as
    monkeypatch.setenv("SMS_SECRET_ID", "")
    assert isinstance(sms.sender(), sms.ConsoleSender)


def test_the_secret_names_the_provider(secrets):
    secrets("sentinel-test-sms", {"provider": "sns"})  # the template's initial value
    assert isinstance(sms.sender(), sms.SnsSender)
    secrets("sentinel-test-tencent", tencent_secret("https://sms.example.test"))
    chosen = sms.sender()
    assert isinstance(chosen, TencentSender)
    assert chosen.config.sdk_app_id == "1400006666" and chosen.config.endpoint == "https://sms.example.test"
    secrets("sentinel-test-default", tencent_secret(""))  # no endpoint: Tencent's own
    assert sms.sender().config.endpoint == sms_tencent.DEFAULT_ENDPOINT


@pytest.mark.parametrize("value,sentence", [
    (None, sms.UNREADABLE),  # no such secret
    ("not json", sms.UNREADABLE),
    ('["tencent"]', sms.UNREADABLE),
    ({"provider": "tencent", "secret_id": KEY_ID}, sms.INCOMPLETE),
    ({**tencent_secret("https://sms.example.test"), "template_id": ""}, sms.INCOMPLETE),
    ({**tencent_secret("https://sms.example.test"), "template_params": ["phone"]}, sms.INCOMPLETE),
    ({"provider": "aliyun"}, sms.INCOMPLETE),
    ({}, sms.INCOMPLETE),
])
def test_an_unreadable_or_incomplete_secret_is_a_chinese_error(secrets, monkeypatch, caplog, value, sentence):
    if value is None:
        monkeypatch.setenv("SMS_SECRET_ID", "sentinel-test-missing")
    else:
        secrets("sentinel-test-broken", value)
    with caplog.at_level(logging.ERROR), pytest.raises(SmsUnavailableError) as refused:
        sms.sender()
    assert refused.value.message == sentence and _chinese(sentence)
    assert refused.value.status == 503
    assert KEY not in caplog.text  # what is wrong is logged by key name, never a key's value


def test_a_new_secret_value_is_used_within_minutes_without_a_redeploy(secrets, monkeypatch):
    secrets("sentinel-test-sms", {"provider": "sns"})
    assert isinstance(sms.sender(), sms.SnsSender)
    secrets("sentinel-test-sms", tencent_secret("https://sms.example.test"))
    assert isinstance(sms.sender(), sms.SnsSender)  # a warm function trusts what it read for a while
    later = time.monotonic() + sms.SECRET_FRESH_SECONDS + 1
    monkeypatch.setattr(sms.time, "monotonic", lambda: later)
    assert isinstance(sms.sender(), TencentSender)


def test_an_sns_refusal_is_a_chinese_error(secrets):
    secrets("sentinel-test-sms", {"provider": "sns"})
    with pytest.raises(SmsUnavailableError) as refused:  # moto's SNS refuses a number that is not E.164
        sms.sender().send("1380013800x", "验证码 123456", code="123456")
    assert _chinese(refused.value.message)


# --- through the login page -----------------------------------------------------------------------------


@contextmanager
def stage_secret(monkeypatch, value):
    client, name = boto3.client("secretsmanager"), "sentinel-local-sms"  # the stage the tests run as
    text = json.dumps(value, ensure_ascii=False)
    try:
        client.put_secret_value(SecretId=name, SecretString=text)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, SecretString=text)
    monkeypatch.setenv("SMS_SECRET_ID", name)
    sms.reset()
    yield
    sms.reset()


def test_a_head_logs_in_with_a_code_sent_by_tencent_and_a_failure_reads_chinese(api, make_enterprise, stand_in,
                                                                                 monkeypatch):
    make_enterprise(head_phone=PHONE)
    make_enterprise(name="南沙第二营业部", head_phone="13900001111")
    make_enterprise(name="南沙第三营业部", head_phone="13700003333")
    with stage_secret(monkeypatch, tencent_secret(stand_in.endpoint)):
        status, body = api.post("/api/auth/sms", body={"phone": PHONE})
        assert status == 200, body
        [[code]] = stand_in.sent_codes()
        assert stand_in.problems == []
        status, body = api.post("/api/auth/sms-login", body={"phone": PHONE, "code": code})
        assert status == 200 and body["user"]["role"] == "head"

        stand_in.status_code = "FailedOperation.InsufficientBalanceInSmsPackage"
        status, body = api.post("/api/auth/sms", body={"phone": "13900001111"})
        assert status == 503 and body["code"] == "SMS_UNAVAILABLE" and "余额不足" in body["message"], body

    with stage_secret(monkeypatch, {"provider": "tencent", "secret_id": KEY_ID}):
        # a head and a phone that heads nothing get the same answer: the endpoint still reveals no accounts
        answers = [api.post("/api/auth/sms", body={"phone": phone}) for phone in ("13700003333", "13900002222")]
        assert answers == [(503, {"code": "SMS_UNAVAILABLE", "message": sms.INCOMPLETE})] * 2
    assert len(stand_in.requests) == 2

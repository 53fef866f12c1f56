"""Sending SMS login codes: SNS or Tencent Cloud on AWS, the terminal plus a dev-only outbox locally.

Which provider a stage uses comes from its secret (SMS_SECRET_ID, Secrets Manager), read lazily and
trusted for SECRET_FRESH_SECONDS by a warm function, so 运维 switch provider or rotate keys with
`put-secret-value`, without a redeploy: {"provider": "sns"} or {"provider": "tencent", "secret_id",
"secret_key", "sdk_app_id", "sign_name", "template_id", "region"} (integrations/sms_tencent.py). Without
SMS_SECRET_ID the SMS_SENDER setting decides, as before: console (local and test stages) or sns.
A secret that cannot be read or is incomplete, and a provider that refuses, are Chinese domain errors
(SmsUnavailableError and kin) for the head, never a 500; the details go to the log.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from datetime import datetime
from typing import Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import settings
from chalicelib.errors import SmsUnavailableError
from chalicelib.integrations import secrets
from chalicelib.integrations.sms_tencent import TencentConfig, TencentSender
from chalicelib.rules.clock import iso, now

log = logging.getLogger(__name__)

SECRET_FRESH_SECONDS = 120  # how soon a put-secret-value reaches a warm function
UNREADABLE = "短信服务配置无法读取，验证码未发出，请联系系统运维人员"
INCOMPLETE = "短信服务配置尚未填写完整，验证码未发出，请联系系统运维人员"


class SmsSender(Protocol):
    def send(self, phone: str, text: str, *, code: str) -> None:
        """`text` is the whole message (SNS, the console); `code` alone fills a provider's template."""


class SnsSender:
    def __init__(self):
        self._client = None

    def send(self, phone: str, text: str, *, code: str) -> None:
        if self._client is None:
            self._client = boto3.client("sns")
        try:
            self._client.publish(PhoneNumber=f"+86{phone}", Message=text,
                                 MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                                             "StringValue": "Transactional"}})
        except (ClientError, BotoCoreError) as exc:
            log.error("sns sms refused: %r", exc)
            raise SmsUnavailableError("短信发送失败，请稍后重试或联系系统运维人员") from exc


class ConsoleSender:
    """Prints the message and keeps the last 50 for the local 开发短信收件箱 page. The local API runs as
    several processes (as Lambda does), so the outbox they share is a file when LOCAL_SMS_OUTBOX names
    one; otherwise (tests in one process) it is this process's memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self.outbox: deque[dict] = deque(maxlen=50)

    def send(self, phone: str, text: str, *, code: str = "") -> None:
        sent_at: datetime = now()
        found = re.search(r"\d{6}", text)
        entry = {"phone": phone, "code": code or (found.group() if found else ""), "text": text,
                 "sent_at": iso(sent_at)}
        path = os.environ.get("LOCAL_SMS_OUTBOX")
        with self._lock:
            if path:
                with open(path, "a", encoding="utf-8") as out:  # one short append: atomic between processes
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            else:
                self.outbox.appendleft(entry)
        print(f"[短信] {phone}: {text}", flush=True)
        log.info("sms to %s", phone)

    def recent(self) -> list[dict]:
        path = os.environ.get("LOCAL_SMS_OUTBOX")
        if not path:
            return list(self.outbox)
        try:
            with open(path, encoding="utf-8") as lines:
                return [json.loads(line) for line in deque(lines, maxlen=50)][::-1]
        except FileNotFoundError:
            return []


_console = ConsoleSender()
_sns: SnsSender | None = None
_lock = threading.Lock()
_from_secret: dict[str, tuple[float, SmsSender]] = {}  # secret id → (trusted until, its sender)


def sender() -> SmsSender:
    """The stage's sender. Raises SmsUnavailableError when its secret cannot be read or is incomplete."""
    secret_id = os.environ.get("SMS_SECRET_ID", "")
    if secret_id:
        return _configured(secret_id)
    if settings().sms_sender == "console":
        return _console
    return _sns_sender()


def _sns_sender() -> SnsSender:
    global _sns
    if _sns is None:
        _sns = SnsSender()
    return _sns


def _configured(secret_id: str) -> SmsSender:
    with _lock:
        cached = _from_secret.get(secret_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    chosen = _sender_for(secret_id, _read(secret_id))
    with _lock:  # only a usable secret is kept: once 运维 fix a broken one, the next request sees it
        _from_secret[secret_id] = (time.monotonic() + SECRET_FRESH_SECONDS, chosen)
    return chosen


def _read(secret_id: str) -> dict:
    try:
        return secrets.json_object(secret_id)
    except secrets.Unreadable as exc:
        log.error("sms secret %s unreadable: %s", secret_id, exc)
        raise SmsUnavailableError(UNREADABLE) from exc


def _sender_for(secret_id: str, value: dict) -> SmsSender:
    provider = value.get("provider")
    if provider == "sns":
        return _sns_sender()
    if provider == "tencent":
        try:
            return TencentSender(TencentConfig.from_secret(value))
        except ValueError as exc:  # names the missing keys, never a value
            log.error("sms secret %s incomplete: %s", secret_id, exc)
            raise SmsUnavailableError(INCOMPLETE) from exc
    log.error("sms secret %s names no known provider: %r", secret_id, provider)
    raise SmsUnavailableError(INCOMPLETE)


def reset() -> None:
    """Forget the secret read (tests; a new value otherwise takes SECRET_FRESH_SECONDS to arrive)."""
    with _lock:
        _from_secret.clear()


def console_outbox() -> list[dict] | None:
    """The local outbox, or None where codes really go out by SMS."""
    if settings().sms_sender != "console" or not settings().is_local:
        return None
    return _console.recent()

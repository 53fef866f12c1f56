"""Sending SMS login codes: SNS on AWS, the terminal plus a dev-only outbox locally."""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import deque
from datetime import datetime
from typing import Protocol

import boto3

from chalicelib.config import settings
from chalicelib.rules.clock import iso, now

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class SnsSender:
    def __init__(self):
        self._client = None

    def send(self, phone: str, text: str) -> None:
        if self._client is None:
            self._client = boto3.client("sns")
        self._client.publish(PhoneNumber=f"+86{phone}", Message=text,
                             MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                                         "StringValue": "Transactional"}})


class ConsoleSender:
    """Prints the message and keeps the last 50 for the local 开发短信收件箱 page. The local API runs as
    several processes (as Lambda does), so the outbox they share is a file when LOCAL_SMS_OUTBOX names
    one; otherwise (tests in one process) it is this process's memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self.outbox: deque[dict] = deque(maxlen=50)

    def send(self, phone: str, text: str) -> None:
        sent_at: datetime = now()
        code = re.search(r"\d{6}", text)
        entry = {"phone": phone, "code": code.group() if code else "", "text": text, "sent_at": iso(sent_at)}
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


def sender() -> SmsSender:
    global _sns
    if settings().sms_sender == "console":
        return _console
    if _sns is None:
        _sns = SnsSender()
    return _sns


def console_outbox() -> list[dict] | None:
    """The local outbox, or None where codes really go out by SMS."""
    if settings().sms_sender != "console" or not settings().is_local:
        return None
    return _console.recent()

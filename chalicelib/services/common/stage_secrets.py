"""The stage's own secrets, read at run time from Secrets Manager and never from the function's
environment (where `lambda:GetFunctionConfiguration` would show them):

- APP_SECRET_ID names the app secret (`sentinel-<stage>-app`), which keys the hashes of SMS login codes and
  of audit actors (services/common/security.py);
- EDGE_SECRET_ID names the edge secret (`sentinel-<stage>-edge`), which CloudFront sends the API in
  X-Sentinel-Edge (infra/hosting.json) so the API may trust the viewer address CloudFront forwarded
  (api/common.py viewer_address). Its version staged AWSPREVIOUS is accepted too: while a rotation runs,
  CloudFront's edges send the old value until the distribution has deployed the new one
  (`python -m infra.stage_secrets`, docs/deploy.md "Secrets").

A warm function trusts what it read for FRESH_SECONDS (STAGE_SECRET_FRESH_SECONDS overrides), so a new
value reaches every function within a minute, without a deploy. Each function keeps its own copy (as
each Lambda function's instances do; in one test process the functions share it otherwise). The local
and test stages, which have no such secret, keep APP_SECRET / EDGE_SECRET from their environment.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from chalicelib.config import settings
from chalicelib.errors import SecretUnavailableError
from chalicelib.integrations import secrets
from chalicelib.runtime import FUNCTION

log = logging.getLogger(__name__)
FRESH_SECONDS = 60
RETRY_SECONDS = 5  # an unreadable secret is asked again after this, not on every request
UNAVAILABLE = "系统密钥暂时无法读取，请稍后重试；如持续出现请联系系统运维人员"

_cached: dict[tuple[str, str, str], tuple[float, object]] = {}
_lock = threading.Lock()


def fresh_seconds() -> float:
    return float(os.environ.get("STAGE_SECRET_FRESH_SECONDS", FRESH_SECONDS))


def forget() -> None:
    """Read the secrets again on next use (tests; the rotation CLI after it writes)."""
    with _lock:
        _cached.clear()


def _remembered(secret_id: str, what: str, read):
    key = (FUNCTION.get(), secret_id, what)
    with _lock:
        cached = _cached.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        value, keep = read(), fresh_seconds()
    except secrets.Unreadable as exc:
        log.error("stage secret %s unreadable: %s", secret_id, exc)
        value, keep = exc, RETRY_SECONDS
    with _lock:
        _cached[key] = (time.monotonic() + keep, value)
    return value


def app_secret() -> bytes:
    """The key of the app's keyed hashes: the secret APP_SECRET_ID names, or (local, test) APP_SECRET."""
    secret_id = os.environ.get("APP_SECRET_ID", "")
    if not secret_id:
        return settings().app_secret  # config.py refuses a deployed stage with neither
    value = _remembered(secret_id, "current", lambda: secrets.text(secret_id))
    if isinstance(value, Exception):
        raise SecretUnavailableError(UNAVAILABLE)
    return value.encode()


def edge_secrets() -> tuple[str, ...]:
    """The values a request through CloudFront may bear: the current one, then during a rotation the
    previous. Empty (trust no header) when the stage has none or it cannot be read."""
    secret_id = os.environ.get("EDGE_SECRET_ID", "")
    if not secret_id:
        value = os.environ.get("EDGE_SECRET", "")
        return (value,) if value else ()
    value = _remembered(secret_id, "edge", lambda: tuple(
        v for v in (secrets.text(secret_id), secrets.text(secret_id, stage="AWSPREVIOUS")) if v))
    return () if isinstance(value, Exception) else value

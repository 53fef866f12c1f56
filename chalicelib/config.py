"""Settings read from the environment at call time, never at import time.

Chalice sets a stage's environment variables when the Lambda starts (and `chalice.test.Client` only while
a call runs), so everything here is looked up lazily and cached per distinct environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    table_prefix: str
    files_bucket: str
    # APP_SECRET from the environment: the local and test stages only. A deployed stage names its secret
    # (APP_SECRET_ID) and reads it at run time: services/common/stage_secrets.py app_secret(), never this.
    app_secret: bytes
    app_secret_id: str
    sms_sender: str
    sms_topic_arn: str
    session_hours: int
    code_valid_days: int
    # Where the browser sends a presigned upload instead of the bucket's own address: the local stack's
    # same-origin relay ("/s3", local/server.py), which the page's CSP (connect-src 'self') allows; empty on
    # AWS, where the page posts to the bucket's endpoint (its CORS rule and the CSP allow the console's origin).
    upload_relay: str
    sms_daily_limit: int  # SMS codes the whole system sends a day (each costs money)
    import_writers: int  # parallel DynamoDB writes in an import (moto's server is not thread-safe: 1)
    roster_fresh_seconds: float  # how long a warm function trusts its roster files (services/health/roster.py)
    console_url: str  # the console's public address: the 详情 link of every 粤政易 card
    matcher_segments: int  # the overnight matcher's parallel Scan segments (compliance/overnight.py)

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


def settings() -> Settings:
    env = os.environ
    return _build(
        env.get("STAGE", "local"),
        env.get("TABLE_PREFIX", "sentinel-local-"),
        env.get("FILES_BUCKET", "sentinel-local-files"),
        env.get("APP_SECRET", ""),
        env.get("APP_SECRET_ID", ""),
        env.get("SMS_SENDER", "console"),
        env.get("SMS_TOPIC_ARN", ""),
        env.get("SESSION_HOURS", "12"),
        env.get("CODE_VALID_DAYS", "7"),
        env.get("UPLOAD_RELAY", ""),
        env.get("IMPORT_WRITERS", "8"),
        env.get("SMS_DAILY_LIMIT", "5000"),
        env.get("ROSTER_FRESH_SECONDS", "5"),
        env.get("CONSOLE_URL", "http://127.0.0.1:8000/"),
        env.get("MATCHER_SEGMENTS", "8"),
    )


@lru_cache(maxsize=8)
def _build(stage, table_prefix, files_bucket, secret, secret_id, sms_sender, topic, hours, days, upload_relay,
           writers, sms_daily, roster_fresh, console_url, matcher_segments) -> Settings:
    local = stage in ("local", "test")
    if not secret and not secret_id and not local:
        raise RuntimeError("APP_SECRET_ID (the stage's secret in Secrets Manager) must be set outside the local and "
                           "test stages")
    if not secret and local:  # also keys the local stack's person-key ring "0" (services/common/keyring.py)
        secret = "local-development-secret-not-for-production"
    if sms_sender == "console" and stage not in ("local", "test"):
        # the console sender prints codes and keeps them for the dev outbox: never where heads are real
        raise RuntimeError("SMS_SENDER=console is only for the local and test stages")
    return Settings(
        stage=stage,
        table_prefix=table_prefix,
        files_bucket=files_bucket,
        app_secret=secret.encode(),
        app_secret_id=secret_id,
        sms_sender=sms_sender,
        sms_topic_arn=topic,
        session_hours=int(hours),
        code_valid_days=int(days),
        upload_relay=upload_relay.rstrip("/"),
        import_writers=max(1, int(writers)),
        sms_daily_limit=int(sms_daily),
        roster_fresh_seconds=float(roster_fresh),
        console_url=console_url,
        matcher_segments=max(1, int(matcher_segments)),
    )

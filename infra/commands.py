"""What the operator commands (`python -m infra.search_index|reach|person_key …`) share: the environment a
deployed stage's functions get, set for this process from `--stage`, so the services they call read the
stage's tables, bucket and secrets with the deploying engineer's credentials."""
from __future__ import annotations

import os


def use_stage(stage: str, purpose: str, **extra: str) -> None:
    """STAGE and the table prefix for `stage`, plus `extra` variables (e.g. FILES_BUCKET). The app secret,
    the SMS sender and the person-key secret's name only where unset: settings() insists on them outside
    the local stage, and none of these commands makes a token, sends a code or reads a key by another name."""
    os.environ.update({"STAGE": stage, "TABLE_PREFIX": f"sentinel-{stage}-", **extra})
    os.environ.setdefault("APP_SECRET", f"{purpose}: no token or code is made here")
    os.environ.setdefault("SMS_SENDER", "sns")
    os.environ.setdefault("PERSON_KEY_SECRET_ID", f"sentinel-{stage}-person-key")

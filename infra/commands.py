"""What the operator commands (`python -m infra.search_index|reach|person_key …`) share: the environment a
deployed stage's functions get, set for this process from `--stage`, so the services they call read the
stage's tables, bucket and secrets with the deploying engineer's credentials."""
from __future__ import annotations

import json
import os
import sys
from typing import Callable

from chalicelib.errors import DomainError
from chalicelib.rules import geography
from chalicelib.services.common import keyring
from chalicelib.services.common.parallel import in_parallel


def use_stage(stage: str, purpose: str, **extra: str) -> None:
    """STAGE and the table prefix for `stage`, plus `extra` variables (e.g. FILES_BUCKET). The app secret,
    the SMS sender and the person-key secret's name only where unset: settings() insists on them outside
    the local stage, and none of these commands makes a token, sends a code or reads a key by another name."""
    os.environ.update({"STAGE": stage, "TABLE_PREFIX": f"sentinel-{stage}-", **extra})
    os.environ.setdefault("APP_SECRET", f"{purpose}: no token or code is made here")
    os.environ.setdefault("SMS_SENDER", "sns")
    os.environ.setdefault("PERSON_KEY_SECRET_ID", f"sentinel-{stage}-person-key")


def segmented(work: Callable[[int, int], dict], segments: int) -> dict:
    """`work(segment, segments)` for every parallel Scan segment, side by side (IMPORT_WRITERS at a
    time); their counts summed."""
    parts = in_parallel([lambda segment=segment: work(segment, segments) for segment in range(max(1, segments))])
    return {key: sum(part[key] for part in parts) for key in parts[0]}


def report(task: Callable[[], dict]) -> int:
    """Run `task` and print its counts as JSON (nothing personal: counts only); a refusal is printed in
    words on stderr and the exit status is 1."""
    try:
        counts = task()
    except keyring.RingError as exc:
        return _refused(f"人员密钥的内容不正确（{exc}）")
    except (DomainError, geography.GeographyError) as exc:
        return _refused(str(exc))
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _refused(reason: str) -> int:
    print(f"未执行：{reason}", file=sys.stderr)
    return 1

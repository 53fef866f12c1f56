"""The audit log: who exported or viewed full personal data, when, in what scope, how many rows."""
from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.store.models import AuditEvent

MONTHS_LISTED = 12


def record(principal, *, action: str, target: str | None = None, scope: str | None = None, rows: int = 0) -> None:
    at = now()
    AuditEvent(at.astimezone(SHANGHAI).strftime("%Y-%m"), f"{at.isoformat()}#{secrets.token_hex(4)}",
               actor=principal.id, role=principal.role, action=action, target=target, scope=scope,
               rows=rows).save()


def recent(*, page: int, page_size: int) -> tuple[list[dict], int]:
    """Newest first over the last MONTHS_LISTED months, one partition query per month."""
    current = now().astimezone(SHANGHAI)
    year, month = current.year, current.month
    events: list[AuditEvent] = []
    for _ in range(MONTHS_LISTED):
        events.extend(AuditEvent.query(f"{year:04d}-{month:02d}", scan_index_forward=False))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    start = (max(page, 1) - 1) * page_size
    return [_public(e) for e in events[start:start + page_size]], len(events)


def _public(event: AuditEvent) -> dict:
    at = datetime.fromisoformat(event.at_id.split("#", 1)[0])
    return {"at": iso(at), "actor": event.actor, "role": event.role,
            "action": event.action, "target": event.target or "", "scope": event.scope or "",
            "rows": int(event.rows or 0)}

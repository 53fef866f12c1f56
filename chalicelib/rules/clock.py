"""Time in the district: instants are stored in UTC, days are Asia/Shanghai calendar days."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991


def now() -> datetime:
    return datetime.now(timezone.utc)


def local_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def iso(instant: datetime | None) -> str | None:
    """ISO-8601 in Asia/Shanghai with its offset, as the API shows instants."""
    return instant.astimezone(SHANGHAI).isoformat(timespec="seconds") if instant else None

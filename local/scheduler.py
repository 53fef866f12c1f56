"""The local scheduler: fires the app's `@app.schedule` handlers at their EventBridge times (UTC), as
EventBridge would, so `make run` runs the overnight and 09:00 jobs on the same code path as AWS.

Cron expressions are EventBridge's six fields (minutes hours day-of-month month day-of-week year) with
numbers, `*`, `?`, lists, ranges and steps; `rate(n minutes|hours|days)` is supported too. `run_now`
fires one job on demand (for a demo or a test).
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta, timezone

from local.background import Background

log = logging.getLogger(__name__)
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def _field(spec: str, value: int, low: int, high: int, names: dict[str, int] | None = None) -> bool:
    spec = str(spec).upper()
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = (names or {}).get(a) or int(a), (names or {}).get(b) or int(b)
        else:
            start = (names or {}).get(part) or int(part)
            end = start if step == 1 else high
        if start <= value <= end and (value - start) % step == 0:
            return True
    return False


def cron_matches(fields: tuple, at: datetime) -> bool:
    """fields: (minutes, hours, day_of_month, month, day_of_week, year); `at` in UTC."""
    minutes, hours, dom, month, dow, year = fields
    weekday = at.isoweekday() % 7 + 1  # EventBridge: 1 = Sunday
    return (_field(minutes, at.minute, 0, 59) and _field(hours, at.hour, 0, 23) and _field(dom, at.day, 1, 31)
            and _field(month, at.month, 1, 12, _MONTHS) and _field(dow, weekday, 1, 7, _DAYS)
            and _field(year, at.year, 1970, 2199))


def _event(name: str, at: datetime) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"], "detail": {}}


class Scheduler(Background):
    def __init__(self, app):
        super().__init__("scheduler")
        self.jobs = {}
        for source in getattr(app, "event_sources", []):
            expression = getattr(source, "schedule_expression", None)
            if expression is None:
                continue
            self.jobs[source.name] = {"expression": expression, "handler": None, "last": None}  # see bind()

    def bind(self, module) -> "Scheduler":
        """Handlers are the decorated functions of the app module (what Lambda invokes by name)."""
        for name, job in self.jobs.items():
            job["handler"] = getattr(module, name)
        return self

    def due(self, at: datetime) -> list[str]:
        at = at.astimezone(timezone.utc).replace(second=0, microsecond=0)
        names = []
        for name, job in self.jobs.items():
            expression = job["expression"]
            if hasattr(expression, "minutes"):
                fields = (expression.minutes, expression.hours, expression.day_of_month, expression.month,
                          expression.day_of_week, expression.year)
                if cron_matches(fields, at):
                    names.append(name)
                continue
            match = _RATE.match(str(expression if isinstance(expression, str) else expression.to_string()))
            if match:
                amount, unit = int(match.group(1)), match.group(2).rstrip("s")
                every = timedelta(**{unit + "s": amount})
                if job["last"] is None or at - job["last"] >= every:
                    names.append(name)
        return names

    def run_now(self, name: str, at: datetime | None = None):
        at = at or datetime.now(timezone.utc)
        job = self.jobs[name]
        job["last"] = at.replace(second=0, microsecond=0)
        log.info("scheduler: running %s", name)
        return job["handler"](_event(name, at), None)

    def _run(self) -> None:
        last_minute = None
        while not self._stop.wait(1):
            minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            if minute == last_minute:
                continue
            last_minute = minute
            for name in self.due(minute):
                try:
                    self.run_now(name, minute)
                except Exception:  # noqa: BLE001 - a failed job is logged; the next run retries
                    log.exception("scheduled job %s failed", name)

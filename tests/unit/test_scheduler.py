"""The local scheduler fires @app.schedule handlers at their EventBridge times (UTC)."""
from __future__ import annotations

import types
from datetime import datetime, timezone

from chalice import Chalice, Cron

from local.scheduler import Scheduler, cron_matches


def test_cron_fields():
    nine_shanghai = (0, 1, "*", "*", "?", "*")  # cron(0 1 * * ? *) = 09:00 Asia/Shanghai
    assert cron_matches(nine_shanghai, datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc))
    assert not cron_matches(nine_shanghai, datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc))
    assert cron_matches((30, "18", "*", "*", "?", "*"), datetime(2026, 11, 26, 18, 30, tzinfo=timezone.utc))
    assert cron_matches(("0/15", "*", "*", "*", "?", "*"), datetime(2026, 11, 26, 3, 45, tzinfo=timezone.utc))
    assert cron_matches((0, 1, "?", "*", "MON-FRI", "*"), datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc))  # Fri
    assert not cron_matches((0, 1, "?", "*", "MON-FRI", "*"), datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc))  # Sat


def test_due_jobs_run_with_an_eventbridge_event():
    app = Chalice("t")
    ran = []

    @app.schedule(Cron(0, 1, "*", "*", "?", "*"))
    def notifier(event):
        ran.append(event.time)

    @app.schedule("rate(5 minutes)")
    def sweep(event):
        ran.append("sweep")

    module = types.SimpleNamespace(notifier=notifier, sweep=sweep)
    scheduler = Scheduler(app).bind(module)
    at = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
    assert sorted(scheduler.due(at)) == ["notifier", "sweep"]
    for name in scheduler.due(at):
        scheduler.run_now(name, at)
    assert ran[0] == "2026-11-26T01:00:00Z" or ran[1] == "2026-11-26T01:00:00Z"
    assert scheduler.due(datetime(2026, 11, 26, 1, 3, tzinfo=timezone.utc)) == []  # rate: not yet
    assert scheduler.due(datetime(2026, 11, 26, 1, 5, tzinfo=timezone.utc)) == ["sweep"]

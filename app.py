"""Composition root: the Chalice app, its blueprints, and the event handlers as thin shims.

Event handlers live here, not on blueprints, because Chalice runs app middleware only for handlers
declared on the app itself.
"""
from __future__ import annotations

import logging
import os

from chalice import Chalice, Cron

from chalicelib.api import accounts, alerts, auth, compliance, edge, enterprises, health, lists, staff, stats
from chalicelib.events import handle_feed_messages, handle_upload_messages
from chalicelib.events import scheduled_day
from chalicelib.runtime import running
from chalicelib.services.compliance import overnight, push
from chalicelib.services.operations import watch
from chalicelib.workbooks.enterprise_book import XLSX

app = Chalice(app_name="sentinel-health")
app.log.setLevel(logging.INFO)
app.api.binary_types.extend([XLSX, "text/csv"])

for blueprint in (auth.bp, lists.bp, accounts.bp, enterprises.bp, staff.bp, health.bp, stats.bp, alerts.bp,
                  compliance.bp):
    app.register_blueprint(blueprint)
edge.register(app)

# Queue names are per stage; `make package` exports SENTINEL_STAGE before `chalice package`.
IMPORT_QUEUE = f"sentinel-{os.environ.get('SENTINEL_STAGE', 'dev')}-imports"
FEED_QUEUE = f"sentinel-{os.environ.get('SENTINEL_STAGE', 'dev')}-feeds"


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1)
def on_upload(event):
    """S3 → SQS: background work was put under uploads/ (workbooks, exports, roster marks, the night's parts)."""
    with running("on_upload"):
        handle_upload_messages(event, app.log)


@app.on_sqs_message(queue=FEED_QUEUE, batch_size=1)
def on_feed(event):
    """S3 → SQS: a provincial feed was dropped under feeds/nat/ or feeds/vaccine/."""
    with running("on_feed"):
        handle_feed_messages(event, app.log)


@app.schedule(Cron(0, 18, "*", "*", "?", "*"))  # 02:00 Asia/Shanghai (EventBridge cron is UTC)
def overnight_matcher(event):
    """Plan the night: the matcher's segments (they rebuild registered people's health state and release
    the unregistered), each run by the import worker; the last starts the day's compliance run."""
    with running("overnight_matcher"):
        run = overnight.start(scheduled_day(event))
    app.log.info("overnight matcher %s: %s segments", run.run_id, run.segments)


@app.schedule(Cron(0, 1, "*", "*", "?", "*"))  # 09:00 Asia/Shanghai
def morning_push(event):
    """Send the day's lists and the 专班's summary through 粤政易 (what does not fit continues in the worker)."""
    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis if context is not None else None
    with running("morning_push"):
        app.log.info("push: %s", push.run_pass(scheduled_day(event).isoformat(), remaining_ms=remaining))


@app.schedule(Cron("0/30", "*", "*", "*", "?", "*"))  # every half hour
def ops_watch(event):
    """Publish what the ops alarms watch: the night finished by 08:30, a NAT file by the stage's hour."""
    with running("ops_watch"):
        app.log.info("watch: %s", watch.check())

"""The night in parts: the matcher's segments, then the day's compliance run (night.py).

At a city's size (1,000,000 staff) the matcher rebuilds a million people's state: ~1,250 s in one
function, past Lambda's 15 minutes, and the night's lists never came. So the schedule only plans:

    02:00 ─▶ start(day): the header ("run") and one segment item per parallel Scan segment (conditional:
             EventBridge firing twice plans once), one mark per segment under uploads/matcher/<run>/<n>.json
    mark  ─▶ handle_object: claim the segment (jobs life cycle) ─▶ matcher.reconcile_segment ─▶ done
          └▶ whoever ends the last segment ends the header (conditional: once) and starts the day's
             compliance run — whose parts rebuild their own roster partition before judging it

运维's 重新运行检查 starts a run of its own (`force`): its night replaces the day's run. A segment that
fails on every delivery ends failed; the night still starts (the matcher heals; it does not decide who
is compliant), and the header says which segments failed.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.config import settings
from chalicelib.integrations import storage
from chalicelib.rules.clock import now
from chalicelib.services.compliance import night
from chalicelib.services.health import matcher
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.store.compliance import MatcherRun
from chalicelib.store.values import condition_failed

log = logging.getLogger(__name__)
MARKS = "uploads/matcher/"
HEADER = "run"
KEEP = timedelta(days=30)
ENDED = ("done", "failed")


def segment_name(n: int) -> str:
    return f"seg#{n:04d}"


def start(day: date, *, by: str = night.SCHEDULED, force: bool = False) -> MatcherRun:
    """Plan the matcher's segments for the day; the scheduled night's plan is made once however often the
    schedule fires, 运维's each time it is asked."""
    run_id = f"{day.isoformat()}#{'forced-' + uuid.uuid4().hex[:12] if force else 'scheduled'}"
    segments = max(1, settings().matcher_segments)
    current = now()
    header = MatcherRun(run_id, HEADER, day=day.isoformat(), status="running", segments=segments, force=force,
                        started_by=by, attempts=0, expires_at=current + KEEP)
    try:
        header.save(condition=MatcherRun.run_id.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return MatcherRun.get(run_id, HEADER)  # EventBridge fired twice: the first plan stands
    if not force:  # the day's header says the night is under way (the 09:00 push then says 尚未完成, not 未运行)
        night.announce(day, by=by)
    with MatcherRun.batch_write() as batch:
        for n in range(segments):
            batch.save(MatcherRun(run_id, segment_name(n), day=day.isoformat(), status="queued", segments=segments,
                                  attempts=0, expires_at=current + KEEP))
    for n in range(segments):
        storage.put(f"{MARKS}{run_id}/{n}.json", json.dumps({"run": run_id}).encode(), content_type="application/json")
    return header


def record_for(key: str) -> MatcherRun | None:
    """The segment a mark is for (dead letters: what failed, and what a retry reopens)."""
    run_id, _, n = key.removeprefix(MARKS).removesuffix(".json").rpartition("/")
    try:
        return MatcherRun.get(run_id, segment_name(int(n)))
    except (DoesNotExist, ValueError):
        return None


def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    segment = record_for(key)
    if segment is None:
        return f"matcher {key}: no such segment"
    if not jobs.claim(segment):
        return f"matcher {segment.run_id} {segment.part}: already {segment.status}"
    n = int(segment.part.removeprefix("seg#"))
    try:
        with jobs.attempt(segment, delivery=delivery):
            counts = matcher.reconcile_segment(n, int(segment.segments))
            jobs.finish(segment, status="done", message=f"重建 {counts['rebuilt']} 人，释放 {counts['released']} 人",
                        actions=[MatcherRun.rebuilt.set(counts["rebuilt"]), MatcherRun.released.set(counts["released"]),
                                 MatcherRun.failed.set(counts["failed"])])
    finally:  # ended, or failed on its last delivery: the night may start now
        complete(segment.run_id)
    return f"matcher {segment.run_id} {segment.part}: {counts}"


def complete(run_id: str) -> None:
    """When every segment has ended, end the header once and start the day's compliance run."""
    items = list(MatcherRun.query(run_id, consistent_read=True))
    header = next((i for i in items if i.part == HEADER), None)
    segments = [i for i in items if i.part != HEADER]
    if header is None or len(segments) < int(header.segments) or any(s.status not in ENDED for s in segments):
        return
    failed = [s for s in segments if s.status == "failed"]
    rebuilt, released = sum(int(s.rebuilt or 0) for s in segments), sum(int(s.released or 0) for s in segments)
    message = f"{len(segments)} 段：重建 {rebuilt} 人，释放 {released} 人" + (
        f"；{len(failed)} 段失败：{failed[0].message}" if failed else "")
    try:
        jobs.finish(header, status="failed" if failed else "done", message=message,
                    actions=[MatcherRun.rebuilt.set(rebuilt), MatcherRun.released.set(released)],
                    condition=MatcherRun.status == "running")
    except UpdateError as exc:
        if condition_failed(exc):
            return  # another segment's ending started the night already
        raise
    log.info("overnight matcher %s: %s", run_id, message)
    night.start(date.fromisoformat(header.day), by=header.started_by or night.SCHEDULED, force=bool(header.force))

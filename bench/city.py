"""A whole city on the same deployment (issue 24): the heaviest piece of each kind of the city's day,
measured on the embedded stack (DynamoDB Local, moto S3), then combined with how many pieces the day has
and Lambda's limits into a model of the day.

  feed_part_city       one part of a 10,000,000-row provincial file: 90,000 rows (6 MB), 10 % of them
                       people registered (9,000 of the city's 1,000,000), the rest strangers — claimed,
                       read from S3, validated, matched (batched reads side by side), records and state of
                       the registered, the strangers' index items; time, peak RSS, writes per stranger row
  matcher_segment_city one segment of the night's matcher at a city's size: 1,000,000 staff / 128 segments
                       = 7,812 staff, each rebuilt from their records; time
  city_day             the model: the file's ~110 parts, the matcher's 128 segments, the night's parts
                       (docs/performance.md "night_100k"), the push — wall time at the queues' concurrency

`python -m bench.run --one feed_part_city`; results in docs/performance.md.
"""
from __future__ import annotations

import io
import json
import random
import time
from datetime import timedelta

from bench.pages import _counting_calls, _log
from bench.run import MEASUREMENTS, _id_number, embedded_stack, peak_mb

PART_ROWS = 90_000
REGISTERED_SHARE = 10  # every 10th row: someone registered
FILE_ROWS = 10_000_000
CITY_STAFF = 1_000_000
SEGMENTS = 128
UPLOAD_CONCURRENCY = 20  # the import queue's consumer maximum (infra/package.py)


def _part_csv(rows: int) -> bytes:
    from chalicelib.rules.clock import SHANGHAI, now

    rng, current = random.Random(5), now().astimezone(SHANGHAI)
    out = io.StringIO()
    out.write("身份证号码,姓名,采样时间,检测时间,检测结果,采样点\n")
    for n in range(rows):
        person = n // REGISTERED_SHARE if n % REGISTERED_SHARE == 0 else 1_000_000 + n  # strangers: never registered
        sampled = current - timedelta(minutes=rng.randint(60, 13 * 24 * 60))
        out.write(f"{_id_number(person)},某人,{sampled:%Y-%m-%d %H:%M:%S},,阴性,第{n % 300}采样点\n")
    return out.getvalue().encode()


def feed_part_city() -> dict:
    from chalicelib.config import settings
    from chalicelib.integrations import storage
    from chalicelib.rules.clock import now
    from chalicelib.services.feeds import parts
    from chalicelib.services.registry.staff import person_key
    from chalicelib.store.feeds import FeedPart, StrangerShard
    from chalicelib.store.models import FeedFile, PersonHealth

    registered = PART_ROWS // REGISTERED_SHARE
    with embedded_stack(dynamodb="local"):
        began = time.perf_counter()
        with PersonHealth.batch_write() as batch:
            for n in range(registered):
                batch.save(PersonHealth(person_key(_id_number(n)), registered=True))
        seeded = time.perf_counter() - began
        data = _part_csv(PART_ROWS)
        key = "feeds/nat/city-part.csv"
        storage.put(key, data, content_type="text/csv")
        record = FeedFile("bench-city", kind="nat", object_key=key, filename="city-part.csv", received_at=now(),
                          status="running")
        record.save()
        part = FeedPart("bench-city", 1, start=0, end=len(data), status="queued", attempts=0)
        part.save()
        baseline = peak_mb()
        with _counting_calls(("s3",)) as calls:
            began = time.perf_counter()
            outcome = parts.run(settings().files_bucket, record, part, delivery=1)
            seconds = time.perf_counter() - began
        done = FeedFile.get("bench-city")
        stranger_items = sum(1 for _ in StrangerShard.scan())
        writes = calls.get("BatchWriteItem", 0)
        _log(f"  part: {outcome} in {seconds:.1f} s")
        return {"rows": PART_ROWS, "bytes": len(data), "registered_rows": int(done.matched),
                "stranger_rows": int(done.unmatched), "seconds": round(seconds, 1),
                "rows_per_second": round(PART_ROWS / seconds), "seed_seconds": round(seeded, 1),
                "peak_rss_mb": peak_mb(), "rss_before_mb": baseline, "stranger_index_items": stranger_items,
                "calls": {k: v for k, v in calls.items() if " items" not in k},
                "writes_per_stranger_row": round(stranger_items / max(1, int(done.unmatched)), 4),
                "status": done.status, "message": done.message}


def matcher_segment_city() -> dict:
    from bench.run import _enterprise, _seed_staff
    from bench.stats import _seed_samples
    from chalicelib.services.health import matcher

    staff = CITY_STAFF // SEGMENTS
    with embedded_stack(dynamodb="local"):
        owners = [_enterprise(f"城市测试主体{n:03d}", "南沙街", "express", head_phone=f"139{n:08d}") for n in range(50)]
        _seed_staff(lambda n: owners[n % len(owners)], staff, registered_days_ago=20)
        _seed_samples(staff)
        baseline = peak_mb()
        with _counting_calls() as calls:
            began = time.perf_counter()
            counts = matcher.reconcile_segment(0, 1)
            seconds = time.perf_counter() - began
        return {"staff": staff, "counts": counts, "seconds": round(seconds, 1), "peak_rss_mb": peak_mb(),
                "rss_before_mb": baseline, "calls": {k: v for k, v in calls.items() if " items" not in k}}


def city_day() -> dict:
    """The day's model from the measured pieces (run the two above first; their figures are read from
    bench/results/latest.json when present)."""
    from bench.run import ROOT

    results = {}
    latest = ROOT / "bench" / "results" / "latest.json"
    if latest.exists():
        results = json.loads(latest.read_text())
    part = results.get("feed_part_city") or feed_part_city()
    segment = results.get("matcher_segment_city") or matcher_segment_city()
    parts = -(-FILE_ROWS // PART_ROWS)
    waves = -(-parts // UPLOAD_CONCURRENCY)
    feed_minutes = waves * part["seconds"] / 60
    matcher_minutes = -(-SEGMENTS // UPLOAD_CONCURRENCY) * segment["seconds"] / 60
    night_minutes = -(-110 // UPLOAD_CONCURRENCY) * 25 / 60  # ~110 parts of ≤ 50,000 people, ~25 s each (night_100k)
    push_minutes = 5.0  # ~2,000 messages at ~100 ms a call, paced per member (push_11x20, scaled)
    return {"feed_parts": parts, "feed_minutes": round(feed_minutes, 1), "matcher_segments": SEGMENTS,
            "matcher_minutes": round(matcher_minutes, 1), "night_minutes": round(night_minutes, 1),
            "push_minutes": push_minutes,
            "day_minutes": round(feed_minutes + matcher_minutes + night_minutes + push_minutes, 1),
            "parallel_functions": UPLOAD_CONCURRENCY, "slowest_piece_seconds": max(part["seconds"], segment["seconds"])}


MEASUREMENTS.update({"feed_part_city": feed_part_city, "matcher_segment_city": matcher_segment_city,
                     "city_day": city_day})

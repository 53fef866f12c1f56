"""What each background operation asks of DynamoDB and S3, per person or per row — the figures the cost
table of docs/deploy.md is computed from (`python -m bench.run --one costs_per_operation`).

On moto in this process (the counts do not depend on the store; the local stack's workers would race
the calls counted here): a district of 1,000 registered staff in 10 enterprises, then
  feed    a NAT file of 10,000 rows: one sample of each registered person and 9,000 strangers (a city's
          ratio: 10,000,000 rows a day for 1,000,000 staff)
  matcher the overnight rebuild of every registered person and every roster file
  night   the compliance run of the day (every part)
Each as request items: written items (1 write unit each below 1 KB, as these are), read items (strongly
consistent: 1 read unit per 4 KB, eventually: 0.5), Scan items, S3 requests.
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from bench.run import MEASUREMENTS, _id_number


@contextmanager
def _units():
    """Request items by kind for every AWS call of this process while the block runs."""
    import botocore.client

    counts: Counter = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counted(client, operation, params):
        service = client.meta.service_model.service_name
        answer = original(client, operation, params)
        with lock:
            counts[f"{service}:{operation}"] += 1
            if service == "dynamodb":
                strong = params.get("ConsistentRead", False)
                if operation == "BatchWriteItem":
                    counts["write_items"] += sum(len(v) for v in params["RequestItems"].values())
                elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
                    counts["write_items"] += 1
                elif operation == "TransactWriteItems":
                    counts["write_items"] += 2 * len(params["TransactItems"])  # transactions cost double
                elif operation == "BatchGetItem":
                    items = sum(len(v) for v in answer.get("Responses", {}).values())
                    counts["read_items_strong" if any(v.get("ConsistentRead") for v in params["RequestItems"].values())
                           else "read_items_eventual"] += items
                elif operation == "GetItem":
                    counts["read_items_strong" if strong else "read_items_eventual"] += 1
                elif operation == "Query":
                    counts["read_items_strong" if strong else "read_items_eventual"] += answer.get("ScannedCount", 0)
                elif operation == "Scan":
                    counts["scan_items"] += answer.get("ScannedCount", 0)
        return answer

    botocore.client.BaseClient._make_api_call = counted
    try:
        yield counts
    finally:
        botocore.client.BaseClient._make_api_call = original


def _per(counts: Counter, n: int) -> dict:
    keys = ("write_items", "read_items_strong", "read_items_eventual", "scan_items")
    out = {k: round(counts.get(k, 0) / n, 3) for k in keys}
    out["s3_requests"] = round(sum(v for k, v in counts.items() if k.startswith("s3:")) / n, 4)
    return out


def costs_per_operation() -> dict:
    from moto import mock_aws

    from local.stack import stage_environment

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ.update(stage_environment("local"))
    os.environ["IMPORT_WRITERS"] = "1"
    staff_count, strangers = 1_000, 9_000
    with mock_aws():
        from bench.pages import CATEGORY
        from bench.run import _enterprise, _seed_staff
        from chalicelib.config import settings
        from chalicelib.integrations import storage
        from chalicelib.rules.clock import SHANGHAI, local_day, now
        from chalicelib.services.compliance import night
        from chalicelib.services.feeds import ingest
        from chalicelib.services.health import matcher, roster
        from chalicelib.services.health import state as health
        from chalicelib.services.registry import staff
        from infra.provision import provision

        storage.reset_client()
        os.environ["FILES_BUCKET"] = provision("local").buckets["FilesBucket"]
        owners = [_enterprise(f"测试物流{n:02d}", "南沙街", CATEGORY, head_phone=f"139{n:08d}") for n in range(10)]
        _seed_staff(lambda n: owners[n % 10], staff_count, registered_days_ago=20)
        health.register([staff.person_key(_id_number(n)) for n in range(staff_count)])
        yesterday = (now() - timedelta(days=1)).astimezone(SHANGHAI).replace(hour=10, minute=0, second=0, tzinfo=None)
        rows = ["身份证号码,姓名,采样时间,检测时间,检测结果,采样点"]
        for n in list(range(0, staff_count, 1)) + list(range(100_000, 100_000 + strangers)):
            if n < staff_count and n % 20 == 0:
                continue  # 5 % of the staff were not tested: the night lists them
            rows.append(f"{_id_number(n)},陈志强,{yesterday:%Y-%m-%d %H:%M:%S},,阴性,南沙采样点")
        data = ("\n".join(rows) + "\n").encode()
        key = "feeds/nat/costs.csv"
        storage.put(key, data, content_type="text/csv")
        etag = storage.s3().head_object(Bucket=settings().files_bucket, Key=key)["ETag"]
        with _units() as feed:
            ingest.handle_object(settings().files_bucket, key, etag)
        with _units() as rebuild:
            roster.rebuild(CATEGORY, "南沙街")
        with _units() as nightly:
            matcher.reconcile()
        with _units() as run:
            started = night.start(local_day(now()), force=True)
            for category, town in roster.every_partition():
                night.handle_part(started.day, started.generation, category, town)
        done = night.header(started.day)
        feed_rows = len(rows) - 1
        return {"staff": staff_count, "feed_rows": feed_rows, "non_compliant": int(done.shortfalls),
                "feed_per_row": _per(feed, feed_rows), "feed_bytes_per_row": round(len(data) / feed_rows, 1),
                "roster_rebuild_per_person": _per(rebuild, staff_count),
                "matcher_per_person": _per(nightly, staff_count),
                "night_per_person": _per(run, staff_count),
                "raw": {"feed": dict(feed), "matcher": dict(nightly), "night": dict(run)}}


MEASUREMENTS.update({"costs_per_operation": costs_per_operation})

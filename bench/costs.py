"""What the system is billed for, from billed units: the per-operation figures and the monthly table of
docs/deploy.md ("What it costs per month").

    python -m bench.run --one costs_per_operation   # the background work, on moto in this process
    python -m bench.run --one costs_per_page        # the console's and the phone's pages, on the embedded stack
    python -m bench.costs                            # the monthly tables from the last two (bench/results/)

Billed units, as DynamoDB on demand bills them (`billed()`; tests/unit/test_costs.py), not items returned:
- a read: per 4 KB of the item, rounded up — 1 unit strongly consistent, 0.5 eventually; an item that does
  not exist still costs the minimum. BatchGetItem is billed as one GetItem per key *requested* (a page
  asking for 20 people's health pays for 20 keys, registered or not); keys it hands back unprocessed are
  not billed (the retry that asks again is, as its own call). Query and Scan: the bytes read per request,
  rounded up to 4 KB (at least one unit), filtered-out items included;
- a write: per 1 KB of the item, rounded up (a failed condition too), twice in a transaction, plus one write
  per global secondary index the item is in (a new or removed index entry; an update that moves the entry
  costs two, counted as one here: the table's old item is not known to the client);
- S3: PUT, COPY, POST and LIST at one price, GET, HEAD and the rest at another; DELETE is free.

What the bench measures (a district of 1,000 registered staff in 10 enterprises):
  feed    a NAT file of 10,000 rows: one sample of each registered person but 5 % and 9,000 strangers (a
          city's ratio: 10,000,000 rows a day for 1,000,000 staff)
  rebuild one partition's roster from its staff and their health (what every matched feed file triggers
          for every partition, and a registry write for its own)
  matcher the overnight rebuild of every registered person (its Scans, the rebuild of every roster)
  night   the compliance run of the day (every part)
plus the log lines each writes. Per page: the DynamoDB and S3 units of each page the ledger benchmark opens
(bench/pages.py), through the Chalice app. The monthly model (`monthly()`) multiplies them by a scale and
the list prices of us-east-1, and adds what the bench cannot see: Lambda, API Gateway, SQS polling,
retries and redeliveries, CloudWatch logs, alarms and metrics, secrets, KMS.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.run import MEASUREMENTS, ROOT, _id_number

READ_BLOCK, WRITE_BLOCK = 4096, 1024
S3_PUT_CLASS = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                "ListObjects", "ListObjectsV2", "PostObject"}
S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}


# --- billed units of one call -----------------------------------------------------------------------------

def value_size(value: dict) -> int:
    """DynamoDB's size of one attribute value (its documented rules, approximately for numbers)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = len(inner.lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(kind)


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _read_units(size: int, strong: bool) -> float:
    return max(1, math.ceil(size / READ_BLOCK)) * (1.0 if strong else 0.5)


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_BLOCK))


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...] = ()


def indexes() -> dict[str, list[Index]]:
    """Each table's global secondary indexes (infra/stateful.json), by the table's name after the prefix."""
    from infra.provision import load_template

    out = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            out[props["TableName"]["Fn::Sub"].removeprefix("sentinel-${Stage}-")] = [
                Index(g["IndexName"], tuple(k["AttributeName"] for k in g["KeySchema"]),
                      g["Projection"]["ProjectionType"], tuple(g["Projection"].get("NonKeyAttributes", ())))
                for g in props.get("GlobalSecondaryIndexes", [])]
    return out


def _base(table: str) -> str:
    return table.split("-", 2)[-1] if table.startswith("sentinel-") else table


def _index_writes(table: str, item: dict | None, touched: set[str] | None, known: dict[str, list[Index]]) -> int:
    """Index entries a write puts or removes: a put, the indexes whose keys the item has; an update, those
    whose key or projected attributes it sets; a delete, every index (the item's old attributes unknown)."""
    count = 0
    for index in known.get(_base(table), []):
        if item is not None:
            count += all(k in item for k in index.keys)
        elif touched is None:
            count += 1
        elif touched & set(index.keys) or (index.projection == "ALL" and touched) or (touched & set(index.included)):
            count += 1
    return count


def _touched(params: dict) -> set[str]:
    names = params.get("ExpressionAttributeNames", {})
    expression = params.get("UpdateExpression", "")
    found = {names[token] for token in names if token in expression}
    return found | {n for n in params.get("AttributeUpdates", {})}


def billed(service: str, operation: str, params: dict, answer: dict, known: dict[str, list[Index]] | None = None
           ) -> Counter:
    """The billed units of one call: rru (read request units), wru (write request units, indexes included),
    s3_put / s3_get (requests by price class), requests (of the service)."""
    out: Counter = Counter({f"{service}_requests": 1})
    known = known if known is not None else {}
    if service == "s3":
        if operation not in S3_FREE:
            out["s3_put" if operation in S3_PUT_CLASS else "s3_get"] += 1
        return out
    if service != "dynamodb":
        return out
    strong = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        out["rru"] += _read_units(item_size(answer.get("Item", {})), strong)
    elif operation == "BatchGetItem":
        for table, request in params["RequestItems"].items():
            consistent = bool(request.get("ConsistentRead"))
            returned = answer.get("Responses", {}).get(table, [])
            unprocessed = len(answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
            missing = len(request["Keys"]) - unprocessed - len(returned)
            out["rru"] += sum(_read_units(item_size(i), consistent) for i in returned)
            out["rru"] += missing * _read_units(0, consistent)
            out["keys_requested"] += len(request["Keys"]) - unprocessed
            out["items_returned"] += len(returned)
    elif operation in ("Query", "Scan"):
        items = answer.get("Items", [])
        size = sum(map(item_size, items))
        scanned, count = answer.get("ScannedCount", len(items)), answer.get("Count", len(items))
        if scanned > count:  # a filter dropped items after they were read (and billed)
            size = size * scanned / count if count else scanned * 100
        out["rru" if operation == "Query" else "scan_rru"] += _read_units(int(size), strong)
    elif operation == "PutItem":
        out["wru"] += _write_units(item_size(params["Item"])) + _index_writes(params["TableName"], params["Item"], None,
                                                                              known)
    elif operation == "UpdateItem":
        out["wru"] += 1 + _index_writes(params["TableName"], None, _touched(params), known)
    elif operation == "DeleteItem":
        out["wru"] += 1 + _index_writes(params["TableName"], None, None, known)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            left = len(answer.get("UnprocessedItems", {}).get(table, []))
            for request in requests[:len(requests) - left]:  # unprocessed ones are sent (and billed) again
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out["wru"] += _write_units(item_size(item)) + _index_writes(table, item, None, known)
                else:
                    out["wru"] += 1 + _index_writes(table, None, None, known)
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            size = item_size(body.get("Item", {})) if kind == "Put" else 0
            out["wru"] += 2 * _write_units(size)
            if kind != "ConditionCheck":
                item = body.get("Item") if kind == "Put" else None
                touched = _touched(body) if kind == "Update" else None
                out["wru"] += 2 * _index_writes(body["TableName"], item, touched, known)
    elif operation == "TransactGetItems":
        out["rru"] += 2 * len(params["TransactItems"])
    return out


class _LogBytes(logging.Handler):
    """Bytes of the log lines a Lambda function writes (its root logger is at WARNING; the app's own
    INFO line per event is counted per invocation in `monthly()`), with Lambda's prefix of each line."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.bytes = 0

    def emit(self, record):
        self.bytes += len(self.format(record).encode()) + 60  # timestamp, request id and level


@contextmanager
def _units():
    """Billed units of every AWS call of this process while the block runs, and its log bytes."""
    import botocore.client

    counts: Counter = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call
    known = indexes()

    def counted(client, operation, params):
        answer = original(client, operation, params)
        units = billed(client.meta.service_model.service_name, operation, params, answer, known)
        with lock:
            counts.update(units)
        return answer

    handler = _LogBytes()
    logging.getLogger().addHandler(handler)
    botocore.client.BaseClient._make_api_call = counted
    try:
        yield counts
    finally:
        botocore.client.BaseClient._make_api_call = original
        logging.getLogger().removeHandler(handler)
        counts["log_bytes"] += handler.bytes


KEYS = ("rru", "wru", "scan_rru", "s3_put", "s3_get", "keys_requested", "items_returned", "log_bytes")


def _per(counts: Counter, n: int) -> dict:
    return {k: round(counts.get(k, 0) / n, 4) for k in KEYS}


# --- measurements ----------------------------------------------------------------------------------------

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
        with _units() as redelivered:  # the same event delivered again (SQS delivers at least once)
            ingest.handle_object(settings().files_bucket, key, etag, delivery=2)
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
                "feed_redelivered_per_file": _per(redelivered, 1),
                "roster_rebuild_per_person": _per(rebuild, staff_count),
                "matcher_per_person": _per(nightly, staff_count),
                "night_per_person": _per(run, staff_count),
                "raw": {"feed": dict(feed), "rebuild": dict(rebuild), "matcher": dict(nightly), "night": dict(run)}}


def costs_per_page() -> dict:
    """The billed units of each page of bench/pages.py (the second request of each: the first fills the
    function's caches), through the Chalice app in this process, on the embedded stack's DynamoDB Local."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    import app as application
    from bench.pages import _logins, _pages, district
    from bench.run import embedded_stack

    with embedded_stack(dynamodb="local", api_processes=1) as base:
        seeded = district(2_000)
        logins = _logins(base)
        pages = _pages(seeded)
        gateway = LocalGateway(application.app, Config(chalice_stage="local", config_from_disk={}))
        out = {}
        for name, (who, path, *_) in pages.items():
            headers = {"authorization": logins[who]["Authorization"], "host": "127.0.0.1"}
            gateway.handle_request("GET", path(1), headers, b"")
            with _units() as units:
                answer = gateway.handle_request("GET", path(2), headers, b"")
            assert answer["statusCode"] == 200, answer
            out[name] = {k: v for k, v in _per(units, 1).items() if v}
        mean = {k: round(sum(p.get(k, 0) for p in out.values()) / len(out), 2) for k in KEYS}
        return {"staff": seeded["staff"], "pages": out, "mean_page": mean}


MEASUREMENTS.update({"costs_per_operation": costs_per_operation, "costs_per_page": costs_per_page})


# --- the monthly model -----------------------------------------------------------------------------------

# us-east-1 list prices (the China regions bill in CNY at their own rates; the units are the same)
PRICE = {"wru": 0.625e-6, "rru": 0.125e-6, "storage_gb": 0.25, "pitr_gb": 0.20, "lambda_gb_s": 0.0000166667,
         "lambda_request": 0.20e-6, "apigw_request": 3.50e-6, "s3_gb": 0.023, "s3_put": 0.005e-3, "s3_get": 0.0004e-3,
         "sqs_request": 0.40e-6, "secret": 0.40, "secret_call": 0.05e-4, "kms_key": 1.00, "kms_request": 0.03e-4,
         "alarm": 0.10, "custom_metric": 0.30, "metric_put": 0.01e-3, "log_ingest_gb": 0.50, "log_store_gb": 0.03,
         "nat_hour": 0.045, "eip_hour": 0.005}
DAYS = 30
LOG_BYTES_PER_INVOCATION = 350 + 150  # Lambda's START, END and REPORT lines, and the app's line per event
ALARMS = 17  # 6 functions × (errors, duration) + night, feed, watch silent + 2 dead-letter queues
RETRY_SHARE = 0.05  # background work done twice: a lease that ran out, a part or a file redelivered
# Lambda seconds, from the benchmarks (docs/performance.md) and the previous table's measured day
FEED_SECONDS_PER_ROW, FEED_GB = 0.00015, 2.0
REBUILD_SECONDS_PER_PERSON, REBUILD_GB = 0.0001, 2.0
NIGHT_SECONDS_PER_PERSON, NIGHT_GB = 0.00125, 1.0
API_SECONDS, API_GB = 0.1, 1.0
SQS_POLLERS = 5  # Lambda's pollers of a queue with an event source mapping, at rest
ACTIVE_MINUTES = 12 * 60  # the console's working day


@dataclass
class Scale:
    name: str
    staff: int
    nat_rows_per_day: int
    matched_files_per_day: int  # NAT and vaccination files that matched someone: each rebuilds every roster
    registry_writes_per_day: int  # form edits and imports: each rebuilds its partition's roster
    partitions: int  # category × town
    api_requests_per_day: int
    storage_gb: float  # tables, as the health records' 14 days and the staff make them
    s3_gb: float


DISTRICT = Scale("The seed's district", staff=14_825, nat_rows_per_day=150_000, matched_files_per_day=5,
                 registry_writes_per_day=300, partitions=60, api_requests_per_day=10_000, storage_gb=0.6, s3_gb=1)
CITY = Scale("A whole city", staff=1_000_000, nat_rows_per_day=10_000_000, matched_files_per_day=25,
             registry_writes_per_day=10_000, partitions=100, api_requests_per_day=200_000, storage_gb=31, s3_gb=10)


def monthly(scale: Scale, per_op: dict, per_page: dict) -> list[tuple[str, str, float]]:
    """(item, how, $ a month) rows: the measured units times the scale, at list prices."""
    p, rows, days, n = PRICE, [], DAYS, scale.staff
    feed, rebuild, matcher, night = (per_op[k] for k in ("feed_per_row", "roster_rebuild_per_person",
                                                         "matcher_per_person", "night_per_person"))
    per_partition = per_op["raw"]["rebuild"]  # one partition's rebuild (the bench's: 1,000 people)
    page = per_page["mean_page"]

    def row(item, how, dollars):
        rows.append((item, how, round(dollars, 2)))
        return dollars

    # DynamoDB
    feed_units = scale.nat_rows_per_day * days * (feed["wru"] * p["wru"] + feed["rru"] * p["rru"])
    row("feed: DynamoDB", f"{scale.nat_rows_per_day:,} rows a day × ({feed['wru']:.2f} write + {feed['rru']:.2f} read "
        "units)", feed_units)
    partition = n / scale.partitions
    person_rebuilds = (scale.matched_files_per_day * n + scale.registry_writes_per_day * partition) * days
    partition_rebuilds = (scale.matched_files_per_day * scale.partitions + scale.registry_writes_per_day) * days
    rebuild_units = person_rebuilds * (rebuild["rru"] * p["rru"] + rebuild["wru"] * p["wru"])
    row("roster rebuilds: DynamoDB", f"every partition after each of {scale.matched_files_per_day} matched feed files a "
        f"day, one (~{partition:,.0f} people) after each of {scale.registry_writes_per_day:,} registry writes: "
        f"{person_rebuilds / 1e6:,.0f} M person-rebuilds × {rebuild['rru']:.2f} read units", rebuild_units)
    night_wru = matcher["wru"] + night["wru"]
    night_rru = matcher["rru"] + matcher["scan_rru"] + night["rru"]
    night_units = n * days * (night_wru * p["wru"] + night_rru * p["rru"])
    row("the night: DynamoDB", f"{n:,} people × ({night_wru:.2f} write + {night_rru:.2f} read units: the matcher, its "
        "Scans, every roster, the run)", night_units)
    requests = scale.api_requests_per_day * days
    row("API: DynamoDB", f"{requests / 1e6:,.2f} M requests × {page['rru']:.0f} read units (the mean page)",
        requests * (page["rru"] * p["rru"] + page["wru"] * p["wru"]))
    row("storage and point-in-time recovery", f"{scale.storage_gb:g} GB × ($0.25 + $0.20)",
        scale.storage_gb * (p["storage_gb"] + p["pitr_gb"]))
    # Lambda and API Gateway
    row("API: API Gateway and Lambda", f"{requests / 1e6:,.2f} M requests × ($3.50 + $0.20 per M) + "
        f"{requests * API_SECONDS * API_GB:,.0f} GB-s", requests * (p["apigw_request"] + p["lambda_request"])
        + requests * API_SECONDS * API_GB * p["lambda_gb_s"])
    gb_s = days * (scale.nat_rows_per_day * FEED_SECONDS_PER_ROW * FEED_GB + person_rebuilds / days
                   * REBUILD_SECONDS_PER_PERSON * REBUILD_GB + n * NIGHT_SECONDS_PER_PERSON * NIGHT_GB) + 1440 * 0.3 * 0.25
    invocations = (requests + days * (2 * scale.matched_files_per_day + scale.registry_writes_per_day
                                      + scale.partitions + 50))
    background = row("background Lambda", f"feeds, rebuilds, the night, the watch: {gb_s:,.0f} GB-s",
                     gb_s * p["lambda_gb_s"] + (invocations - requests) * p["lambda_request"])
    row("retries and redeliveries", f"{RETRY_SHARE:.0%} of the background work done twice (a lease that ran out, a "
        "redelivered part or file); a duplicate delivery of a finished file: "
        f"{per_op['feed_redelivered_per_file']['rru']:g} read unit", RETRY_SHARE * (
            feed_units + rebuild_units + night_units + background))
    # S3, logs, the rest
    s3_put = partition_rebuilds * (per_partition.get("s3_put", 0)) + person_rebuilds / partition  # file + mark
    s3_get = partition_rebuilds * per_partition.get("s3_get", 0) + requests * page["s3_get"]
    row("S3", f"{scale.s3_gb:g} GB; {s3_put / 1e6:,.2f} M PUT (roster files and marks)"
        + (f", {s3_get / 1e6:,.2f} M GET" if s3_get >= 5000 else ""),
        scale.s3_gb * p["s3_gb"] + s3_put * p["s3_put"] + s3_get * p["s3_get"])
    log_gb = (invocations * LOG_BYTES_PER_INVOCATION + days * (
        feed["log_bytes"] * scale.nat_rows_per_day + (matcher["log_bytes"] + night["log_bytes"]) * n)) / 1e9
    row("CloudWatch Logs", f"{log_gb:,.2f} GB a month ({invocations / 1e6:,.2f} M invocations × "
        f"{LOG_BYTES_PER_INVOCATION} B, and warnings), kept 30 days: $0.50 a GB in, $0.03 a GB-month",
        log_gb * (p["log_ingest_gb"] + p["log_store_gb"]))
    row("alarms and metrics", f"{ALARMS} alarms; 2 custom metrics (the watch), 2,880 PutMetricData",
        ALARMS * p["alarm"] + 2 * p["custom_metric"] + 2880 * p["metric_put"])
    sqs = 2 * SQS_POLLERS * 3 * 60 * 24 * days + 3 * (invocations - requests)  # 20 s long polls; send, receive, delete
    row("SQS", f"~{sqs / 1e6:.2f} M requests (Lambda's {SQS_POLLERS} long-polling readers of each queue, and each "
        "message's send, receive and delete; 1 M free)", max(0.0, sqs - 1e6) * p["sqs_request"])
    warm = max(2, round(scale.api_requests_per_day / 10_000))  # API instances warm through the working day
    secret_calls = days * (warm * 4 * ACTIVE_MINUTES + 3 * 24 * 60 / 30)
    row("secrets", f"5 secrets; ~{secret_calls / 1e6:.2f} M reads: each of ~{warm} warm API instances reads the app "
        "secret, the edge secret (current and previous) and the person-key ring once a minute through a 12-hour day; "
        "the background's few", 5 * p["secret"] + secret_calls * p["secret_call"])
    kms = 150_000 if n < 100_000 else 500_000
    row("KMS", f"the key; ~{kms:,} requests (DynamoDB, S3 Bucket Keys, SQS, Secrets Manager)",
        p["kms_key"] + kms * p["kms_request"])
    return rows


def table(scale: Scale, per_op: dict, per_page: dict) -> str:
    rows = monthly(scale, per_op, per_page)
    lines = [f"**{scale.name}** ({scale.staff:,} staff, {scale.nat_rows_per_day:,} NAT rows and "
             f"{scale.api_requests_per_day:,} API requests a day):", "", "| item | how | per month |",
             "| --- | --- | --- |"]
    lines += [f"| {item} | {how} | ${dollars:,.2f} |" for item, how, dollars in rows]
    total = sum(d for _, _, d in rows)
    lines.append(f"| **total** | | **≈ ${total:,.0f}** |")
    nat = 730 * (PRICE["nat_hour"] + PRICE["eip_hour"])
    lines.append(f"| with `FixedEgress=true` | NAT gateway and its address (The 粤政易 network path) | + ${nat:,.2f} |")
    return "\n".join(lines)


def main() -> None:
    results = ROOT / "bench" / "results"  # `python -m bench.run --one costs_per_… > bench/results/costs_per_….json`
    per_op, per_page = (json.loads((results / f"{name}.json").read_text().strip().splitlines()[-1])
                        for name in ("costs_per_operation", "costs_per_page"))
    for scale in (DISTRICT, CITY):
        print(table(scale, per_op, per_page) + "\n")


if __name__ == "__main__":
    main()

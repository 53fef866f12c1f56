"""Provincial feeds (§2.4, docs/feeds.md): NAT results and vaccinations dropped under feeds/nat/ and
feeds/vaccine/, ingested once per file, matched to registered people by keyed ID hash.

    S3 event ─▶ claim the file (feed id = key + ETag, conditional put with a lease)
              ─▶ read it in blocks (feed_reader: CSV in UTF-8 / UTF-8 BOM / GB18030, or .xlsx)
              ─▶ validate each row (feed_rows: a column at a time where the row is clean as
                 written, else one row at a time)
              ─▶ per block: drop repeats of a sample or dose the file named before (feed_rows.Repeats),
                 which people are registered (one batched read), write the records (idempotent keys),
                 move registered people's state forward, mark the others pending
              ─▶ the report (counts, rejected lines with reasons, repeats) ─▶ done | quarantined

A crash halfway leaves the lease to expire; the redelivered event claims the file again and writes the
same items (records are keyed by person + sampling time + source; state only moves forward). The claim,
lease and end are services/jobs/lifecycle.py's, shared with import jobs.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Iterator
from urllib.parse import unquote_plus

import numpy as np
from pynamodb.exceptions import DoesNotExist

from chalicelib.config import settings
from chalicelib.errors import BadFileError, NotFoundError, TooLargeError
from chalicelib.integrations import storage
from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.text import clean
from chalicelib.services.health import roster
from chalicelib.services.health import state as health
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.services.health import rekey
from chalicelib.services.feeds.reader import BadFeedError, Block, csv_blocks, xlsx_blocks
from chalicelib.services.feeds.rows import (NO_TIME, RESULTS, Context, NatRows, Repeats, Report, nat_once, nat_rows,
                                            vaccine_once, vaccine_rows)
from chalicelib.services.common.parallel import in_parallel
from chalicelib.store.models import FeedFile, HealthRecord, PersonHealth
from chalicelib.store.values import plain

log = logging.getLogger(__name__)
KINDS = {"nat": (rules.NAT_ALIASES, rules.NAT_REQUIRED), "vaccine": (rules.VACCINE_ALIASES, rules.VACCINE_REQUIRED)}
KIND_LABELS = {"nat": "核酸检测", "vaccine": "疫苗接种"}
WRITE_CHUNK = 5000  # rows whose records are built and written together
MAX_XLSX_BYTES = 10 << 20  # calamine holds the sheet: ~300,000 rows stay well inside the function's memory
LATE_AFTER = timedelta(days=1)
STATUS_LABELS = {"running": "处理中", "done": "已完成", "quarantined": "已隔离", "failed": "失败"}


def feed_id(key: str, etag: str) -> str:
    return hashlib.sha256(f"{key}#{etag}".encode()).hexdigest()[:32]


def handle_object(bucket: str, key: str, etag: str = "", *, delivery: int = 1) -> str:
    key = unquote_plus(key)
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "feeds" or parts[1] not in KINDS or not parts[-1]:
        return f"ignored {key}"
    kind = parts[1]
    record = FeedFile(feed_id(key, etag), kind=kind, object_key=key, filename=key.rsplit("/", 1)[-1][:200],
                      received_at=now())
    if not jobs.claim(record, create=True):
        return f"feed {key} already handled"
    with jobs.attempt(record, delivery=delivery):
        try:
            report = ingest(kind, record.feed_id, _blocks(bucket, key), now())
        except BadFeedError as exc:
            storage.move(key, f"quarantine/{key}", bucket=bucket)
            partial = getattr(exc, "report", None) or Report()
            before = f"；此前的 {partial.rows_read} 行已按规则处理" if partial.rows_read else ""
            if partial.matched:
                roster.mark(roster.ALL)
            _finish(record, status="quarantined", message=f"{exc}（文件已移至 quarantine/{key}）{before}",
                    report=partial)
            return f"feed {key} quarantined: {exc}"
    message = f"读取 {report.rows_read} 行：匹配 {report.matched}，未匹配 {report.unmatched}，拒收 {report.rejected}"
    if kind == "nat":  # only samples older than the 14 days kept are dropped; a dose is kept whatever its date
        message += f"，超过14天 {report.too_old}"
    if report.repeated:
        message += f"，重复 {report.repeated}"
    if report.matched:
        roster.mark(roster.ALL)  # the statistics' read model: rebuilt in the background, all partitions
    _finish(record, status="done", message=message, report=report)
    return f"feed {key} done: {message}"


def ingest(kind: str, source_id: str, blocks: Iterator[Block], current: datetime,
           *, registered=None, write: bool = True) -> Report:
    """Validate, match and (when `write`) store every row. `registered(keys) -> set` may be given (the
    bench passes an in-memory set); by default it is one batched read per block. A file that turns out
    unreadable halfway raises BadFeedError carrying the report of the rows before."""
    report = Report()
    context = Context(current)
    lookup = registered or _registered
    repeats = Repeats()  # across the blocks: a repeat may come a million rows after its first row
    try:
        for block in blocks:
            report.rows_read += block.count
            if kind == "nat":
                rows = nat_rows(block, context, report)
                rows.keys, on_old = _registered_key(rows.keys, context, lookup)
                _apply_nat(source_id, nat_once(rows, context, repeats, report), report, current, lookup, write)
            else:
                pairs = vaccine_rows(block, context, report)
                keys, on_old = _registered_key([k for k, _ in pairs], context, lookup)
                pairs, again = vaccine_once(list(zip(keys, [v for _, v in pairs])), repeats, report)
                _apply_vaccine(source_id, pairs, report, current, lookup, write, again=again)
            if on_old and write:
                _heal(on_old)
    except BadFeedError as exc:
        exc.report = report
        raise
    return report


def _registered(keys: list[str]) -> set[str]:
    return {k for k, state in health.states(keys, attributes=["person_key", "registered"]).items() if state.registered}


def _registered_key(keys: list[str], context: Context, lookup) -> tuple[list[str], dict[str, str]]:
    """While a person-key rotation runs, a row of someone still registered under the replaced key is
    matched (and stored) under that key, which the re-key job then moves; everyone else under the
    current key. One more batched read per block, during a rotation only. Returns the keys and, for the
    rows kept under a replaced key, replaced key → current key."""
    if not context.alias:
        return keys, {}
    old = [context.alias[key] for key in keys]
    context.alias.clear()
    registered = lookup(keys + old)
    chosen = [o if key not in registered and o in registered else key for key, o in zip(keys, old)]
    return chosen, {o: key for key, o, c in zip(keys, old, chosen) if c == o}


def _heal(on_old: dict[str, str]) -> None:
    """Someone the re-key job moved between this block's lookup and its writes has the block's samples
    left under the replaced key: move those too (their state there is gone, so the move is due)."""
    still = set(health.states(list(on_old), attributes=["person_key"]))
    for old, new in on_old.items():
        if old not in still:
            rekey.move(old, new)


def _count(report: Report, keys: list[str], registered: set[str], again, *, per_row: bool) -> list[bool]:
    """Count matched and unmatched rows, less those `again` marks (a repeat replacing an earlier block's
    copy: counted as repeated); `per_row`: also return which rows matched."""
    hits = list(map(registered.__contains__, keys)) if per_row else []
    matched = sum(hits) if per_row else sum(map(registered.__contains__, keys))
    counted = len(keys)
    if again is not None:
        counted -= int(again.sum())
        matched -= sum(keys[i] in registered for i in np.flatnonzero(again).tolist())
    report.matched += matched
    report.unmatched += counted - matched
    return hits


def _apply_nat(source_id: str, rows: NatRows, report: Report, current: datetime, lookup, write: bool) -> None:
    if not rows.keys:
        return
    hits = _count(report, rows.keys, lookup(rows.keys), rows.again, per_row=write)
    report.saw(datetime.fromtimestamp(int(rows.sampled.max()), SHANGHAI).isoformat())
    if not write:
        return
    keep_until = _marker_expiry(current)
    for start in range(0, len(rows.keys), WRITE_CHUNK):
        part = range(start, min(start + WRITE_CHUNK, len(rows.keys)))
        records, latest, pending, samples = [], {}, set(), {}
        for i in part:
            key, site = rows.keys[i], rows.sites[rows.site[i]]
            sampled = datetime.fromtimestamp(int(rows.sampled[i]), SHANGHAI)
            tested = datetime.fromtimestamp(int(rows.tested[i]), SHANGHAI) if rows.tested[i] != NO_TIME else None
            values = {"sampled_at": sampled, "tested_at": tested, "result": RESULTS[rows.result[i]], "site": site}
            records.append(HealthRecord(key, f"nat#{sampled.isoformat()}#{site or '-'}", kind="nat", feed_id=source_id,
                                        expires_at=rules.kept_until(sampled), **values))
            if not hits[i]:
                pending.add(key)
                continue
            samples.setdefault(key, set()).add(health.sample_tag(sampled, values["result"], site))
            if key not in latest or sampled >= latest[key]["sampled_at"]:
                latest[key] = values
        markers = [PersonHealth(key, registered=False, pending=True, expires_at=keep_until) for key in pending]
        _store(records, markers, [lambda key=key, v=v: health.apply_nat(key, **v, samples=samples[key])
                                  for key, v in latest.items()])


def _apply_vaccine(source_id: str, rows: list[tuple[str, dict]], report: Report, current: datetime, lookup,
                   write: bool, *, again=None) -> None:
    if not rows:
        return
    keys = [key for key, _ in rows]
    hits = _count(report, keys, lookup(keys), again, per_row=write)
    report.saw(max(v["day"] for _, v in rows))
    if not write:
        return
    keep_until = _marker_expiry(current)
    pending = {key for (key, _), hit in zip(rows, hits) if not hit}
    records = [HealthRecord(key, f"vax#{v['dose']}", kind="vaccine", dose=v["dose"], vaccinated_on=v["day"],
                            product=v["product"], unit=v["unit"], feed_id=source_id,
                            expires_at=keep_until if key in pending else None) for key, v in rows]
    markers = [PersonHealth(key, registered=False, pending=True, expires_at=keep_until) for key in pending]
    updates = [lambda key=key, v=v: health.apply_dose(key, dose=v["dose"], day=v["day"], product=v["product"])
               for (key, v), hit in zip(rows, hits) if hit]
    _store(records, markers, updates)


def _marker_expiry(current: datetime) -> datetime:
    """A pending marker lasts as long as the newest sample the file may hold (an hour ahead) is kept, so a
    person registered later finds their samples at once, not only after the night's rebuild."""
    return rules.kept_until(rules.sample_window(current)[1])


def _store(records: list, markers: list, updates: list) -> None:
    """Records first, then state: a crash in between leaves records a retry rewrites and state it then
    moves forward. Batched puts, not a conditional write each (a file may name 900,000 strangers): a
    person registered in the milliseconds between the lookup and this write gets a pending marker over
    their state, which the next sample or the overnight rebuild (health.rebuild) restores. Writes go
    out in parallel: a million rows are 40,000 BatchWriteItem calls. A failure raises: the lease expires
    and the redelivered event finishes the file."""
    in_parallel([lambda part=part: _save_all(HealthRecord, part) for part in _parts(records)])
    in_parallel([lambda part=part: _save_all(PersonHealth, part) for part in _parts(markers)])
    in_parallel(updates)


def _parts(items: list, size: int = 250) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _save_all(model, items) -> None:
    with model.batch_write() as batch:
        for item in items:
            batch.save(item)


# --- reading files ----------------------------------------------------------------------------------


def _blocks(bucket: str, key: str) -> Iterator[Block]:
    kind = key.split("/")[1]
    aliases, required = KINDS[kind]
    name = key.lower()
    if name.endswith(".xlsx"):  # a workbook is read whole (zip), so its size is bounded; a CSV is not
        data = storage.stream(key, bucket=bucket).read(MAX_XLSX_BYTES + 1)
        if len(data) > MAX_XLSX_BYTES:
            raise BadFeedError(f"Excel 文件超过 {MAX_XLSX_BYTES >> 20} MB（约 30 万行）：请导出为 CSV 后再放入"
                               "（CSV 逐块读取，不限大小）")
        return xlsx_blocks(data, aliases, required)
    if name.endswith((".csv", ".txt")):
        return csv_blocks(storage.stream(key, bucket=bucket), aliases, required)
    raise BadFeedError("只接受 .csv 或 .xlsx 文件")


# --- the file record ---------------------------------------------------------------------------------


def _finish(record: FeedFile, *, status: str, message: str, report: Report) -> None:
    jobs.finish(record, status=status, message=message, actions=[
        FeedFile.rows_read.set(report.rows_read), FeedFile.matched.set(report.matched),
        FeedFile.unmatched.set(report.unmatched), FeedFile.rejected.set(report.rejected),
        FeedFile.too_old.set(report.too_old), FeedFile.repeated.set(report.repeated),
        FeedFile.problems.set(report.problems),
        FeedFile.newest_at.set(report.newest) if report.newest else FeedFile.newest_at.remove()])


def fail(record: FeedFile, message: str) -> None:
    """End a file that can no longer be processed (its worker died and the file is gone), with why."""
    jobs.finish(record, status="failed", message=message)


# --- what the console reads --------------------------------------------------------------------------


def public(record: FeedFile, *, with_problems: bool = False) -> dict:
    body = {"id": record.feed_id, "kind": record.kind, "kind_label": KIND_LABELS.get(record.kind, record.kind),
            "object_key": record.object_key, "filename": record.filename, "status": record.status,
            "status_label": STATUS_LABELS.get(record.status, record.status),
            "received_at": iso(record.received_at), "finished_at": iso(record.finished_at),
            "rows_read": int(record.rows_read or 0), "matched": int(record.matched or 0),
            "unmatched": int(record.unmatched or 0), "rejected": int(record.rejected or 0),
            "too_old": int(record.too_old or 0), "repeated": int(record.repeated or 0),
            "newest_at": record.newest_at, "message": record.message or ""}
    if with_problems:
        body["problems"] = [plain(p) for p in record.problems or []]
    return body


def recent(kind: str, *, limit: int = 50) -> list[FeedFile]:
    return [jobs.settle(f) for f in FeedFile.by_kind.query(kind, scan_index_forward=False, limit=limit)]


def get(identifier: str) -> FeedFile:
    try:
        return jobs.settle(FeedFile.get(identifier))
    except DoesNotExist:
        raise NotFoundError("数据文件记录不存在")


def freshness() -> dict:
    """数据更新至, per kind, and when the last file arrived; a kind whose last file is more than a day old
    is flagged late. NAT: the newest sampling time actually ingested. Vaccination: the day the newest
    ingested register arrived — its newest dose may be years old (the campaigns ended), which says
    nothing about how current the register is."""
    current = now()
    out = {}
    for kind in KINDS:
        files = [f for f in recent(kind, limit=30) if f.status == "done"]
        last = max((f.received_at for f in files), default=None)
        if kind == "nat":
            newest = max((f.newest_at for f in files if f.newest_at), default=None)
            until = iso(datetime.fromisoformat(newest)) if newest else None
        else:
            until = last.astimezone(SHANGHAI).date().isoformat() if last else None
        out[kind] = {"data_until": until, "last_received_at": iso(last),
                     "late": last is None or current - last > LATE_AFTER}
    return out


MAX_NAME = 80  # characters of the uploaded file's name kept in the key (S3 keys end at 1,024 bytes)
# What 运维 may upload in 数据接入 (the province drops its files into feeds/ itself, of any size): a CSV up
# to what one on_feed invocation reads today (≈ 2 million rows in its 15 minutes: docs/deploy.md,
# on-feed-duration), a workbook up to what the reader takes whole.
MAX_UPLOAD_BYTES = {"csv": 200 << 20, "xlsx": MAX_XLSX_BYTES}
UPLOAD_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
UPLOAD_SECONDS = 600  # how long the presigned POST may be used to begin the upload


def upload(kind: str, filename: str, size: int) -> tuple[str, dict]:
    """运维's upload in 数据接入: a presigned POST for a new key under feeds/<kind>/, where a provider drops
    its files, so the file goes to S3 itself (never through the API) and its event is the provider's.
    Nothing is written before the file arrives: a feed's record is made by its first claim (on_feed), so
    no upload that never arrived leaves one waiting. Returns the key and the form."""
    key, extension = _feed_key(kind, filename)
    if size <= 0:
        raise BadFileError("文件为空")
    limit = MAX_UPLOAD_BYTES[extension]
    if size > limit:
        raise TooLargeError(f"Excel 文件超过 {limit >> 20} MB（约 30 万行）：请导出为 CSV 后再上传" if extension == "xlsx"
                            else f"文件超过 {limit >> 20} MB：更大的数据文件请由数据提供方直接放入 feeds/{kind}/ 目录")
    form, expires = storage.upload_form(key, max_bytes=limit, content_type=UPLOAD_TYPES[extension],
                                        seconds=UPLOAD_SECONDS)
    return key, {**form, "expires_at": iso(expires), "max_bytes": limit}


def drop(kind: str, filename: str, data: bytes) -> str:
    """A file put under feeds/<kind>/ from inside the system, as a provider would drop it (the demo's
    province, local/demo.py)."""
    key, extension = _feed_key(kind, filename)
    storage.put(key, data, content_type=UPLOAD_TYPES[extension])
    return key


def _feed_key(kind: str, filename: str) -> tuple[str, str]:
    """A new key for an uploaded file: feeds/<kind>/<Asia/Shanghai time>-<its cleaned name>."""
    if kind not in KINDS:
        raise BadFileError("数据类型只能是核酸检测或疫苗接种")
    name = clean(filename).replace("/", "_").replace("\\", "_") or "feed.csv"
    if not name.lower().endswith((".csv", ".xlsx")):
        raise BadFileError("只接受 .csv 或 .xlsx 文件")
    stem, dot, extension = name.rpartition(".")
    name = f"{stem[:MAX_NAME]}{dot}{extension}"
    return f"feeds/{kind}/{now().astimezone(SHANGHAI):%Y%m%d-%H%M%S}-{name}", extension.lower()

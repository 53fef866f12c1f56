"""Provincial feeds (§2.4, docs/feeds.md): NAT results and vaccinations dropped under feeds/nat/ and
feeds/vaccine/, ingested once per file, matched to registered people by keyed ID hash.

    S3 event ─▶ claim the file (feed id = key + ETag, conditional put with a lease)
              ─▶ stream rows (CSV in UTF-8 / UTF-8 BOM / GB18030, or .xlsx), validate each
              ─▶ per chunk: which people are registered (one batched read), write the records
                 (idempotent keys), move registered people's state forward, mark the others pending
              ─▶ the report (counts, rejected lines with reasons) ─▶ done | quarantined

A crash halfway leaves the lease to expire; the redelivered event claims the file again and writes the
same items (records are keyed by person + sampling time + source; state only moves forward).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator
from urllib.parse import unquote_plus

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.config import settings

from chalicelib.errors import NotFoundError
from chalicelib.integrations import storage
from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.idnumber import normalize_id
from chalicelib.rules.text import fold
from chalicelib.services import health
from chalicelib.services.security import keyed_hasher
from chalicelib.store.models import FeedFile, HealthRecord, PersonHealth
from chalicelib.store.values import condition_failed, plain

log = logging.getLogger(__name__)
KINDS = {"nat": (rules.NAT_ALIASES, rules.NAT_REQUIRED), "vaccine": (rules.VACCINE_ALIASES, rules.VACCINE_REQUIRED)}
KIND_LABELS = {"nat": "核酸检测", "vaccine": "疫苗接种"}
CHUNK = 2000
LEASE = timedelta(minutes=15)
MAX_PROBLEMS = 500
LATE_AFTER = timedelta(days=1)
STATUS_LABELS = {"running": "处理中", "done": "已完成", "quarantined": "已隔离"}


class BadFeedError(Exception):
    """The file as a whole cannot be read: it is quarantined, and later files go on."""


@dataclass
class Report:
    rows_read: int = 0
    matched: int = 0
    unmatched: int = 0
    rejected: int = 0
    too_old: int = 0
    newest: str | None = None
    problems: list[dict] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"line": line, "reason": reason})


def feed_id(key: str, etag: str) -> str:
    return hashlib.sha256(f"{key}#{etag}".encode()).hexdigest()[:32]


def handle_object(bucket: str, key: str, etag: str = "") -> str:
    key = unquote_plus(key)
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "feeds" or parts[1] not in KINDS or not parts[-1]:
        return f"ignored {key}"
    kind = parts[1]
    record = _claim(feed_id(key, etag), kind, key)
    if record is None:
        return f"feed {key} already handled"
    try:
        report = ingest(kind, record.feed_id, _rows(bucket, key), now())
    except BadFeedError as exc:
        storage.move(key, f"quarantine/{key}", bucket=bucket)
        _finish(record, status="quarantined", message=f"{exc}（文件已移至 quarantine/{key}）", report=Report())
        return f"feed {key} quarantined: {exc}"
    message = (f"读取 {report.rows_read} 行：匹配 {report.matched}，未匹配 {report.unmatched}，"
               f"拒收 {report.rejected}，超过14天 {report.too_old}")
    _finish(record, status="done", message=message, report=report)
    return f"feed {key} done: {message}"


def ingest(kind: str, source_id: str, rows: Iterator[tuple[int, dict]], current: datetime,
           *, registered=None, write: bool = True) -> Report:
    """Validate, match and (when `write`) store every row. `registered(keys) -> set` may be given (the
    bench passes an in-memory set); by default it is one batched read per chunk."""
    report = Report()
    person_key = keyed_hasher("person")
    check = _nat_row if kind == "nat" else _vaccine_row
    context = {"now": current, "today": current.astimezone(SHANGHAI).date(), "window": rules.sample_window(current),
               "sites": {}}
    chunk: list[tuple[str, dict]] = []
    lookup = registered or _registered
    for line, raw in rows:
        report.rows_read += 1
        try:
            values = check(raw, context)
        except rules.RowError as exc:
            report.reject(line, str(exc))
            continue
        if values is None:
            report.too_old += 1
            continue
        chunk.append((person_key(values["id_number"]), values))
        if len(chunk) >= CHUNK:
            _apply(kind, source_id, chunk, report, current, lookup, write)
            chunk = []
    if chunk:
        _apply(kind, source_id, chunk, report, current, lookup, write)
    return report


def _nat_row(raw: dict, context: dict) -> dict | None:
    checked = normalize_id(raw.get("id_number"), today=context["today"])
    if not checked.ok:
        raise rules.RowError(_id_reason(checked.error))
    sampled = rules.parse_instant(raw.get("sampled_at"), "采样时间")
    if not rules.check_sample_window(sampled, context["now"], context["window"]):
        return None
    tested_raw = raw.get("tested_at")
    tested = rules.parse_instant(tested_raw, "检测时间") if tested_raw and fold(tested_raw) else None
    site = raw.get("site")
    sites = context["sites"]  # a feed names a few hundred sites over a million rows: fold each once
    if site not in sites:
        sites[site] = fold(site)[:100] or None
    return {"id_number": checked.number, "sampled_at": sampled, "tested_at": tested,
            "result": rules.parse_result(raw.get("result")), "site": sites[site]}


def _vaccine_row(raw: dict, context: dict) -> dict:
    checked = normalize_id(raw.get("id_number"), today=context["today"])
    if not checked.ok:
        raise rules.RowError(_id_reason(checked.error))
    day = rules.parse_day(raw.get("vaccinated_on"), "接种日期")
    if day > context["today"]:
        raise rules.RowError("接种日期晚于今天")
    return {"id_number": checked.number, "dose": rules.parse_dose(raw.get("dose")), "day": day.isoformat(),
            "product": fold(raw.get("product"))[:50] or None, "unit": fold(raw.get("unit"))[:100] or None}


def _id_reason(error: str) -> str:
    return error if error.startswith("身份证号码") else f"身份证号码{error}"


def _registered(keys: list[str]) -> set[str]:
    return {k for k, state in health.states(keys, attributes=["person_key", "registered"]).items() if state.registered}


def _apply(kind, source_id, chunk, report: Report, current: datetime, lookup, write: bool) -> None:
    registered = lookup(list({key for key, _ in chunk}))
    for key, values in chunk:
        if key in registered:
            report.matched += 1
        else:
            report.unmatched += 1
        newest = values["sampled_at"].isoformat() if kind == "nat" else values["day"]
        if report.newest is None or newest > report.newest:
            report.newest = newest
    if not write:
        return
    pending = {key for key, _ in chunk if key not in registered}
    keep_until = current + timedelta(days=rules.KEEP_DAYS)
    records = []
    for key, v in chunk:
        if kind == "nat":
            records.append(HealthRecord(
                key, f"nat#{v['sampled_at'].astimezone(SHANGHAI).isoformat()}#{v['site'] or '-'}", kind="nat",
                sampled_at=v["sampled_at"], tested_at=v["tested_at"], result=v["result"], site=v["site"],
                feed_id=source_id, expires_at=v["sampled_at"] + timedelta(days=rules.KEEP_DAYS)))
        else:
            records.append(HealthRecord(key, f"vax#{v['dose']}", kind="vaccine", dose=v["dose"], vaccinated_on=v["day"],
                                        product=v["product"], unit=v["unit"], feed_id=source_id,
                                        expires_at=keep_until if key in pending else None))
    # Batched puts, not a conditional write each (a file may name 900,000 strangers). A person registered
    # in the milliseconds between the read above and this write gets a pending marker over their
    # state; the next sample or the overnight rebuild (health.rebuild per person) restores it.
    markers = [PersonHealth(key, registered=False, pending=True, expires_at=keep_until) for key in pending]
    updates = []
    latest: dict[str, dict] = {}
    for key, v in chunk:
        if key not in registered:
            continue
        if kind == "nat":
            if key not in latest or v["sampled_at"] >= latest[key]["sampled_at"]:
                latest[key] = v
        else:
            updates.append(lambda key=key, v=v: health.apply_dose(key, dose=v["dose"], day=v["day"], product=v["product"]))
    updates += [lambda key=key, v=v: health.apply_nat(key, sampled_at=v["sampled_at"], tested_at=v["tested_at"],
                                                      result=v["result"], site=v["site"]) for key, v in latest.items()]
    # Records first, then state: a crash in between leaves records a retry rewrites and state it
    # then moves forward. Writes go out in parallel: a million rows are 40,000 BatchWriteItem calls.
    _in_parallel([lambda part=part: _save_all(HealthRecord, part) for part in _parts(records)])
    _in_parallel([lambda part=part: _save_all(PersonHealth, part) for part in _parts(markers)])
    _in_parallel(updates)


def _parts(items: list, size: int = 250) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _save_all(model, items) -> None:
    with model.batch_write() as batch:
        for item in items:
            batch.save(item)


def _in_parallel(tasks: list) -> None:
    writers = settings().import_writers
    if writers <= 1 or len(tasks) <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()  # re-raise: the lease expires and the redelivered event finishes the file


# --- reading files ----------------------------------------------------------------------------------


class _Peeked(io.RawIOBase):
    """A raw stream that first returns bytes already read (to sniff the encoding), then the rest."""

    def __init__(self, head: bytes, body):
        self._head, self._body = head, body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"  # a superset of GBK and GB2312, what government exports use


def csv_rows(stream, aliases, required) -> Iterator[tuple[int, dict]]:
    head = stream.read(64 * 1024)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFeedError("文件内容是 Excel 工作簿，但扩展名是 .csv")
    text = io.TextIOWrapper(io.BufferedReader(_Peeked(head, stream), 1 << 16), encoding=sniff_encoding(head),
                            errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header, line = None, 0
        for line, cells in enumerate(reader, start=1):
            if any(c.strip() for c in cells):
                header = cells
                break
        if header is None:
            raise BadFeedError("文件为空")
        columns = _columns(header, aliases, required)
        for line, cells in enumerate(reader, start=line + 1):
            if not cells or not any(c.strip() for c in cells):
                continue
            yield line, {f: (cells[i] if i < len(cells) else "") for f, i in columns.items()}
    except UnicodeDecodeError as exc:
        raise BadFeedError(f"文件编码无法识别（第 {exc.start} 字节附近）：请导出为 UTF-8 或 GBK 编码的 CSV")
    except csv.Error as exc:
        raise BadFeedError(f"CSV 格式错误：{exc}")


def xlsx_rows(data: bytes, aliases, required) -> Iterator[tuple[int, dict]]:
    from chalicelib.errors import BadFileError
    from chalicelib.workbooks.reader import is_blank, open_sheet
    from chalicelib.workbooks.safety import check_xlsx

    try:
        check_xlsx(data)
        sheet = open_sheet(data, aliases, required=required)
    except BadFileError as exc:
        raise BadFeedError(exc.message)
    for line, cells in sheet.rows:
        if not is_blank(cells):
            yield line, {f: (cells[c] if c < len(cells) else None) for f, c in sheet.columns.items()}


def _rows(bucket: str, key: str) -> Iterator[tuple[int, dict]]:
    kind = key.split("/")[1]
    aliases, required = KINDS[kind]
    name = key.lower()
    if name.endswith(".xlsx"):
        return xlsx_rows(storage.get(key, bucket=bucket), aliases, required)
    if name.endswith((".csv", ".txt")):
        return csv_rows(storage.stream(key, bucket=bucket), aliases, required)
    raise BadFeedError("只接受 .csv 或 .xlsx 文件")


def _columns(header: list[str], aliases, required) -> dict[str, int]:
    lookup = {fold(n).replace(" ", "").casefold(): f for f, names in aliases.items() for n in names}
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        found = lookup.get(fold(cell).replace(" ", "").casefold())
        if found and found not in columns:
            columns[found] = index
    missing = [aliases[f][0] for f in required if f not in columns]
    if missing:
        raise BadFeedError("表头缺少列：" + "、".join(missing))
    return columns


# --- the file record ---------------------------------------------------------------------------------


def _claim(identifier: str, kind: str, key: str) -> FeedFile | None:
    current = now()
    record = FeedFile(identifier, kind=kind, object_key=key, filename=key.rsplit("/", 1)[-1][:200],
                      received_at=current, lease_until=current + LEASE)
    try:
        record.save(condition=FeedFile.feed_id.does_not_exist())
        return record
    except PutError as exc:
        if not condition_failed(exc):
            raise
    try:  # the same file again: take it over only if an earlier attempt died (lease expired)
        record.update(actions=[FeedFile.lease_until.set(current + LEASE)],
                      condition=(FeedFile.status == "running") & (FeedFile.lease_until < current))
        return record
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise


def _finish(record: FeedFile, *, status: str, message: str, report: Report) -> None:
    record.update(actions=[
        FeedFile.status.set(status), FeedFile.message.set(message), FeedFile.finished_at.set(now()),
        FeedFile.lease_until.remove(), FeedFile.rows_read.set(report.rows_read), FeedFile.matched.set(report.matched),
        FeedFile.unmatched.set(report.unmatched), FeedFile.rejected.set(report.rejected),
        FeedFile.too_old.set(report.too_old), FeedFile.problems.set(report.problems),
        FeedFile.newest_at.set(report.newest) if report.newest else FeedFile.newest_at.remove()])


# --- what the console reads --------------------------------------------------------------------------


def public(record: FeedFile, *, with_problems: bool = False) -> dict:
    body = {"id": record.feed_id, "kind": record.kind, "kind_label": KIND_LABELS.get(record.kind, record.kind),
            "object_key": record.object_key, "filename": record.filename, "status": record.status,
            "status_label": STATUS_LABELS.get(record.status, record.status),
            "received_at": iso(record.received_at), "finished_at": iso(record.finished_at),
            "rows_read": int(record.rows_read or 0), "matched": int(record.matched or 0),
            "unmatched": int(record.unmatched or 0), "rejected": int(record.rejected or 0),
            "too_old": int(record.too_old or 0), "newest_at": record.newest_at, "message": record.message or ""}
    if with_problems:
        body["problems"] = [plain(p) for p in record.problems or []]
    return body


def recent(kind: str, *, limit: int = 50) -> list[FeedFile]:
    return list(FeedFile.by_kind.query(kind, scan_index_forward=False, limit=limit))


def get(identifier: str) -> FeedFile:
    try:
        return FeedFile.get(identifier)
    except DoesNotExist:
        raise NotFoundError("数据文件记录不存在")


def freshness() -> dict:
    """数据更新至: per kind, the newest data actually ingested and when the last file arrived; a kind
    whose last file is more than a day old is flagged late."""
    current = now()
    out = {}
    for kind in KINDS:
        files = [f for f in recent(kind, limit=30) if f.status == "done"]
        newest = max((f.newest_at for f in files if f.newest_at), default=None)
        last = max((f.received_at for f in files), default=None)
        if newest and kind == "nat":
            newest = iso(datetime.fromisoformat(newest))
        out[kind] = {"data_until": newest, "last_received_at": iso(last),
                     "late": last is None or current - last > LATE_AFTER}
    return out


def upload(kind: str, filename: str, data: bytes) -> str:
    """The operator's upload (also how the demo drops a feed): the same S3 path a provider uses."""
    from chalicelib.errors import BadFileError

    if kind not in KINDS:
        raise BadFileError("数据类型只能是 nat 或 vaccine")
    name = (filename or "").strip().replace("/", "_") or "feed.csv"
    if not name.lower().endswith((".csv", ".xlsx")):
        raise BadFileError("只接受 .csv 或 .xlsx 文件")
    if not data:
        raise BadFileError("文件为空")
    key = f"feeds/{kind}/{now().astimezone(SHANGHAI):%Y%m%d-%H%M%S}-{name}"
    storage.put(key, data, content_type="text/csv" if name.lower().endswith(".csv") else "application/octet-stream")
    return key

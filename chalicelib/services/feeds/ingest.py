"""Provincial feeds (§2.4, docs/feeds.md): NAT results and vaccinations dropped under feeds/nat/ and
feeds/vaccine/, ingested once per file, matched to registered people by keyed ID hash — the file's side:

    S3 event ─▶ claim the file (feed id = key + ETag, conditional put with a lease)
              ─▶ plan its parts (parts.py: a workbook or a CSV up to 6 MB is one part, applied here;
                 a larger CSV is cut at line ends into parts run side by side through the import queue)
              ─▶ each part: read (reader.py), validate (rows.py), match and store (apply.py)
              ─▶ the last part to end sums the parts into the file's report ─▶ done | quarantined | failed

What the console reads of it (数据接入: the files and their reports, freshness) and 运维's upload are
here too. The claim, lease and end are services/jobs/lifecycle.py's, shared with every background job.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Iterator

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import BadFileError, NotFoundError, TooLargeError
from chalicelib.integrations import storage
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.text import clean
from chalicelib.services.feeds import parts
from chalicelib.services.feeds.apply import ingest  # noqa: F401 - the rows' side, as the bench and tests call it
from chalicelib.services.feeds.reader import BadFeedError, Block, xlsx_blocks
from chalicelib.services.feeds.rows import Report
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.store.models import FeedFile
from chalicelib.store.values import plain

log = logging.getLogger(__name__)
KINDS = parts.KINDS
KIND_LABELS = {"nat": "核酸检测", "vaccine": "疫苗接种"}
MAX_XLSX_BYTES = 10 << 20  # calamine holds the sheet: ~300,000 rows stay well inside the function's memory
LATE_AFTER = timedelta(days=1)
STATUS_LABELS = {"running": "处理中", "done": "已完成", "quarantined": "已隔离", "failed": "失败"}


def feed_id(key: str, etag: str) -> str:
    return hashlib.sha256(f"{key}#{etag}".encode()).hexdigest()[:32]


def record_for(key: str, etag: str) -> FeedFile | None:
    """The file a feed event is for (dead letters)."""
    try:
        return FeedFile.get(feed_id(key, etag))
    except DoesNotExist:
        return None


def handle_object(bucket: str, key: str, etag: str = "", *, delivery: int = 1) -> str:
    """A dropped file: claimed once (its id is its key and ETag), planned into parts (parts.py), and a
    file of one part — a workbook, or a CSV up to parts.PART_BYTES — applied right here."""
    pieces = key.split("/")
    if len(pieces) < 3 or pieces[0] != "feeds" or pieces[1] not in KINDS or not pieces[-1]:
        return f"ignored {key}"
    kind = pieces[1]
    record = FeedFile(feed_id(key, etag), kind=kind, object_key=key, filename=key.rsplit("/", 1)[-1][:200],
                      received_at=now())
    if not jobs.claim(record, create=True):
        return f"feed {key} already handled"
    with jobs.attempt(record, delivery=delivery):
        whole, blocks = _whole(bucket, key)
        if blocks is False:  # neither CSV nor workbook: the file's own refusal, nothing to cut
            return _refuse(record, "只接受 .csv 或 .xlsx 文件")
        size = storage.s3().head_object(Bucket=bucket, Key=key)["ContentLength"]
        try:
            planned = parts.plan(bucket, record, size=size, whole=whole)
        except BadFeedError as exc:
            return _refuse(record, str(exc))
        if len(planned) == 1:
            return parts.run(bucket, record, planned[0], delivery=delivery, blocks=blocks)
        record.update(actions=[FeedFile.lease_until.set(now() + parts.PARTS_LEASE),
                               FeedFile.message.set(f"文件较大，分 {len(planned)} 部分同时处理中")])
        parts.announce(planned)
    return f"feed {key}: {len(planned)} parts"


def _whole(bucket: str, key: str):
    """(read whole?, its rows when read here): a workbook is one part (a zip is read whole); a CSV is
    read by its parts; anything else is refused (rows False)."""
    name = key.lower()
    if name.endswith(".xlsx"):
        try:
            return True, _workbook(bucket, key)
        except BadFeedError as exc:
            return True, _Failing(exc)
    if name.endswith((".csv", ".txt")):
        return False, None
    return True, False


class _Failing:
    """Rows that fail as soon as they are read: the part reports the refusal like any unreadable file."""

    def __init__(self, exc: BadFeedError):
        self.exc = exc

    def __iter__(self):
        raise self.exc


def _refuse(record: FeedFile, reason: str) -> str:
    storage.move(record.object_key, f"quarantine/{record.object_key}")
    _finish(record, status="quarantined", message=f"{reason}（文件已移至 quarantine/{record.object_key}）",
            report=Report())
    return f"feed {record.object_key} quarantined: {reason}"


# --- reading files ----------------------------------------------------------------------------------


def _workbook(bucket: str, key: str) -> Iterator[Block]:
    aliases, required = KINDS[key.split("/")[1]]
    data = storage.stream(key, bucket=bucket).read(MAX_XLSX_BYTES + 1)
    if len(data) > MAX_XLSX_BYTES:  # a workbook is read whole (zip), so its size is bounded; a CSV is not
        raise BadFeedError(f"Excel 文件超过 {MAX_XLSX_BYTES >> 20} MB（约 30 万行）：请导出为 CSV 后再放入"
                           "（CSV 逐块读取，不限大小）")
    return xlsx_blocks(data, aliases, required)


# --- the file record ---------------------------------------------------------------------------------


def _finish(record: FeedFile, *, status: str, message: str, report: Report) -> None:
    jobs.finish(record, status=status, message=message, actions=parts.report_actions(report))


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

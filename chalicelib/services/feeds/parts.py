"""A feed file in parts: a province's file of 10,000,000 rows (~1 GB) is cut at line ends into byte
ranges of PART_BYTES, each read and applied by its own function invocation, side by side through the
import queue, each well inside Lambda's 15 minutes and a few hundred MB:

    file event ─▶ plan: cut points (a ranged read at each cut finds the next newline), one FeedPart per
                  range (conditional puts: a redelivered event plans the same parts), a mark per part
                  under uploads/feed-parts/<feed id>/<n>.json — or, for a file of one part, run it now
    mark event ─▶ claim the part (jobs life cycle) ─▶ read its range (the header line put before it)
                  ─▶ apply.ingest ─▶ strangers written ─▶ the part's report ─▶ done | failed
              └─▶ whoever ends the last part sums the parts into the file's report (once: conditional)

A part delivered twice finds itself done; one that fails is retried by the queue and, on its last
delivery, ends failed with the reason — the file then ends failed, naming the part, with every other
part's rows applied and reported. Lines in a part's problems are counted from the part's first line
(`part`, `line`); a file of one part keeps the file's own line numbers.
"""
from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Iterator

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.integrations import storage
from chalicelib.rules import feeds as rules
from chalicelib.rules.clock import now
from chalicelib.services.feeds import apply
from chalicelib.services.feeds.reader import MAX_LINE_BYTES, BadFeedError, Block, csv_blocks
from chalicelib.services.feeds.rows import Report
from chalicelib.services.health import roster
from chalicelib.services.health.strangers import Buffer
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.store.feeds import FeedPart
from chalicelib.store.models import FeedFile
from chalicelib.store.values import condition_failed, plain

KINDS = {"nat": (rules.NAT_ALIASES, rules.NAT_REQUIRED), "vaccine": (rules.VACCINE_ALIASES, rules.VACCINE_REQUIRED)}
MARKS = "uploads/feed-parts/"
PART_BYTES = 6 << 20  # ~90,000 rows: read, matched and written inside a minute (docs/performance.md)
HEAD_BYTES = 64 * 1024
PARTS_LEASE = timedelta(hours=2)  # the file's own lease while its parts run (each part has its own)
KEEP = timedelta(days=30)
ENDED = ("done", "failed", "quarantined")


def plan(bucket: str, record: FeedFile, *, size: int, whole: bool) -> list[FeedPart]:
    """The file's parts, written once (a redelivered event finds them): one part when `whole` (a
    workbook, read whole) or small, else ranges of PART_BYTES cut just after a newline."""
    cuts = [0]
    if not whole:
        for k in range(1, -(-size // PART_BYTES)):
            position = k * PART_BYTES
            window = _range(bucket, record.object_key, position, position + MAX_LINE_BYTES)
            newline = window.find(b"\n")
            if newline < 0:
                raise BadFeedError("文件中有超过 1 MB 的一行：不是逐行的 CSV 文件")
            if position + newline + 1 > cuts[-1]:
                cuts.append(position + newline + 1)
    ranges = [(start, end) for start, end in zip(cuts, cuts[1:] + [size]) if end > start] or [(0, size)]
    expires = now() + KEEP
    parts = []
    for n, (start, end) in enumerate(ranges, start=1):
        part = FeedPart(record.feed_id, n, start=start, end=end, status="queued", attempts=0, expires_at=expires)
        try:
            part.save(condition=FeedPart.feed_id.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
            part = FeedPart.get(record.feed_id, n, consistent_read=True)
        parts.append(part)
    return parts


def announce(parts: list[FeedPart]) -> None:
    """One mark per part not yet done: its S3 event runs the part in the import worker."""
    for part in parts:
        if part.status not in ENDED:
            storage.put(mark_key(part.feed_id, int(part.part)), json.dumps({"feed_id": part.feed_id}).encode(),
                        content_type="application/json")


def mark_key(feed_id: str, n: int) -> str:
    return f"{MARKS}{feed_id}/{n}.json"


def record_for(key: str) -> FeedPart | None:
    """The part a mark is for (dead letters: what failed, and what a retry reopens)."""
    feed, _, n = key.removeprefix(MARKS).removesuffix(".json").partition("/")
    try:
        return FeedPart.get(feed, int(n))
    except (DoesNotExist, ValueError):
        return None


def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    """A part's mark: run the part it names."""
    part = record_for(key)
    if part is None:
        return f"feed part {key}: no such part"
    try:
        record = FeedFile.get(part.feed_id, consistent_read=True)
    except DoesNotExist:
        return f"feed part {key}: no such file"
    return run(bucket, record, part, delivery=delivery)


def run(bucket: str, record: FeedFile, part: FeedPart, *, delivery: int, blocks=None) -> str:
    """Claim the part and apply its rows; then, if it was the last, end the file. `blocks`: the rows
    when the caller has read them already (a workbook)."""
    if not jobs.claim(part):
        if part.status in ENDED:  # the file was reopened (运维's retry) after its parts had all ended
            complete(record.feed_id)
        return f"feed part {part.feed_id}/{part.part}: already {part.status}"
    label = f"feed part {part.feed_id}/{part.part}"
    strangers = Buffer(record.kind, record.feed_id, int(part.part), record.received_at)
    try:
        _work(bucket, record, part, strangers, delivery=delivery, blocks=blocks)
    finally:  # ended, or failed on its last delivery: the file may be complete now
        complete(record.feed_id)
    return f"{label} {part.status}: {part.message}"


def _work(bucket: str, record: FeedFile, part: FeedPart, strangers: Buffer, *, delivery: int, blocks) -> None:
    with jobs.attempt(part, delivery=delivery):
        shift = 0
        try:
            if blocks is None:
                blocks, shift = read(bucket, record, part)
            report = apply.ingest(record.kind, record.feed_id, blocks, now(), strangers=strangers)
            status, message = "done", summary(record.kind, report)
        except BadFeedError as exc:  # unreadable from here on: the rows before it are applied and reported
            report, status, message = getattr(exc, "report", None) or Report(), "quarantined", str(exc)
        for problem in report.problems:  # a later part's lines from its own first line (its header is borrowed)
            problem["line"] -= shift
        strangers.flush()
        _finish(part, status=status, message=message, report=report)
        part.status, part.message = status, message


def read(bucket: str, record: FeedFile, part: FeedPart) -> tuple[Iterator[Block], int]:
    """The part's rows, and how many lines before its first line the reader counts: its byte range,
    after the file's header line when it is not the first part."""
    aliases, required = KINDS[record.kind]
    if int(part.start) == 0:
        return csv_blocks(_Ranged(bucket, record.object_key, 0, int(part.end)), aliases, required), 0
    prefix = _header_line(_range(bucket, record.object_key, 0, HEAD_BYTES))
    body = _Ranged(bucket, record.object_key, int(part.start), int(part.end), prefix=prefix)
    return csv_blocks(body, aliases, required), prefix.count(b"\n")


def _header_line(head: bytes) -> bytes:
    """The file's bytes up to the end of its header line (blank lines and a BOM before it kept)."""
    start = 0
    while True:
        end = head.find(b"\n", start)
        if end < 0:
            raise BadFeedError("文件表头超过 64 KB")
        if head[start:end].strip():
            return head[:end + 1]
        start = end + 1


def complete(feed_id: str) -> None:
    """The file's report is the sum of its parts, written by whoever ends the last part (the update is
    conditional on the file still running, so exactly once)."""
    parts = list(FeedPart.query(feed_id, consistent_read=True))
    if not parts or any(p.status not in ENDED for p in parts):
        return
    record = FeedFile.get(feed_id, consistent_read=True)
    total = Report()
    for p in parts:
        total.rows_read += int(p.rows_read or 0)
        total.matched += int(p.matched or 0)
        total.unmatched += int(p.unmatched or 0)
        total.rejected += int(p.rejected or 0)
        total.too_old += int(p.too_old or 0)
        total.repeated += int(p.repeated or 0)
        if p.newest_at:
            total.saw(p.newest_at)
        for problem in p.problems or []:
            if len(total.problems) < 500:
                total.problems.append(plain(problem) | ({"part": int(p.part)} if len(parts) > 1 else {}))
    status, message = "done", summary(record.kind, total)
    unreadable = [p for p in parts if p.status == "quarantined"]
    failed = [p for p in parts if p.status == "failed"]
    where = (lambda p: f"第 {int(p.part)} 部分") if len(parts) > 1 else (lambda p: "")
    if unreadable:  # every part has ended: nobody reads the file any more, it may move
        storage.move(record.object_key, f"quarantine/{record.object_key}")
        before = f"；此前的 {total.rows_read} 行已按规则处理" if total.rows_read else ""
        status = "quarantined"
        message = "；".join(f"{where(p)}{p.message}" for p in unreadable[:3]) + \
            f"（文件已移至 quarantine/{record.object_key}）{before}"
    elif failed:
        status = "failed"
        message = "；".join(f"{where(p) or '文件'}处理失败：{p.message}" for p in failed[:3]) + f"。其余部分{message}"
    try:  # a file that failed may end again: 运维 retried its failed part from the dead letters
        jobs.finish(record, status=status, message=message, actions=report_actions(total),
                    condition=FeedFile.status.is_in("running", "failed"))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return
    if total.matched:
        roster.mark(roster.ALL)  # the statistics' read model, rebuilt in the background


def summary(kind: str, report: Report) -> str:
    message = f"读取 {report.rows_read} 行：匹配 {report.matched}，未匹配 {report.unmatched}，拒收 {report.rejected}"
    if kind == "nat":  # only samples older than the 14 days kept are dropped; a dose is kept whatever its date
        message += f"，超过14天 {report.too_old}"
    if report.repeated:
        message += f"，重复 {report.repeated}"
    return message


def report_actions(report: Report, model=FeedFile) -> list:
    return [model.rows_read.set(report.rows_read), model.matched.set(report.matched),
            model.unmatched.set(report.unmatched), model.rejected.set(report.rejected),
            model.too_old.set(report.too_old), model.repeated.set(report.repeated),
            model.problems.set(report.problems),
            model.newest_at.set(report.newest) if report.newest else model.newest_at.remove()]


def _finish(part: FeedPart, *, status: str, message: str, report: Report) -> None:
    jobs.finish(part, status=status, message=message, actions=report_actions(report, FeedPart))


def _range(bucket: str, key: str, start: int, end: int) -> bytes:
    """Bytes start … end-1 of the object (fewer at its end)."""
    answer = storage.s3().get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
    return answer["Body"].read()


class _Ranged(io.RawIOBase):
    """The object's bytes start … end-1 as a stream (one ranged GET, read as it arrives), after `prefix`."""

    def __init__(self, bucket: str, key: str, start: int, end: int, *, prefix: bytes = b""):
        self.prefix = prefix
        self.body = storage.s3().get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"] \
            if end > start else io.BytesIO()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            head, self.prefix = self.prefix, b""
            more = self.body.read(size - len(head)) if size > len(head) else b""
            return head + more
        return self.body.read(size) if size and size > 0 else self.body.read()

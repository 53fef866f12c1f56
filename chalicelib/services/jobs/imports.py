"""Import jobs. An import is two steps, and the API never carries the file:

1. `start`: the caller asks for an upload (file name and size). The job is written `queued`, with the
   time its file must have arrived by (`upload_until`), and the caller gets a presigned POST for exactly
   uploads/<kind>/<job id>.xlsx (storage.upload_form: that key, 1 … MAX_BYTES bytes, the .xlsx type).
2. The browser posts the file to S3 itself; S3's event runs the import once. S3 delivers events at
   least once, so the handler claims the job with a conditional write before doing anything, then checks
   the file as the API used to (size, .xlsx, not encrypted, not a zip bomb) and reports a refusal on the
   job in the same words:

    queued ──claim──▶ running ──▶ done | failed
      │                  │ lease expired (the worker died) ──claim again──▶ running
      │ upload_until passed, no file in S3 ──read (get_for)──▶ failed (NEVER_ARRIVED)

A redelivered event for a finished job does nothing. A retried job re-applies the same rows; every
write is an upsert by identity, so the data ends the same (only the created/updated split may shift).
The claim, lease and end are services/jobs/lifecycle.py's, shared with feed files.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable
from urllib.parse import unquote_plus

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.errors import BadFileError, DomainError, NotFoundError, TooLargeError
from chalicelib.integrations import storage
from chalicelib.rules.clock import iso, now
from chalicelib.rules.text import clean
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.services.identity.auth import Principal, principal_for
from chalicelib.store.models import ImportJob
from chalicelib.store.values import condition_failed
from chalicelib.workbooks.enterprise_book import XLSX
from chalicelib.workbooks.safety import check_xlsx
from chalicelib.workbooks.writer import write_table

KEEP_JOBS = timedelta(days=30)
STATUS_LABELS = {"queued": "排队中", "running": "导入中", "done": "已完成", "failed": "失败"}
# The largest workbook one may upload. What bounds an import's memory and time is its rows (each reader
# refuses past its MAX_ROWS, and safety.py past 400 MB inflated); the bytes bound what S3 takes and the
# worker downloads. docs/performance.md measures the largest allowed workbook in one invocation.
MAX_BYTES = 100 << 20
UPLOAD_SECONDS = 600  # how long the presigned POST may be used to begin the upload
# An upload begun just before the POST expires may still be arriving: S3 checks the expiry when the
# request starts, and 100 MB over a slow link takes minutes. Past this, a job with no file ends failed.
UPLOAD_GRACE = timedelta(minutes=30)
TOO_LARGE = "文件超过 {mb} MB，请拆分后分批导入"
NEVER_ARRIVED = "未收到导入文件：文件未在上传有效期内传到服务器（网络中断、页面已关闭或上传被拒绝），请重新导入"


@dataclass
class Outcome:
    total: int = 0
    created: int = 0
    updated: int = 0
    # (original cells, 异常信息, 1-based row number in the uploaded sheet or None)
    failures: list[tuple[list[object], str, int | None]] = field(default_factory=list)
    failure_headers: list[str] = field(default_factory=list)


Progress = Callable[[int, int], None]  # (rows in the file, rows handled so far)
Processor = Callable[[Principal, bytes, Progress], Outcome]
def start(principal: Principal, *, kind: str, filename: str, size: int) -> tuple[ImportJob, dict]:
    """A job waiting for its file, and the presigned POST that puts the file where its event finds it.
    What can be known before the file exists is checked here (its name, the size it declares); the
    file itself is checked by the worker (handle_object)."""
    filename = clean(filename) or "导入文件.xlsx"  # a TextError (not text) is answered naming the request's field
    if not filename.lower().endswith(".xlsx"):
        raise BadFileError("请上传 .xlsx 格式的 Excel 文件（旧版 .xls 请先另存为 .xlsx）")
    if size <= 0:
        raise BadFileError("文件为空，请选择填写好的 .xlsx 文件")
    if size > MAX_BYTES:
        raise TooLargeError(TOO_LARGE.format(mb=MAX_BYTES >> 20))
    job_id = uuid.uuid4().hex
    created = now()
    key = f"uploads/{kind}/{job_id}.xlsx"
    form, expires = storage.upload_form(key, max_bytes=MAX_BYTES, content_type=XLSX, seconds=UPLOAD_SECONDS)
    job = ImportJob(job_id, kind=kind, owner=principal.id, owner_role=principal.role, filename=filename[:200],
                    object_key=key, created_at=created, expires_at=created + KEEP_JOBS,
                    upload_until=expires + UPLOAD_GRACE)
    job.save()  # before the file can exist, so its event always finds its job
    return job, {**form, "expires_at": iso(expires), "max_bytes": MAX_BYTES}


def handle_object(bucket: str, key: str, *, processors: dict[str, Processor], delivery: int = 1) -> str:
    """Run the import an S3 event announces by the processor `processors` names for its kind (the one
    table of background work, chalicelib/events.py IMPORTS; `delivery`: SQS's receive count). Returns
    what happened."""
    key = unquote_plus(key)
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads" or not parts[2].endswith(".xlsx"):
        return f"ignored {key}"
    job_id = parts[2][:-5]
    try:
        job = ImportJob.get(job_id, consistent_read=True)
    except DoesNotExist:
        return f"no job for {key}"
    if not jobs.claim(job):
        return f"job {job_id} already {job.status}"
    with jobs.attempt(job, delivery=delivery):
        try:
            principal = principal_for(job.owner, job.owner_role)
            data = _checked_file(bucket, key)
            outcome = processors[job.kind](principal, data, _progress_of(job))
        except DomainError as exc:
            _finish(job, status="failed", message=exc.message)
            return f"job {job_id} failed: {exc.message}"
        return _conclude(job, outcome)


def _checked_file(bucket: str, key: str) -> bytes:
    """The uploaded file, refused in the words the API used when it received files itself: past the size
    (S3's content-length-range holds on AWS; it is checked again before a byte is read), not a plain
    .xlsx, encrypted, or inflating past what safety.py allows."""
    size = storage.size(key, bucket=bucket)
    if size is None:  # the event names an object that is gone: nothing to import
        raise BadFileError(NEVER_ARRIVED)
    if size > MAX_BYTES:
        raise TooLargeError(TOO_LARGE.format(mb=MAX_BYTES >> 20))
    data = storage.get(key, bucket=bucket)
    check_xlsx(data)
    return data


def _conclude(job: ImportJob, outcome: Outcome) -> str:
    job_id = job.job_id
    failure_key = None
    if outcome.failures:
        failure_key = f"results/{job_id}-failures.xlsx"
        headers = outcome.failure_headers
        width = len(headers) - 2  # the original columns, then 异常信息 and 原表行号
        outcome.failures.sort(key=lambda f: f[2] or 0)
        rows = ([*[_as_text(c) for c in cells], *([""] * (width - len(cells)))][:width]
                + [reason, str(row) if row else ""] for cells, reason, row in outcome.failures)
        storage.put(failure_key, write_table("导入失败数据", headers, rows), content_type=XLSX)
    message = (f"共 {outcome.total} 行，新增 {outcome.created} 条，更新 {outcome.updated} 条，"
               f"失败 {len(outcome.failures)} 条")
    _finish(job, status="done", message=message, total=outcome.total, processed=outcome.total, created=outcome.created,
            updated=outcome.updated, failed=len(outcome.failures), failure_key=failure_key)
    return f"job {job_id} done: {message}"


def get_for(principal: Principal, job_id: str) -> ImportJob:
    try:
        job = ImportJob.get(job_id)
    except DoesNotExist:
        raise NotFoundError("导入任务不存在")
    if not principal.is_subject(role=job.owner_role, subject=job.owner):
        raise NotFoundError("导入任务不存在")
    return _never_arrived(jobs.settle(job))


def _never_arrived(job: ImportJob) -> ImportJob:
    """On read: a job still waiting for its file past `upload_until` ends failed, unless the file is in
    S3 (its event is on its way through the queue, which may be busy). Conditional on `queued`, so an
    event that claimed the job meanwhile wins. (A transition of lifecycle.py's diagram, kept here while
    that module is being reworked: queued ──deadline, no file──▶ failed.)"""
    if job.status != "queued" or job.upload_until is None or now() <= job.upload_until:
        return job
    if storage.size(job.object_key) is not None:
        return job
    try:
        job.update(actions=[ImportJob.status.set("failed"), ImportJob.message.set(NEVER_ARRIVED),
                            ImportJob.finished_at.set(now())], condition=ImportJob.status == "queued")
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        job.refresh(consistent_read=True)
    return job


def failures_for(principal: Principal, job_id: str) -> bytes:
    job = get_for(principal, job_id)
    if not job.failure_key:
        raise NotFoundError("该导入没有失败数据")
    return storage.get(job.failure_key)


def public(job: ImportJob) -> dict:
    return {
        "id": job.job_id, "kind": job.kind, "filename": job.filename, "status": job.status,
        "status_label": STATUS_LABELS.get(job.status, job.status),
        "total": int(job.total or 0), "processed": int(job.processed or 0), "created": int(job.created or 0), "updated": int(job.updated or 0),
        "failed": int(job.failed or 0), "message": job.message or "", "has_failures": bool(job.failure_key),
        "created_at": iso(job.created_at), "finished_at": iso(job.finished_at),
    }


def _progress_of(job: ImportJob) -> Progress:
    """A callback the processor calls as it goes; writes at most every 2 seconds (the page polls)."""
    last = [0.0]

    def report(total: int, processed: int) -> None:
        moment = time.monotonic()
        if moment - last[0] < 2 and processed:
            return
        last[0] = moment
        job.update(actions=[ImportJob.total.set(total), ImportJob.processed.set(processed)])

    return report


def _as_text(value: object) -> object:
    """Failure rows keep what the person typed; a number cell shows as Excel showed it."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return "" if value is None else value


def _finish(job: ImportJob, *, status: str, message: str, **counts) -> None:
    jobs.finish(job, status=status, message=message,
                actions=[getattr(ImportJob, name).set(value) for name, value in counts.items() if value is not None])


PREFIX = "uploads/"  # the workbooks, uploads/<kind>/<job id>.xlsx: what no other work's prefix claims (events.py)


def record_for(key: str) -> ImportJob | None:
    """The job an uploaded workbook is for (dead letters: what failed, and what a retry reopens)."""
    try:
        return ImportJob.get(key.rsplit("/", 1)[-1].split(".", 1)[0])
    except DoesNotExist:
        return None

"""Exports built in the background: a request becomes a job and a small object under
uploads/exports/<job id>.json; the S3 event builds the workbook once, puts it under exports/<job id>.xlsx,
and the page that polls the job is handed a presigned link to it.

    POST …/export ──▶ job queued ──S3 event──▶ running ──▶ done (exports/<id>.xlsx) | failed (reason)
    GET /api/exports/<id> ──▶ status; when done, a link valid for LINK_SECONDS (audited: who took it)

Why not in the request: the whole ledger at 100,000 people takes ~45 s to build, past API Gateway's 29 s,
its workbook is larger than a Lambda response may be (6 MB), and while it is built the process answers no
one else. The job shares the import jobs' table and life cycle (services/jobs/lifecycle.py), so a
redelivered event builds it once, a dead worker's job is taken again, and a job never stays 生成中.

Each view declares what its export is (an `Export` with its kind); the view starts it with that
declaration, and the worker finds the builder by the job's kind in the one table of background work
(chalicelib/events.py EXPORTS) — nothing is registered by importing a module. The builder reads with the
requester's scope as it is when the job runs; what the hand-out is audited as is fixed when it is asked for.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import DomainError, NotFoundError
from chalicelib.integrations import storage
from chalicelib.rules.clock import iso, now
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal, principal_for
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.store.models import ImportJob
from chalicelib.workbooks.enterprise_book import XLSX

PREFIX = "uploads/exports/"
KEEP_JOBS = timedelta(days=1)  # the workbooks under exports/ expire after a day as well (infra/stateful.json)
LINK_SECONDS = 300
STATUS_LABELS = {"queued": "排队中", "running": "生成中", "done": "已生成", "failed": "失败"}


@dataclass(frozen=True)
class Export:
    kind: str  # the job's kind, "export:<kind>": how the worker finds `build` (events.EXPORTS)
    # what the browser saves it as: a fixed name, or one made from the request when it is queued, e.g.
    # lambda principal, params: filenames.dated(f"{name}台账", filenames.where(principal.town, params["town"]))
    filename: str | Callable[[Principal, dict], str]
    action: str  # the audit log's action when the file is handed out
    build: Callable[[Principal, dict], tuple[bytes, int]]  # (workbook, rows)
    scope: Callable[[Principal, dict], str]  # the audit log's 范围


def start(principal: Principal, export: Export, params: dict[str, str]) -> ImportJob:
    """Queue one export; the caller has checked that `params` are in the principal's scope."""
    job_id = uuid.uuid4().hex
    created = now()
    named = export.filename
    filename = named(principal, params) if callable(named) else named  # named now: the day it was asked for
    job = ImportJob(job_id, kind=f"export:{export.kind}", owner=principal.id, owner_role=principal.role,
                    filename=filename, object_key=f"{PREFIX}{job_id}.json",
                    params=json.dumps(params, ensure_ascii=False), created_at=created,
                    expires_at=created + KEEP_JOBS, audit_action=export.action,
                    audit_scope=export.scope(principal, params))
    job.save()  # before the object exists, so the event always finds its job
    storage.put(job.object_key, job.params.encode(), content_type="application/json",
                metadata={"job-id": job_id})
    return job


def handle_object(bucket: str, key: str, *, kinds: dict[str, Export], delivery: int = 1) -> str:
    """Build the export an S3 event announces, by the builder `kinds` names for its job's kind. Returns
    what happened."""
    if not key.startswith(PREFIX) or not key.endswith(".json"):
        return f"ignored {key}"
    job_id = key[len(PREFIX):-5]
    try:
        job = ImportJob.get(job_id, consistent_read=True)
    except DoesNotExist:
        return f"no job for {key}"
    if not jobs.claim(job):
        return f"export {job_id} already {job.status}"
    kind = kinds.get(job.kind.removeprefix("export:"))
    with jobs.attempt(job, delivery=delivery):
        try:
            if kind is None:
                raise DomainError("不支持的导出类型")
            data, rows = kind.build(principal_for(job.owner, job.owner_role), json.loads(job.params or "{}"))
        except DomainError as exc:
            jobs.finish(job, status="failed", message=exc.message)
            return f"export {job_id} failed: {exc.message}"
        result_key = f"exports/{job_id}.xlsx"
        storage.put(result_key, data, content_type=XLSX)
        jobs.finish(job, status="done", message=f"共 {rows} 行", actions=[
            ImportJob.total.set(rows), ImportJob.processed.set(rows), ImportJob.result_key.set(result_key)])
    return f"export {job_id} done: {rows} rows"


def record_for(key: str) -> ImportJob | None:
    """The job an export's request object is for (dead letters)."""
    try:
        return ImportJob.get(key.removeprefix(PREFIX).removesuffix(".json"))
    except DoesNotExist:
        return None


def get_for(principal: Principal, job_id: str) -> ImportJob:
    try:
        job = ImportJob.get(job_id)
    except DoesNotExist:
        raise NotFoundError("导出任务不存在或已过期")
    if not job.kind.startswith("export:") or not principal.is_subject(role=job.owner_role, subject=job.owner):
        raise NotFoundError("导出任务不存在或已过期")
    return jobs.settle(job)


def public(principal: Principal, job: ImportJob) -> dict:
    """The job as the page sees it; a finished one carries its link, and handing it out is audited."""
    out = {"id": job.job_id, "status": job.status, "status_label": STATUS_LABELS.get(job.status, job.status),
           "filename": job.filename, "rows": int(job.total or 0), "message": job.message or "",
           "created_at": iso(job.created_at), "finished_at": iso(job.finished_at), "url": None}
    if job.status == "done" and job.result_key:
        params = json.loads(job.params or "{}")
        out["url"] = storage.link(job.result_key, filename=job.filename, seconds=LINK_SECONDS)
        audit.record(principal, action=job.audit_action or "下载导出文件", target=params.get("q") or None,
                     scope=job.audit_scope or "", rows=out["rows"])
    return out

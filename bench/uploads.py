"""Uploads past 6 MB (issue 24, item 7), for docs/performance.md: the largest workbook an import allows,
through the path a page takes — the form from the API, the file through the /s3/ relay into the embedded
S3, its event to the import worker — on the embedded stack (DynamoDB Local, the worker a process of its
own, as a Lambda instance is):

    staff_import_largest_rows    100,000 staff rows (services/registry/staff_import.py MAX_ROWS), as a
                                 district's own export writes them: 3.6 MB
    staff_import_largest_bytes   the same 100,000 rows each with a 备注 that does not compress: the 100 MB
                                 a form allows (services/jobs/imports.py MAX_BYTES) at the most rows
    staff_import_200k_rows       200,000 rows: what the first limit was, and why it is not (over Lambda's
                                 memory and time)

Each reports the upload's seconds, the import's (the job's created_at → finished_at, queue wait
included) and the import worker's peak RSS (VmHWM of its process: everything the worker did since the
stack started, which is this one import), against what one invocation of on_upload has: 2,048 MB, 900 s.
"""
from __future__ import annotations

import base64
import io
import multiprocessing
import random
import time
from datetime import datetime

from bench.run import (GIVEN, MEASUREMENTS, SURNAMES, _call, _enterprise, _head_token, _id_number, cached,
                       embedded_stack, peak_mb)

HEADER = ["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"]
ENTERPRISE = "南沙速递营业部"


def staff_rows_workbook(rows: int, *, padding: int = 0) -> bytes:
    """`rows` valid, distinct staff of one enterprise; `padding` characters of base64 noise in a 备注 column."""
    import xlsxwriter

    rng = random.Random(24)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("员工")
    sheet.write_row(0, 0, HEADER + (["备注"] if padding else []))
    for n in range(rows):
        values = [rng.choice(SURNAMES) + rng.choice(GIVEN), _id_number(n), f"137{n:08d}", ENTERPRISE, "一线人员",
                  "自行租住", f"广州市南沙区进港大道{n % 500}号"]
        if padding:
            values.append(base64.b64encode(rng.randbytes(padding * 3 // 4)).decode())
        for col, value in enumerate(values):
            sheet.write_string(n + 1, col, value)
    book.close()
    return buffer.getvalue()


def _worker_peak_mb() -> float:
    """The import worker's peak resident memory (local/worker.py starts it as a child of this process)."""
    (worker,) = [p for p in multiprocessing.active_children() if p.name == "import-worker"]
    with open(f"/proc/{worker.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024, 1)


def _import(data: bytes, filename: str) -> dict:
    from tests.functional.importing import upload_over_http

    with embedded_stack() as base:
        _enterprise(ENTERPRISE)
        token = _head_token(base)["Authorization"].split(" ", 1)[1]
        before = _worker_peak_mb()
        started = time.perf_counter()
        status, job = upload_over_http(base, "/api/staff/import", token, data, filename)
        assert status == 202, job
        uploaded = time.perf_counter() - started
        while job["status"] not in ("done", "failed"):
            time.sleep(1)
            job = _call(base, "GET", f"/api/imports/{job['id']}", headers={"Authorization": f"Bearer {token}"})
        took = (datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])).total_seconds()
        assert job["status"] == "done" and job["created"] == job["total"], job
        return {"rows": job["total"], "file_mb": round(len(data) / 2 ** 20, 1), "upload_seconds": round(uploaded, 1),
                "import_seconds": round(took - uploaded, 1), "rows_per_second": round(job["total"] / (took - uploaded)),
                "worker_rss_before_mb": before, "worker_peak_rss_mb": _worker_peak_mb(),
                "bench_process_peak_rss_mb": peak_mb(), "lambda": "on_upload: 2,048 MB, 900 s"}


def staff_import_largest_rows() -> dict:
    data = cached("staff-100k-valid.xlsx", lambda: staff_rows_workbook(100_000)).read_bytes()
    return _import(data, "十万员工.xlsx")


def staff_import_largest_bytes() -> dict:
    data = cached("staff-100k-100mb.xlsx", lambda: staff_rows_workbook(100_000, padding=1_300)).read_bytes()
    assert 95 << 20 < len(data) <= 100 << 20, len(data)
    return _import(data, "十万员工（100MB）.xlsx")


def staff_import_200k_rows() -> dict:
    data = cached("staff-200k-valid.xlsx", lambda: staff_rows_workbook(200_000)).read_bytes()
    return _import(data, "二十万员工.xlsx")


MEASUREMENTS.update({f.__name__: f for f in (staff_import_largest_rows, staff_import_largest_bytes,
                                             staff_import_200k_rows)})

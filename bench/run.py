"""`make bench`: timings on the embedded stack (moto server on loopback), printed and saved to
bench/results/latest.json. Never run as tests: numbers go to docs/performance.md."""
from __future__ import annotations

import io
import json
import random
import resource
import shutil
import socket
import tempfile
import time
import urllib.request
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enterprise_workbook(rows: int) -> bytes:
    from chalicelib.rules import catalog

    rng = random.Random(7)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("企业信息")
    sheet.append(["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址", "项目名称"])
    names = [c.name for c in catalog.CATEGORIES]
    for n in range(rows):
        category = names[n % len(names)]
        sheet.append([category, f"测试企业{n:05d}", catalog.TOWNS[n % 9], "", "陈志强",
                      f"139{rng.randrange(10**8):08d}", f"广州市南沙区测试路{n}号",
                      "测试项目" if category == "建筑工地" else ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _call(base, method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def bench_enterprise_import(rows: int = 5000) -> dict:
    state = Path(tempfile.mkdtemp(prefix="sentinel-bench-"))
    from local.stack import LocalStack

    stack = LocalStack(state / "state", port=_free_port())
    resources = stack.start()
    import app as application
    from local.server import serve
    from local.worker import QueueWorker
    from chalicelib.rules.clock import now
    from chalicelib.services import security
    from chalicelib.store.models import Account

    Account("admin", display_name="运维", role="admin", password_hash=security.hash_password("bench2026x"),
            created_at=now(), updated_at=now()).save()
    worker = QueueWorker(resources.queues["ImportQueue"], application.on_upload)
    worker.start()
    port = _free_port()
    server = serve(application.app, port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        data = enterprise_workbook(rows)
        token = _call(base, "POST", "/api/auth/login", json.dumps({"username": "admin", "password": "bench2026x"}).encode(),
                      {"Content-Type": "application/json"})["token"]
        auth = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        job = _call(base, "POST", "/api/enterprises/import", data, {
            **auth, "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "X-Filename": "bench.xlsx"})
        while job["status"] not in ("done", "failed"):
            time.sleep(0.2)
            job = _call(base, "GET", f"/api/imports/{job['id']}", headers=auth)
        elapsed = time.perf_counter() - started
        assert job["status"] == "done" and job["created"] == rows, job
        list_started = time.perf_counter()
        page = _call(base, "GET", "/api/enterprises?page=1&page_size=20", headers=auth)
        list_elapsed = time.perf_counter() - list_started
        assert page["total"] == rows
        return {"rows": rows, "file_bytes": len(data), "seconds": round(elapsed, 2),
                "rows_per_second": round(rows / elapsed), "list_first_page_seconds_at_5000": round(list_elapsed, 3)}
    finally:
        worker.stop()
        server.shutdown()
        stack._server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    results = {"enterprise_import_5000": bench_enterprise_import(5000),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

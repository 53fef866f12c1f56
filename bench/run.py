"""`make bench`: timings and peak memory, printed and saved to bench/results/latest.json. Never run as
tests: the numbers go to docs/performance.md.

Each measurement runs in a fresh process (`python -m bench.run --one NAME`), so its peak RSS is its own.
The embedded-stack ones go through the HTTP API and the local event worker, as `make run` does.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "sentinel-bench"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEAD = "13800138000"
SURNAMES = "陈李黄张梁刘何林罗郭吴周谢冯邓曾彭蔡苏卢"
GIVEN = ["志强", "伟明", "丽华", "海燕", "建国", "晓玲", "国栋", "秀英", "俊杰", "嘉欣"]


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _call(base, method, path, body=None, headers=None, raw=False):
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=1800) as answer:
        data = answer.read()
    return data if raw else json.loads(data)


def export_file(base, auth: dict, path: str) -> tuple[bytes, dict]:
    """An export as the page makes it: POST (202, a job), poll the job, fetch the file from its link.
    Returns the workbook and {"seconds": request to file in hand, "build_seconds": the job's own time}."""
    started = time.perf_counter()
    job = _call(base, "POST", path, b"{}", {**auth, "Content-Type": "application/json"})
    while job["status"] not in ("done", "failed"):
        time.sleep(0.25)
        job = _call(base, "GET", f"/api/exports/{job['id']}", headers=auth)
    assert job["status"] == "done", job
    with urllib.request.urlopen(job["url"], timeout=600) as answer:
        data = answer.read()
    took = time.perf_counter() - started
    from datetime import datetime

    build = (datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])).total_seconds()
    return data, {"seconds": round(took, 2), "build_seconds": round(build, 2), "rows": job["rows"]}


# --- workbooks --------------------------------------------------------------------------------------


def _write_rows(header, rows) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, header)
    for index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(index, col, value)
            else:
                sheet.write_number(index, col, value)
    book.close()
    return buffer.getvalue()


def enterprise_workbook(rows: int) -> bytes:
    from chalicelib.rules import catalog, geography

    rng = random.Random(7)
    names = [c.name for c in catalog.CATEGORIES]
    return _write_rows(
        ["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址", "项目名称"],
        ([names[n % len(names)], f"测试企业{n:05d}", geography.towns()[n % 9], "", "陈志强",
          f"139{rng.randrange(10**8):08d}", f"广州市南沙区测试路{n}号",
          "测试项目" if names[n % len(names)] == "建筑工地" else ""] for n in range(rows)))


def _id_number(n: int) -> str:
    from chalicelib.rules.idnumber import compose

    return compose(f"{1950 + n // 1000 % 50}{1 + n // 50_000 % 12:02d}{1 + n // 600_000 % 28:02d}", n)  # unique < 16.8M


def staff_workbook(rows: int, enterprise: str, *, bad_every: int = 0) -> bytes:
    """Staff rows; every `bad_every`-th row has a bad check digit (the validator must find them)."""
    rng = random.Random(3)

    def row(n):
        number = _id_number(n)
        if bad_every and n % bad_every == 0:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        return [rng.choice(SURNAMES) + rng.choice(GIVEN), number, f"137{n:08d}", enterprise,
                "一线人员", "自行租住", f"广州市南沙区进港大道{n % 500}号"]

    return _write_rows(["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"],
                       (row(n) for n in range(rows)))


def cached(name: str, make) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / name
    if not path.exists():
        path.write_bytes(make())
    return path


# --- the embedded stack -----------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_stack(*, dynamodb: str = "local", api_processes: int | None = None):
    """The system `make run` starts, empty (no demo district), in memory; `dynamodb="moto"` puts the
    tables on moto instead of DynamoDB Local, to measure the two side by side."""
    from local.system import System

    started = System(None, demo=False, scheduler=False, dynamodb=dynamodb, api_processes=api_processes).start()
    try:
        yield started.base_url
    finally:
        started.stop()


def _account_token(base, username: str, role: str, display_name: str, **fields) -> dict:
    """An account written straight to its table (as tests/conftest.py does), logged in over HTTP."""
    from chalicelib.rules.clock import now
    from chalicelib.services.common import security
    from chalicelib.store.models import Account

    Account(username, display_name=display_name, role=role, password_hash=security.hash_password("bench2026x"),
            created_at=now(), updated_at=now(), **fields).save()
    token = _call(base, "POST", "/api/auth/login", json.dumps({"username": username, "password": "bench2026x"}).encode(),
                  {"Content-Type": "application/json"})["token"]
    return {"Authorization": f"Bearer {token}"}


def _admin_token(base) -> dict:
    return _account_token(base, "admin", "admin", "运维")


def _head_token(base) -> dict:
    _call(base, "POST", "/api/auth/sms", json.dumps({"phone": HEAD}).encode(), {"Content-Type": "application/json"})
    code = next(i["code"] for i in _call(base, "GET", "/api/dev/sms-outbox")["items"] if i["phone"] == HEAD)
    token = _call(base, "POST", "/api/auth/sms-login", json.dumps({"phone": HEAD, "code": code}).encode(),
                  {"Content-Type": "application/json"})["token"]
    return {"Authorization": f"Bearer {token}"}


def _enterprise(name: str, town: str = "南沙街", category: str = "express", head_phone: str = HEAD):
    from chalicelib.rules.clock import now
    from chalicelib.rules.text import name_key
    from chalicelib.services.registry import enterprises
    from chalicelib.store.models import Enterprise

    from chalicelib.rules import geography

    ent = Enterprise(f"bench-{name_key(name)}", category=category, name=name, name_key=name_key(name), town=town,
                     reach=geography.reach_of(town, category),
                     head_name="陈志强", head_phone=head_phone, address="广州市南沙区进港大道1号", created_by="bench",
                     created_at=now(), updated_at=now())
    enterprises.insert(ent)
    return ent


def _import(base, auth, path, data) -> dict:
    """As the page imports: the form from `path`, the file through the /s3/ relay, then the job polled."""
    from tests.functional.importing import upload_over_http

    status, job = upload_over_http(base, path, auth["Authorization"].split(" ", 1)[1], data, "bench.xlsx")
    assert status == 202, job
    while job["status"] not in ("done", "failed"):
        time.sleep(0.2)
        job = _call(base, "GET", f"/api/imports/{job['id']}", headers=auth)
    return job


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 3)


# --- measurements -----------------------------------------------------------------------------------


def enterprise_import_5000() -> dict:
    with embedded_stack() as base:
        auth = _admin_token(base)
        data = enterprise_workbook(5000)
        job, seconds = _timed(lambda: _import(base, auth, "/api/enterprises/import", data))
        assert job["status"] == "done" and job["created"] == 5000, job
        page, list_seconds = _timed(lambda: _call(base, "GET", "/api/enterprises?page=1&page_size=20", headers=auth))
        assert page["total"] == 5000
        return {"rows": 5000, "file_bytes": len(data), "seconds": seconds, "rows_per_second": round(5000 / seconds),
                "list_first_page_seconds": list_seconds, "peak_rss_mb": peak_mb()}


def _owned():
    from chalicelib.rules.clock import now
    from chalicelib.store.models import Enterprise

    ent = Enterprise("bench-express", category="express", name="南沙速递营业部", name_key="南沙速递营业部",
                     town="南沙街", head_name="陈志强", head_phone=HEAD, address="x", created_by="bench",
                     created_at=now(), updated_at=now())
    return {ent.enterprise_id: ent}


def staff_parse_100k_ours() -> dict:
    os.environ.setdefault("STAGE", "local")
    from chalicelib.services.registry.staff_import import check_workbook

    data = cached("staff-100k.xlsx", lambda: staff_workbook(100_000, "南沙速递营业部", bad_every=1000)).read_bytes()
    owned = _owned()
    baseline = peak_mb()
    checked, seconds = _timed(lambda: check_workbook(data, owned))
    assert checked.outcome.total == 100_000 and len(checked.outcome.failures) == 100, len(checked.outcome.failures)
    return {"rows": 100_000, "file_bytes": len(data), "seconds": seconds, "valid": len(checked.latest),
            "refused": len(checked.outcome.failures), "rss_before_mb": baseline, "peak_rss_mb": peak_mb(),
            "does": "read (calamine) + header detection + formula scan + full validation of every cell "
                    "(ID checksum/birth date, phone, lists, enterprise) + keyed hash per person"}


def staff_parse_100k_pandas(engine: str | None = None) -> dict:
    import pandas

    data = cached("staff-100k.xlsx", lambda: staff_workbook(100_000, "南沙速递营业部", bad_every=1000)).read_bytes()
    baseline = peak_mb()
    frame, seconds = _timed(lambda: pandas.read_excel(io.BytesIO(data), dtype=str, engine=engine))
    assert len(frame) == 100_000
    return {"rows": len(frame), "seconds": seconds, "engine": engine or "default (openpyxl)",
            "rss_before_mb": baseline, "peak_rss_mb": peak_mb(), "does": "read only, no validation"}


def staff_parse_100k_pandas_calamine() -> dict:
    return staff_parse_100k_pandas("calamine")


def staff_import_10k() -> dict:
    with embedded_stack() as base:
        _enterprise("南沙速递营业部")
        auth = _head_token(base)
        data = staff_workbook(10_000, "南沙速递营业部")
        job, seconds = _timed(lambda: _import(base, auth, "/api/staff/import", data))
        assert job["status"] == "done" and job["created"] == 10_000, job
        page, list_seconds = _timed(lambda: _call(base, "GET", "/api/staff?page=1&page_size=20", headers=auth))
        assert page["total"] == 10_000
        again, reimport_seconds = _timed(lambda: _import(base, auth, "/api/staff/import", data))
        assert again["updated"] == 10_000, again
        return {"rows": 10_000, "file_bytes": len(data), "seconds": seconds, "rows_per_second": round(10_000 / seconds),
                "reimport_seconds": reimport_seconds, "head_list_first_page_seconds": list_seconds,
                "peak_rss_mb": peak_mb()}


def _seed_staff(owner, count: int, *, registered_days_ago: int = 0) -> float:
    """People 0..count-1 (ID `_id_number(n)`) written straight to the staff table, person n in the
    enterprise `owner(n)`, newest last; the enterprises' kept staff counts follow. Returns seconds."""
    from collections import Counter

    from chalicelib.rules.clock import now
    from chalicelib.services.registry import staff
    from chalicelib.services.registry.staff_schema import StaffIn
    from chalicelib.store.models import Staff

    started = time.perf_counter()
    counts: Counter = Counter()
    with Staff.batch_write() as batch:
        for n in range(count):
            ent = owner(n)
            values = StaffIn(enterprise_id=ent.enterprise_id, name="陈志强", id_number=_id_number(n), phone=f"137{n:08d}",
                             person_category="一线人员", residence_type="自行租住",
                             address=f"广州市南沙区进港大道{n % 500}号", extra={})
            stamp = now() - timedelta(days=registered_days_ago)
            person = Staff(ent.enterprise_id, staff.person_key(values.id_number), created_at=stamp)
            staff.assign(person, values, ent, stamp=stamp)
            batch.save(person)
            counts[ent.enterprise_id] += 1
            if (n + 1) % 10_000 == 0:
                print(f"  staff {n + 1:,}/{count:,} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    for enterprise_id, added in counts.items():
        staff.adjust_count(enterprise_id, added)
    return round(time.perf_counter() - started, 1)


def ledger_export_100k() -> dict:
    from chalicelib.rules import geography

    with embedded_stack() as base:
        auth = _admin_token(base)
        towns = [t for t in geography.towns() if t != "其他"]
        ents = [_enterprise(f"测试物流{n:03d}", towns[n % 9]) for n in range(100)]
        seed_seconds = _seed_staff(lambda n: ents[n % 100], 100_000)
        page, list_seconds = _timed(lambda: _call(base, "GET", "/api/ledger?category=express&page=1&page_size=20",
                                                  headers=auth))
        assert page["total"] == 100_000, page["total"]
        found, id_search_seconds = _timed(lambda: _call(base, "GET", f"/api/ledger?category=express&q={_id_number(777)}",
                                                        headers=auth))
        assert found["total"] == 1
        data, timing = export_file(base, auth, "/api/ledger/export?category=express")
        seconds = timing["seconds"]
        from python_calamine import CalamineWorkbook

        rows = len(CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()) - 1
        assert rows == 100_000, rows
        return {"rows": rows, "export_seconds": seconds, "export_bytes": len(data),
                "ledger_first_page_seconds": list_seconds, "ledger_search_by_id_seconds": id_search_seconds,
                "seed_seconds_not_timed_above": seed_seconds, "peak_rss_mb_including_moto": peak_mb()}


def nat_csv(rows: int = 1_000_000) -> Path:
    """A NAT feed of `rows` samples over the last 3 days; every 10th person is one of the registered
    100,000 (ids 0..99,999), the rest are strangers; a few rows are malformed."""
    def make() -> bytes:
        from datetime import datetime, timedelta

        rng = random.Random(11)
        start = datetime.now().replace(microsecond=0) - timedelta(days=3)
        out = io.StringIO()
        out.write("身份证号码,姓名,采样时间,检测时间,检测结果,采样点\n")
        for n in range(rows):
            person = n // 10 if n % 10 == 0 else 100_000 + n
            sampled = start + timedelta(seconds=rng.randrange(3 * 86400 - 7200))
            number = _id_number(person) if n % 5000 else "44011519900230123X"
            out.write(f"{number},陈志强,{sampled:%Y-%m-%d %H:%M:%S},{sampled + timedelta(hours=6):%Y-%m-%d %H:%M:%S},"
                      f"阴性,南沙区第{n % 40}采样点\n")
        return out.getvalue().encode("gbk")

    return cached(f"nat-{rows}.csv", make)


def _registered_ids(count: int = 100_000) -> list[str]:
    return [_id_number(n) for n in range(count)]


def _nat_parser():
    """`parse(stream) -> Report`: our feed ingestion without writes, matching against the 100,000
    registered people held in memory (what the batched person-health read answers on AWS)."""
    os.environ.setdefault("STAGE", "local")
    from chalicelib.rules.clock import now
    from chalicelib.services.feeds import ingest as feeds
    from chalicelib.services.feeds.reader import csv_blocks
    from chalicelib.services.common import keyring

    person_key = keyring.hasher()
    registered = {person_key(i) for i in _registered_ids()}

    def parse(stream):
        return feeds.ingest("nat", "bench", csv_blocks(stream, *feeds.KINDS["nat"]), now(),
                            registered=registered.intersection, write=False)

    return parse


def nat_parse_match_1m_ours() -> dict:
    path = nat_csv()
    parse = _nat_parser()
    baseline = peak_mb()

    def run():
        with open(path, "rb") as stream:
            return parse(stream)

    report, seconds = _timed(run)
    assert report.rows_read == 1_000_000 and report.rejected == 200, (report.rows_read, report.rejected)
    return {"rows": report.rows_read, "matched_rows": report.matched, "rejected": report.rejected,
            "seconds": seconds, "rows_per_second": round(report.rows_read / seconds),
            "rss_before_mb": baseline, "peak_rss_mb": peak_mb(),
            "does": "read the GBK CSV in 4 MB blocks, split fields by byte offsets, validate every row (ID "
                    "checksum and birth date, sampling and test times, result, site; clean rows a column at a "
                    "time, the rest one by one), keyed hash per row, match against 100,000 registered people"}


def nat_parse_slow_paths_200k() -> dict:
    """The first 200,000 rows of the NAT file as other exporters write them: once with a quoted cell
    (the rest of the file then goes through the csv module) and once with spreadsheet-style dates
    ("2026/11/24 11:43", unpadded, no seconds: the per-row rules). Rows per second for each."""
    import re

    parse = _nat_parser()
    lines = nat_csv().read_bytes().split(b"\n")[:200_001]
    quoted = lines[1].split(b",")
    quoted[1] = b'"' + quoted[1] + b'"'
    spreadsheet = re.compile(rb"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):\d{2}")

    def unpadded(m):
        return b"%d/%d/%d %d:%s" % (int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5])

    variants = {
        "quoted": [lines[0], b",".join(quoted), *lines[2:]],
        "spreadsheet_dates": [lines[0], *(spreadsheet.sub(unpadded, line) for line in lines[1:])],
    }
    out = {}
    for name, variant in variants.items():
        data = b"\n".join(variant) + b"\n"

        report, seconds = _timed(lambda: parse(io.BytesIO(data)))
        assert report.rows_read == 200_000 and report.rejected == 40, (name, report.rows_read, report.rejected)
        out[name] = {"seconds": seconds, "rows_per_second": round(report.rows_read / seconds)}
    return out


def nat_parse_match_1m_pandas() -> dict:
    import pandas

    path = nat_csv()
    registered = _registered_ids()
    baseline = peak_mb()

    def run():
        frame = pandas.read_csv(path, dtype=str, encoding="gb18030")
        return frame, frame["身份证号码"].isin(registered)

    (frame, hits), seconds = _timed(run)
    return {"rows": len(frame), "matched_rows": int(hits.sum()), "seconds": seconds,
            "rows_per_second": round(len(frame) / seconds), "rss_before_mb": baseline, "peak_rss_mb": peak_mb(),
            "does": "read_csv (C parser, whole file in memory) + isin on the raw ID text; no validation"}


def nat_ingest_100k_embedded() -> dict:
    """A 100,000-row GBK NAT file dropped into the local S3 against 10,000 registered people: the whole
    path (S3 event → SQS → worker → parse, match, write records and state, report)."""
    from chalicelib.config import settings
    from chalicelib.rules.clock import now
    from chalicelib.services.health import state as health
    from chalicelib.services.common import keyring
    from chalicelib.store.models import FeedFile

    import boto3

    data = nat_csv(1_000_000).read_bytes()
    lines = data.split(b"\n")
    sample = b"\n".join(lines[:100_001]) + b"\n"  # header + 100,000 rows; every 10th is registered
    with embedded_stack():
        person_key = keyring.hasher()
        health.register(person_key(i) for i in _registered_ids(10_000))
        started = time.perf_counter()
        boto3.client("s3").put_object(Bucket=settings().files_bucket, Key="feeds/nat/bench.csv", Body=sample)
        while True:
            files = [f for f in FeedFile.by_kind.query("nat") if f.status != "running"]
            if files:
                break
            time.sleep(0.5)
        seconds = round(time.perf_counter() - started, 2)
        report = files[0]
        assert report.status == "done", report.message
        return {"rows": int(report.rows_read), "matched": int(report.matched), "unmatched": int(report.unmatched),
                "rejected": int(report.rejected), "seconds": seconds, "rows_per_second": round(int(report.rows_read) / seconds),
                "peak_rss_mb_including_moto": peak_mb(), "at": now().isoformat()}


MEASUREMENTS = {f.__name__: f for f in (
    nat_ingest_100k_embedded, nat_parse_match_1m_ours, nat_parse_match_1m_pandas, nat_parse_slow_paths_200k,
    enterprise_import_5000, staff_parse_100k_ours, staff_parse_100k_pandas, staff_parse_100k_pandas_calamine,
    staff_import_10k, ledger_export_100k)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", choices=sorted(MEASUREMENTS))
    parser.add_argument("--only", nargs="*", help="run these measurements (default: all)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(MEASUREMENTS[args.one](), ensure_ascii=False))
        return
    results = {}
    for name in args.only or MEASUREMENTS:
        print(f"… {name}", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", "bench.run", "--one", name], cwd=ROOT, capture_output=True,
                              text=True)
        if done.returncode != 0:
            results[name] = {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
            print(done.stderr[-3000:], file=sys.stderr)
        else:
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps({name: results[name]}, ensure_ascii=False), flush=True)
    ours, pandas_ = results.get("staff_parse_100k_ours", {}), results.get("staff_parse_100k_pandas", {})
    if "seconds" in ours and "seconds" in pandas_:
        results["staff_parse_100k_ours_vs_pandas"] = {
            "ours_seconds": ours["seconds"], "pandas_read_excel_seconds": pandas_["seconds"],
            "speedup": round(pandas_["seconds"] / ours["seconds"], 2), "ours_faster": ours["seconds"] < pandas_["seconds"]}
    ours, pandas_ = results.get("nat_parse_match_1m_ours", {}), results.get("nat_parse_match_1m_pandas", {})
    if "seconds" in ours and "seconds" in pandas_:
        results["nat_1m_ours_vs_pandas"] = {
            "ours_seconds": ours["seconds"], "pandas_seconds": pandas_["seconds"],
            "ours_peak_rss_mb": ours["peak_rss_mb"], "pandas_peak_rss_mb": pandas_["peak_rss_mb"],
            "ours_faster": ours["seconds"] < pandas_["seconds"], "ours_smaller": ours["peak_rss_mb"] < pandas_["peak_rss_mb"]}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))


import bench.pages  # noqa: E402,F401 - the page measurements of issue 9 register themselves in MEASUREMENTS

if __name__ == "__main__":
    from bench.run import main as _main  # the imported module: the one whose MEASUREMENTS bench.pages filled
    import bench.stats  # noqa: F401 - the statistics of issue 11 (after bench.pages, which it builds on)
    import bench.compliance  # noqa: F401 - the overnight run and the push of issue 12
    import bench.costs  # noqa: F401 - request items per operation, for docs/deploy.md
    import bench.rotation  # noqa: F401 - what a person-key rotation costs (issue 13)
    import bench.uploads  # noqa: F401 - the largest workbook an import allows, through a presigned upload (issue 24)
    import bench.search  # noqa: F401 - search by name or phone: the index against the partition scan (issue 24)
    import bench.city  # noqa: F401 - a city's day in parts: a feed part, a matcher segment, the model (issue 24)
    import bench.districts  # noqa: F401 - a ledger page's requests at 10 and 170 towns (issue 24)

    _main()

"""Issue 9 "must show": how long the pages people open every day take on the embedded stack (DynamoDB
Local), at 15,000 and at 100,000 staff, and whether one user's export freezes everyone else.

Each measurement seeds its own district straight through pynamodb (`district`): one sentinel category
(快递物流) over the nine towns, 100 enterprises, the head 13800138000 heading one of them with 150 staff
(so the head's home is the size a head really has), and a NAT sample on most people's health state,
spread over the home's buckets. Then, over HTTP as the browser does:

  pages_15k, pages_100k   every page sequentially (median, worst) and with 20 concurrent clients
                          (median, p95, worst); the ledger export once; the DynamoDB calls each page makes
  pages_15k_moto          the ledger's first page, ID search and next page on moto's DynamoDB (the
                          previous engine), for the record; a few repetitions only, moto is slow
  pages_freeze            a probe asks for /api/lists every 100 ms while other clients page the ledger
                          and export it back to back; the longest wait and the longest gap between answers
                          (BENCH_FREEZE_SECONDS, default 600; BENCH_FREEZE_STAFF, default 100,000;
                          BENCH_FREEZE_EXPORTS=0: the same load without the exports, to compare)

`python -m bench.run --one pages_15k` (registered in bench/run.py's MEASUREMENTS); results in
docs/performance.md.
"""
from __future__ import annotations

import contextlib
import io
import math
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from typing import Callable

from bench.run import (MEASUREMENTS, _account_token, _admin_token, _call, _enterprise, _head_token, _id_number,
                       _seed_staff, _timed, embedded_stack, export_file, peak_mb)

CATEGORY = "express"
ENTERPRISES = 100
HEAD_STAFF = 150
CLIENTS = 20
PER_CLIENT = 5
REPEATS = 15


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the district -----------------------------------------------------------------------------------


def district(staff_count: int, *, registered_days_ago: int = 0) -> dict:
    """Seed the district (see the module's docstring); what it holds, for the checks and the report."""
    from chalicelib.rules import geography

    started = time.perf_counter()
    towns = [t for t in geography.towns() if t != "其他"]
    home = _enterprise("南沙速递营业部", "南沙街", CATEGORY)
    others = [_enterprise(f"测试物流{n:03d}", towns[n % 9], CATEGORY, head_phone=f"139{n:08d}")
              for n in range(ENTERPRISES - 1)]
    step = staff_count // HEAD_STAFF

    def owner(n: int):
        return home if n % step == 0 and n // step < HEAD_STAFF else others[n % len(others)]

    _log(f"seeding {staff_count:,} staff in {ENTERPRISES} enterprises")
    staff_seconds = _seed_staff(owner, staff_count, registered_days_ago=registered_days_ago)
    head_people = {n for n in range(staff_count) if owner(n) is home}
    health_seconds, district_buckets, head_buckets = _seed_health(staff_count, head_people)
    return {"staff": staff_count, "enterprises": ENTERPRISES, "head_enterprise_id": home.enterprise_id,
            "head_staff": len(head_people), "buckets": district_buckets, "head_buckets": head_buckets,
            "seed_seconds": {"staff": staff_seconds, "health": health_seconds,
                             "all": round(time.perf_counter() - started, 1)}}


def _seed_health(count: int, head_people: set[int]) -> tuple[float, dict, dict]:
    """Every person's health state as registration and the NAT feed leave it (services/health/state.py):
    registered, and for 88% a latest sample: 60% within 24 h, 12% 24–48 h, 8% 48–72 h, 8% 3–12 days."""
    from chalicelib.rules import feeds as rules
    from chalicelib.rules.clock import now
    from chalicelib.services.registry import staff
    from chalicelib.store.models import PersonHealth

    rng = random.Random(9)
    current = now()
    everyone, head = Counter(), Counter()
    started = time.perf_counter()
    with PersonHealth.batch_write() as batch:
        for n in range(count):
            draw = rng.random()
            hours = (rng.uniform(0.5, 23.5) if draw < 0.60 else rng.uniform(24.5, 47.5) if draw < 0.72 else
                     rng.uniform(48.5, 71.5) if draw < 0.80 else rng.uniform(80, 288) if draw < 0.88 else None)
            state = PersonHealth(staff.person_key(_id_number(n)), registered=True)
            if hours is not None:
                sampled = current - timedelta(hours=hours)
                state.last_sampled_at, state.last_result = sampled, "阴性"
                state.last_site = f"南沙区第{n % 40}采样点"
                if hours > 8:
                    state.last_tested_at = sampled + timedelta(hours=6)
            batch.save(state)
            bucket = rules.bucket(state.last_sampled_at, current)
            everyone[bucket] += 1
            if n in head_people:
                head[bucket] += 1
            if (n + 1) % 10_000 == 0:
                _log(f"  health {n + 1:,}/{count:,} ({time.perf_counter() - started:.0f} s)")
    return round(time.perf_counter() - started, 1), dict(everyone), dict(head)


def _logins(base) -> dict[str, dict]:
    return {"bureau": _account_token(base, "youzheng", "bureau", "区邮政管理局", categories=[CATEGORY]),
            "admin": _admin_token(base), "head": _head_token(base)}


# --- the pages --------------------------------------------------------------------------------------


def _pages(seeded: dict) -> dict[str, tuple[str, Callable, Callable]]:
    """name → (who, path(i) for the i-th request, check(answer) on the first answer)."""
    count = seeded["staff"]
    ledger = f"/api/ledger?category={CATEGORY}&page_size=20"

    def whole(page):
        assert page["total"] == count and len(page["items"]) == 20, (page["total"], len(page["items"]))

    def one(page):
        assert page["total"] == 1 and len(page["items"]) == 1, page["total"]

    def home(body):
        assert body["total"] == seeded["head_staff"], body["total"]
        assert {b["key"]: b["count"] for b in body["buckets"] if b["count"]} == seeded["head_buckets"], body["buckets"]

    def bucket(page):
        assert page["total"] == seeded["head_buckets"]["h24"] and len(page["items"]) == 20, page["total"]

    def listed(page):
        assert page["total"] == ENTERPRISES and len(page["items"]) == 20, page["total"]

    return {
        "ledger_first_page_bureau": ("bureau", lambda i: f"{ledger}&page=1", whole),
        "ledger_first_page_admin": ("admin", lambda i: f"{ledger}&page=1", whole),
        "ledger_search_whole_id": ("bureau", lambda i: f"{ledger}&page=1&q={_id_number((i * 7919) % count)}", one),
        "ledger_next_page": ("bureau", lambda i: f"{ledger}&page=2", whole),
        "head_home": ("head", lambda i: "/api/dashboard", home),
        "head_bucket_list": ("head", lambda i: "/api/dashboard/people?bucket=h24&page=1&page_size=20", bucket),
        "enterprise_list_admin": ("admin", lambda i: "/api/enterprises?page=1&page_size=20", listed),
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summary(seconds: list[float], *, p95: bool = False) -> dict:
    out = {"median_ms": _ms(statistics.median(seconds)), "worst_ms": _ms(max(seconds)), "requests": len(seconds)}
    if p95:
        out["p95_ms"] = _ms(_percentile(seconds, 0.95))
    return out


def _get(base, auth, path):
    request_started = time.perf_counter()
    answer = _call(base, "GET", path, headers=auth)
    return answer, time.perf_counter() - request_started


def sequential(base, logins, pages, *, repeats: int, warm: int) -> tuple[dict, float]:
    """Every page `warm` times unmeasured (each API process meets each page: a process's first request
    describes the tables and opens connections, as a cold Lambda does; DynamoDB Local's JIT warms up),
    then `repeats` rounds, one request after another, the pages taken in turn within a round (so a JVM
    pause or a background write falls on every page alike). CPU per request: by kind of process."""
    cold = None
    for i in range(warm):
        for who, path, check in pages.values():
            answer, seconds = _get(base, logins[who], path(i))
            cold = seconds if cold is None else cold
            if i == 0:
                check(answer)
    latencies: dict[str, list[float]] = {name: [] for name in pages}
    cpu: dict[str, Counter] = {name: Counter() for name in pages}
    for i in range(repeats):
        for name, (who, path, _) in pages.items():
            before = _cpu_seconds()
            latencies[name].append(_get(base, logins[who], path(i))[1])
            cpu[name].update(_cpu_seconds() - before)
    results = {}
    for name in pages:
        if repeats:
            results[name] = {**_summary(latencies[name]),
                             "cpu_ms_per_request": {k: _ms(v / repeats) for k, v in _cpu_split(cpu[name]).items()}}
            _log(f"  {name}: {results[name]}")
    return results, _ms(cold) if cold is not None else None


def concurrent(base, logins, pages, *, clients: int = CLIENTS, per_client: int = PER_CLIENT) -> dict:
    """`clients` threads start together on one page, each asking `per_client` times in a row."""
    results = {}
    for name, (who, path, _) in pages.items():
        latencies: list[float] = []
        errors: list[str] = []
        gate = threading.Barrier(clients + 1)

        def client(k: int) -> None:
            gate.wait()
            for i in range(per_client):
                try:
                    latencies.append(_get(base, logins[who], path(k * per_client + i))[1])
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(repr(exc))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        gate.wait()
        wall, cpu = time.perf_counter(), _cpu_seconds()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        results[name] = {**_summary(latencies, p95=True), "per_second": round(len(latencies) / wall, 1),
                         "errors": len(errors), "wall_seconds": round(wall, 2),
                         "cpu_seconds": {k: round(v, 2) for k, v in _cpu_split(cpu).items()}}
        _log(f"  {name} ×{clients}: {results[name]}")
    return results


def export_once(base, auth, rows_expected: int) -> dict:
    from python_calamine import CalamineWorkbook

    data, timing = export_file(base, auth, f"/api/ledger/export?category={CATEGORY}")
    rows = len(CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()) - 1
    assert rows == rows_expected == timing["rows"], rows
    return {**timing, "bytes": len(data)}


# --- what each page asks DynamoDB -------------------------------------------------------------------


@contextlib.contextmanager
def _counting_calls(also: tuple[str, ...] = ()):
    """Every DynamoDB call of this process, by operation, and the items it returned; the calls to the
    services in `also` (e.g. "s3") as "<service> <operation>"."""
    import botocore.client

    calls: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(client, operation, params):
        answer = original(client, operation, params)
        service = client.meta.service_model.service_name
        if service in also:
            calls[f"{service} {operation}"] += 1
        if service == "dynamodb":
            calls[operation] += 1
            if "Count" in answer:
                calls[f"{operation} items"] += answer["Count"]
            elif "Responses" in answer:
                calls[f"{operation} items"] += sum(len(v) for v in answer["Responses"].values())
        return answer

    botocore.client.BaseClient._make_api_call = counted
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original


def dynamodb_calls(logins, pages, *, also: tuple[str, ...] = ()) -> dict:
    """The same routes through the Chalice app in this process (the gateway the API processes run),
    counting the DynamoDB calls (and those of `also`) of each request (the second one: the first
    describes the tables and fills the function's caches)."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    import app as application

    gateway = LocalGateway(application.app, Config(chalice_stage="local", config_from_disk={}))
    out = {}
    for name, (who, path, *_) in pages.items():
        headers = {"authorization": logins[who]["Authorization"], "host": "127.0.0.1"}
        gateway.handle_request("GET", path(1), headers, b"")
        with _counting_calls(also) as calls:
            answer = gateway.handle_request("GET", path(2), headers, b"")
        assert answer["statusCode"] == 200, answer
        out[name] = dict(calls)
    return out


_CLIENT_PIDS: set[int] = set()  # the bench's own client processes (`_client_process`)


@contextlib.contextmanager
def _client_process(wanted: bool):
    """A process of its own for a client, as another user's browser is: pages_freeze's exporting user
    reads each 100,000-row workbook back (1.1 s in calamine, holding the GIL), which in this process
    stalled the probe's thread by up to 213 ms and was counted as the system's freeze. Its CPU is the
    bench's. None when not wanted."""
    if not wanted:
        yield None
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pid = pool.submit(os.getpid).result()
        _CLIENT_PIDS.add(pid)
        try:
            yield pool
        finally:
            _CLIENT_PIDS.discard(pid)


def _descendants() -> list[tuple[int, str]]:
    """(pid, what) for this process's descendants: "api" (API processes and workers: Python children),
    "dynamodb_local" (its JVM), "moto", "bench_clients" (`_client_process`)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        what = ("bench_clients" if pid in _CLIENT_PIDS else "dynamodb_local" if "DynamoDBLocal" in command
                else "moto" if "local.aws_server" in command else "api" if "multiprocessing" in command else None)
        if what:
            found.append((pid, what))
    return found


def _process_peaks() -> dict:
    """Peak RSS (VmHWM) of the largest API or worker process, DynamoDB Local's JVM and the moto server,
    read before the stack stops them."""
    peaks = {"api": 0.0, "dynamodb_local": 0.0, "moto": 0.0}
    for pid, what in _descendants():
        if what not in peaks:
            continue  # the bench's own clients
        with contextlib.suppress(OSError, StopIteration):
            line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM:"))
            peaks[what] = max(peaks[what], round(int(line.split()[1]) / 1024, 1))
    return {"peak_rss_mb_largest_api_or_worker_process": peaks["api"], "peak_rss_mb_dynamodb_local": peaks["dynamodb_local"],
            "peak_rss_mb_moto": peaks["moto"]}


def _cpu_seconds() -> Counter:
    """CPU seconds used so far by this process (the HTTP clients) and its descendants, by kind."""
    tick = os.sysconf("SC_CLK_TCK")
    used: Counter = Counter()
    for pid, what in _descendants():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[what] += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    own = os.times()
    used["bench_clients"] += own.user + own.system
    busy = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    used["machine"] = (sum(busy) - busy[3] - busy[4]) / tick  # all but idle and iowait
    return used


def _cpu_split(used: Counter) -> dict:
    """CPU seconds by kind, and what processes outside this measurement took meanwhile (the machine is
    shared: another session's tests show up here, and the figures of that phase are then pessimistic)."""
    ours = {k: v for k, v in sorted(used.items()) if k != "machine"}
    return {**ours, "other_processes": max(0.0, used["machine"] - sum(ours.values()))}


# --- measurements -----------------------------------------------------------------------------------


def _pages_at(staff_count: int) -> dict:
    api_processes = int(os.environ.get("LOCAL_API_PROCESSES", "4"))
    with embedded_stack(dynamodb="local", api_processes=api_processes) as base:
        seeded = district(staff_count)
        logins = _logins(base)
        pages = _pages(seeded)
        _log("sequential")
        seq, cold = sequential(base, logins, pages, repeats=REPEATS, warm=2 * api_processes)
        _log(f"{CLIENTS} concurrent clients")
        conc = concurrent(base, logins, pages)
        _log("export")
        exported = export_once(base, logins["bureau"], staff_count)
        _log(f"  {exported}")
        calls = dynamodb_calls(logins, pages)
        return {"engine": "DynamoDB Local", "api_processes": api_processes, **seeded,
                "cold_first_request_ms": cold, "sequential": seq, f"concurrent_{CLIENTS}_clients_x{PER_CLIENT}": conc,
                "ledger_export_bureau": exported, "dynamodb_calls_per_request": calls,
                "peak_rss_mb_bench_process": peak_mb(), **_process_peaks()}


def pages_15k() -> dict:
    return _pages_at(15_000)


def pages_100k() -> dict:
    return _pages_at(100_000)


def pages_15k_moto() -> dict:
    """The ledger's first page, ID search and next page at 15,000 staff with the tables on moto."""
    repeats = int(os.environ.get("BENCH_MOTO_REPEATS", "3"))
    with embedded_stack(dynamodb="moto") as base:
        seeded = district(15_000)
        logins = _logins(base)
        pages = {k: v for k, v in _pages(seeded).items()
                 if k in ("ledger_first_page_bureau", "ledger_search_whole_id", "ledger_next_page")}
        seq, cold = sequential(base, logins, pages, repeats=repeats, warm=1)
        return {"engine": "moto", **seeded, "cold_first_request_ms": cold, "sequential": seq,
                "peak_rss_mb_bench_process": peak_mb(), **_process_peaks()}


def pages_freeze() -> dict:
    """A probe asks for /api/lists every 100 ms (the next one at once if an answer came late) while three
    clients page the ledger without pause and a fourth exports the whole ledger back to back."""
    seconds = float(os.environ.get("BENCH_FREEZE_SECONDS", "600"))
    staff_count = int(os.environ.get("BENCH_FREEZE_STAFF", "100000"))
    api_processes = int(os.environ.get("LOCAL_API_PROCESSES", "4"))
    exporter = os.environ.get("BENCH_FREEZE_EXPORTS", "1") == "1"  # 0: the same load without the exports
    with embedded_stack(dynamodb="local", api_processes=api_processes) as base, \
            _client_process(exporter) as exporter_process:
        seeded = district(staff_count)
        logins = _logins(base)
        pages = _pages(seeded)
        sequential(base, logins, pages, repeats=0, warm=2 * api_processes)
        stop = threading.Event()
        probe: list[tuple[float, float]] = []  # (answered at, latency)
        loads: Counter = Counter()
        page_latencies: list[float] = []
        exports: list[float] = []
        errors: list[str] = []

        def probing() -> None:
            due = time.perf_counter()
            while not stop.is_set():
                try:
                    _, latency = _get(base, logins["bureau"], "/api/lists")
                    probe.append((time.perf_counter(), latency))
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"probe: {exc!r}")
                due += 0.1
                time.sleep(max(0.0, due - time.perf_counter()))
                due = max(due, time.perf_counter())

        def paging(k: int) -> None:
            rng = random.Random(k)
            names = ["ledger_first_page_bureau", "ledger_first_page_admin", "ledger_next_page", "ledger_search_whole_id"]
            while not stop.is_set():
                name = rng.choice(names)
                who, path, _ = pages[name]
                try:
                    page_latencies.append(_get(base, logins[who], path(rng.randrange(10**6)))[1])
                    loads[name] += 1
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{name}: {exc!r}")

        def exporting() -> None:
            while not stop.is_set():
                try:
                    exports.append(exporter_process.submit(export_once, base, logins["bureau"], staff_count)
                                   .result()["seconds"])
                    _log(f"  export {len(exports)} done in {exports[-1]} s")
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"export: {exc!r}")

        threads = [threading.Thread(target=probing), *([threading.Thread(target=exporting)] if exporter else []),
                   *(threading.Thread(target=paging, args=(k,)) for k in range(3))]
        _log(f"freeze probe for {seconds:.0f} s")
        started, cpu = time.perf_counter(), _cpu_seconds()
        for t in threads:
            t.start()
        while time.perf_counter() - started < seconds:
            time.sleep(min(10.0, seconds - (time.perf_counter() - started)))
            _log(f"  {time.perf_counter() - started:.0f} s: {len(probe)} probes, longest "
                 f"{_ms(max((l for _, l in probe), default=0))} ms")
        stop.set()
        for t in threads:
            t.join()
        cpu = _cpu_seconds() - cpu  # while the exporting client's process still runs: its CPU is counted
        latencies = [latency for _, latency in probe]
        gaps = [b - a for (a, _), (b, _) in zip(probe, probe[1:])]
        return {"engine": "DynamoDB Local", "api_processes": api_processes, "staff": staff_count,
                "seconds": seconds, "exporting": exporter, "probe_requests": len(probe),
                "probe_latency": _summary(latencies, p95=True) | {"p99_ms": _ms(_percentile(latencies, 0.99))},
                "longest_gap_between_probe_answers_ms": _ms(max(gaps)),
                "probes_over_500_ms": sum(1 for latency in latencies if latency > 0.5),
                "load_pages": dict(loads), "load_page_latency": _summary(page_latencies, p95=True),
                "exports_done": len(exports), "export_seconds": exports, "errors": errors[:10],
                "cpu_seconds": {k: round(v, 1) for k, v in _cpu_split(cpu).items()},
                "peak_rss_mb_bench_process": peak_mb(), **_process_peaks()}


MEASUREMENTS.update({f.__name__: f for f in (pages_15k, pages_100k, pages_15k_moto, pages_freeze)})

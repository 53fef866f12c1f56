"""Search by name or phone (issue 24, item 6): the search index against the partition scan it replaced, at
15,000 and 300,000 staff in the searcher's scope, on DynamoDB Local.

A district is seeded once per size into DynamoDB Local's files under the bench cache (like pages_15k's: one
category, 100 enterprises over nine towns; names drawn from 100 surnames and 1–2 of 60 given-name
characters, so a whole name is rare and a given name common) and indexed by the code the writes use
(services/search/index.py). Each measurement then starts DynamoDB Local on those files in a fresh process
and asks the ledger's search the way the route does (services/views/ledger.list_page, in process, no HTTP),
warm first, then one query after another:

  search_index_15k, search_index_300k   the search index (this code)
  search_scan_15k,  search_scan_300k    the partition scan (the code on main before: every partition of the
                                        scope read narrow, filtered in Python; kept below as it was)
  search_ab_15k,    search_ab_300k      both, A B A B … in fresh processes (BENCH_SEARCH_PAIRS, default 2),
                                        the median ratio of the medians, and the load average around each

For each: median and worst per search, DynamoDB requests per search (by operation) and items returned, for
a bureau (the nine towns) and a 镇街 (one), by a whole name, a common two-character part of names, and a
phone's last four digits. `python -m bench.run --one search_ab_300k`; results in docs/performance.md.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter

from bench.run import CACHE, MEASUREMENTS, ROOT, _id_number, peak_mb

CATEGORY = "express"
ENTERPRISES = 100
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国志红平刚桂文辉玲玉萍海燕俊鹏飞斌宇浩凯晨欣婷雪琳佳子"
APP_SECRET = "bench-search-secret-" + "s" * 40  # the local ring "0": the same keys in every process


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def _environment(port: int) -> None:
    os.environ.update({"STAGE": "local", "TABLE_PREFIX": "sentinel-local-", "APP_SECRET": APP_SECRET,
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}"})
    os.environ.pop("PERSON_KEY_SECRET_ID", None)


def _dynamodb(staff_count: int):
    """DynamoDB Local on this size's files (seeded on first use), and the environment pointing at it."""
    from local.dynamodb import DynamoDBLocal
    from local.stack import free_port

    folder = CACHE / f"search-{staff_count}"
    ready = folder / "SEEDED"
    port = free_port()
    _environment(port)
    server = DynamoDBLocal(port, db_path=folder / "db").start()
    if not ready.exists():
        _seed(staff_count)
        ready.write_text(json.dumps({"staff": staff_count}))
    return server


def _seed(count: int) -> None:
    from chalicelib.rules import geography
    from chalicelib.rules.clock import now
    from chalicelib.services.common.parallel import in_parallel
    from chalicelib.services.registry import staff
    from chalicelib.services.registry.staff_schema import StaffIn
    from chalicelib.services.search import index
    from chalicelib.store.models import Enterprise, PersonHealth, Staff, UniqueKey
    from chalicelib.store.search import SearchEntry
    from bench.run import _enterprise

    for model in (Enterprise, Staff, SearchEntry, PersonHealth, UniqueKey):
        if not model.exists():
            model.create_table(wait=True)
    towns = [t for t in geography.towns() if t != "其他"]
    ents = [_enterprise(f"测试物流{n:03d}", towns[n % 9], CATEGORY, head_phone=f"139{n:08d}") for n in range(ENTERPRISES)]
    rng = random.Random(24)
    started, stamp = time.perf_counter(), now()
    heads = {e.enterprise_id: e.head_phone for e in ents}
    for start in range(0, count, 5000):
        people = {}
        for n in range(start, min(count, start + 5000)):
            ent = ents[n % ENTERPRISES]
            values = StaffIn(enterprise_id=ent.enterprise_id, name=_name(rng), id_number=_id_number(n),
                             phone=f"137{n:08d}", person_category="一线人员", residence_type="自行租住",
                             address=f"广州市南沙区进港大道{n % 500}号", extra={})
            person = Staff(ent.enterprise_id, staff.person_key(values.id_number), created_at=stamp)
            staff.assign(person, values, ent, stamp=stamp)
            people[(person.enterprise_id, person.person_key)] = person
        chunks = [list(people.values())[i:i + 500] for i in range(0, len(people), 500)]

        def write(chunk):
            with Staff.batch_write() as batch:
                for person in chunk:
                    batch.save(person)

        in_parallel([lambda c=c: write(c) for c in chunks])
        index.sync(people, heads=heads)
        _log(f"  staff and index {start + len(people):,}/{count:,} ({time.perf_counter() - started:.0f} s)")
    counts = Counter(n % ENTERPRISES for n in range(count))
    for n, ent in enumerate(ents):
        staff.adjust_count(ent.enterprise_id, counts[n])


# --- the partition scan, as services/registry/staff.py and services/views/ledger.py had it before ------------

NARROW = ["enterprise_id", "person_key", "created_at", "name", "phone", "id_number"]


def _scan_page(principal, *, category: str, q: str, town: str, page: int, page_size: int):
    from chalicelib.rules.text import fold
    from chalicelib.services.registry import staff
    from chalicelib.services.views import ledger
    from chalicelib.store.models import Enterprise, Staff

    parts = ledger.partitions(principal, category, town)
    needle = fold(q).casefold().replace(" ", "")
    hits = set()
    for part in parts:  # enterprises whose name contains the text: one query per town
        cat, t = part.split("#", 1)
        hits |= {e.enterprise_id for e in Enterprise.by_town.query(t, filter_condition=Enterprise.category == cat,
                                                                   attributes_to_get=["enterprise_id", "name_key"])
                 if needle in e.name_key}
    text = fold(q).replace(" ", "").upper()

    def matches(row) -> bool:
        if row.enterprise_id in hits:
            return True
        if text.isdigit() or (text[:-1].isdigit() and text.endswith("X")):
            return text in (row.phone or "") or (row.id_number or "").endswith(text)
        return text.casefold() in (row.name or "").casefold()

    rows = [r for p in parts for r in Staff.by_scope.query(p, attributes_to_get=NARROW) if matches(r)]
    rows.sort(key=lambda r: (r.created_at, r.person_key), reverse=True)
    start = (page - 1) * page_size
    people = staff.fetch([(r.enterprise_id, r.person_key) for r in rows[start:start + page_size]])
    ents = {e.enterprise_id: e for e in Enterprise.batch_get(list({p.enterprise_id for p in people}))} if people else {}
    return list(staff.with_health(people, ents, full=False, with_head=True)), len(rows)


def _index_page(principal, **kw):
    from chalicelib.services.views import ledger

    items, total, _ = ledger.list_page(principal, **kw)
    return items, total


# --- the measurement --------------------------------------------------------------------------------


def _queries(count: int, rng: random.Random) -> dict[str, list[str]]:
    """Search texts drawn from the seeded people: whole names, a common two-character part, phones' last 4."""
    names, seed = [], random.Random(24)
    for _ in range(min(count, 20_000)):
        names.append(_name(seed))
    whole = [n for n in names if len(n) == 3]
    return {"whole_name": [rng.choice(whole) for _ in range(40)],
            "common_part": [rng.choice(whole)[1:] for _ in range(40)],
            "phone_last4": [f"{rng.randrange(count):08d}"[-4:] for _ in range(40)]}


def _measure(how: str, staff_count: int) -> dict:
    from chalicelib.services.identity.auth import Principal
    from bench.pages import _counting_calls

    repeats = int(os.environ.get("BENCH_SEARCH_REPEATS", "15" if how == "index" or staff_count <= 20_000 else "3"))
    server = _dynamodb(staff_count)
    try:
        page = _index_page if how == "index" else _scan_page
        callers = {"bureau": Principal(id="youzheng", role="bureau", display_name="区邮政管理局", categories=[CATEGORY]),
                   "town": Principal(id="nanshajie", role="town", display_name="南沙街", town="南沙街")}
        queries = _queries(staff_count, random.Random(9))
        for q in queries["whole_name"][:3]:  # warm: the JVM, the connections, the tables described
            page(callers["bureau"], category=CATEGORY, q=q, town="", page=1, page_size=20)
        results = {}
        for who, principal in callers.items():
            for kind, texts in queries.items():
                seconds, totals, calls = [], [], None
                for q in texts[:repeats]:
                    with _counting_calls() as counted:
                        started = time.perf_counter()
                        _, total = page(principal, category=CATEGORY, q=q, town="", page=1, page_size=20)
                        seconds.append(time.perf_counter() - started)
                    totals.append(total)
                    if calls is None or (total and not calls[1]):  # a search that found someone, if any did
                        calls = (dict(counted), total)
                results[f"{who}_{kind}"] = {
                    "median_ms": round(statistics.median(seconds) * 1000, 1), "worst_ms": round(max(seconds) * 1000, 1),
                    "searches": len(seconds), "median_total": statistics.median(totals), "max_total": max(totals),
                    "dynamodb_calls_per_search": calls[0], "found_by_that_search": calls[1]}
                _log(f"  {how} {who} {kind}: {results[f'{who}_{kind}']}")
        return {"how": how, "staff_in_scope": staff_count, "results": results, "peak_rss_mb": peak_mb(),
                "load_average": os.getloadavg()}
    finally:
        server.stop()


def search_index_15k() -> dict:
    return _measure("index", 15_000)


def search_scan_15k() -> dict:
    return _measure("scan", 15_000)


def search_index_300k() -> dict:
    return _measure("index", 300_000)


def search_scan_300k() -> dict:
    return _measure("scan", 300_000)


def _alternated(size: str) -> dict:
    """A B A B … each in a fresh process; per pair the ratio of the medians (scan / index), and their median."""
    pairs = int(os.environ.get("BENCH_SEARCH_PAIRS", "2"))
    runs = []
    for n in range(pairs):
        for how in ("index", "scan"):
            before = os.getloadavg()
            done = subprocess.run([sys.executable, "-m", "bench.run", "--one", f"search_{how}_{size}"], cwd=ROOT,
                                  capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["load_average_before"] = before
            runs.append(result)
            _log(f"pair {n + 1} {how}: done (load {before[0]:.2f})")
    ratios = {}
    for key in runs[0]["results"]:
        per_pair = [runs[i + 1]["results"][key]["median_ms"] / runs[i]["results"][key]["median_ms"]
                    for i in range(0, len(runs), 2)]
        ratios[key] = {"scan_over_index_per_pair": [round(r, 1) for r in per_pair],
                       "median": round(statistics.median(per_pair), 1)}
    return {"size": size, "runs": runs, "ratios": ratios}


def search_ab_15k() -> dict:
    return _alternated("15k")


def search_ab_300k() -> dict:
    return _alternated("300k")


MEASUREMENTS.update({f.__name__: f for f in (search_index_15k, search_scan_15k, search_index_300k, search_scan_300k,
                                             search_ab_15k, search_ab_300k)})

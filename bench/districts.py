"""Districts as data (issue 24, item 5): a ledger page's DynamoDB requests and time at 10 towns (南沙区 alone,
the default) and at 170 (a city of 11 districts: 南沙区 and ten of 16 towns, from a districts file of its
own), on the embedded stack's DynamoDB Local.

    ledger_10_vs_170_towns   15,000 staff in 南沙区's nine towns (bench/pages.py's district); the page of a
                             bureau, a 专班, a 镇街 and 运维 (category 快递物流, page 1 and page 2 of 20). Then
                             the same stack serves the city: 10 more districts get 16 towns each, an
                             enterprise in every town and 15,000 more staff; the same pages for 南沙区's
                             bureau and 专班 (所属区 南沙区), the 镇街, and 运维, now city-wide. And a
                             search by name (志强) for each: the bench writes its staff without the
                             search index (indexing 30,000 people takes DynamoDB Local ~6 minutes), so it
                             finds no one — its requests are what a search costs whatever it finds
                             (bench/search.py measures the index with hits).

Requests are counted per operation as the route runs in this process (bench/pages.py `dynamodb_calls`,
the second request of each page); times are the median of 15 in-process requests after 3 warm ones.
`python -m bench.run --one ledger_10_vs_170_towns`; results in docs/performance.md.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.pages import _counting_calls, _log, district
from bench.run import MEASUREMENTS, _account_token, _admin_token, _enterprise, _seed_staff, embedded_stack

NANSHA = ["南沙街", "珠江街", "龙穴街", "黄阁镇", "横沥镇", "万顷沙镇", "大岗镇", "榄核镇", "东涌镇", "其他"]
REPEATS, WARM = 15, 3


def _city_file() -> Path:
    districts = [{"name": "南沙区", "towns": NANSHA}] + [
        {"name": f"第{d:02d}区", "towns": [f"第{d:02d}区第{t:02d}街" for t in range(1, 17)]} for d in range(1, 11)]
    path = Path(tempfile.mkdtemp()) / "city.json"
    path.write_text(json.dumps({"city": "测试市", "districts": districts}, ensure_ascii=False), encoding="utf-8")
    return path


def _pages(logins: dict) -> dict:
    """Each caller's page 1 and 2 of 快递物流 and a search, through the Chalice app in this process:
    requests, ms."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    import app as application

    gateway = LocalGateway(application.app, Config(chalice_stage="local", config_from_disk={}))
    out = {}
    for who, auth in logins.items():
        headers = {"authorization": auth["Authorization"], "host": "127.0.0.1"}
        for page, path in (("page 1", "/api/ledger?category=express&page=1&page_size=20"),
                           ("page 2", "/api/ledger?category=express&page=2&page_size=20"),
                           ("search 志强", "/api/ledger?category=express&page=1&page_size=20&q=志强")):
            for _ in range(WARM):
                gateway.handle_request("GET", path, headers, b"")
            with _counting_calls() as calls:
                answer = gateway.handle_request("GET", path, headers, b"")
            assert answer["statusCode"] == 200, answer
            seconds = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                gateway.handle_request("GET", path, headers, b"")
                seconds.append(time.perf_counter() - started)
            total = json.loads(answer["body"])["total"]
            out[f"{who} {page}"] = {"total": total, "requests": {k: v for k, v in calls.items() if "items" not in k},
                                         "median_ms": round(statistics.median(seconds) * 1000, 1)}
    return out


def ledger_10_vs_170_towns() -> dict:
    from chalicelib.rules import geography

    for name in ("DISTRICTS", "DISTRICTS_FILE"):
        os.environ.pop(name, None)
    with embedded_stack(dynamodb="local") as base:
        seeded = district(15_000)
        ten = _pages({"bureau": _account_token(base, "youzheng", "bureau", "区邮政管理局", categories=["express"]),
                      "taskforce": _account_token(base, "zhuanban", "taskforce", "专班"),
                      "town": _account_token(base, "nanshajie", "town", "南沙街", town="南沙街"),
                      "admin": _admin_token(base)})
        os.environ.update({"DISTRICTS_FILE": str(_city_file()), "DISTRICTS": "*"})
        towns = [t for d in geography.districts()[1:] for t in geography.towns_of(d)]
        _log(f"the city: {len(geography.towns())} towns; an enterprise in each of {len(towns)} more, 15,000 more staff")
        more = [_enterprise(f"外区物流{n:03d}", town, "express", head_phone=f"136{n:08d}") for n, town in enumerate(towns)]
        _seed_staff(lambda n: more[n % len(more)], 15_000)
        city = _pages({"bureau": _account_token(base, "ns-youzheng", "bureau", "南沙区邮政管理局", categories=["express"],
                                                district="南沙区"),
                       "taskforce": _account_token(base, "ns-zhuanban", "taskforce", "南沙区专班", district="南沙区"),
                       "town": _account_token(base, "nanshajie2", "town", "南沙街", town="南沙街"),
                       "admin": _admin_token(base)})
    same = {k: ten[k]["requests"] == city[k]["requests"] for k in ten if not k.startswith("admin")}
    return {"engine": "DynamoDB Local", "staff_in_nansha": seeded["staff"], "towns": {"district": 10, "city": 170},
            "at_10_towns": ten, "at_170_towns": city, "same_requests_at_10_and_170": same}


MEASUREMENTS.update({"ledger_10_vs_170_towns": ledger_10_vs_170_towns})

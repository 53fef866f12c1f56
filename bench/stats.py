"""Benchmarks of the statistics (issue 11): 核酸数据统计 and 疫苗数据统计 on the embedded stack (DynamoDB
Local), and their computation alone.

  stats_15k / _50k / _100k the district of bench/pages.py (100 enterprises over nine towns, one category)
                           with 1–3 samples per person over the last 14 days and doses for 90%; the roster
                           rebuilt once (its time reported: background work); then over HTTP the NAT table
                           (bureau: nine partitions; 运维: 全部类别), the vaccine table, a drill-down page —
                           median and worst of repeated requests, 20 concurrent clients, and the DynamoDB
                           and S3 calls of each request
  stats_compute            the two tables computed over synthetic partitions of 15,000, 100,000 and
                           1,000,000 people (numpy only, no I/O): how the computation grows

`python -m bench.run --one stats_15k`; results in bench/results/latest.json and docs/performance.md.
"""
from __future__ import annotations

import os
import random
import time
from datetime import timedelta

import numpy as np

from bench.pages import CATEGORY, CLIENTS, PER_CLIENT, _get, _log, _summary, concurrent, district, dynamodb_calls
from bench.run import MEASUREMENTS, _account_token, _admin_token, _id_number, embedded_stack, peak_mb

REPEATS = 15


def _seed_samples(count: int) -> float:
    """Each person's recent samples and doses in PersonHealth, as feeds leave them."""
    from chalicelib.rules.clock import now
    from chalicelib.services.health.state import sample_tag
    from chalicelib.services.registry import staff
    from chalicelib.store.models import PersonHealth

    rng, current, started = random.Random(11), now(), time.perf_counter()
    with PersonHealth.batch_write() as batch:
        for n in range(count):
            state = PersonHealth(staff.person_key(_id_number(n)), registered=True)
            times = sorted(current - timedelta(hours=rng.uniform(1, 13 * 24)) for _ in range(rng.choice((0, 1, 2, 3))))
            state.recent = {sample_tag(t, "阴性" if rng.random() > 0.01 else "未出结果", f"第{n % 40}采样点")
                            for t in times} or None
            if times:
                state.last_sampled_at, state.last_result = times[-1], "阴性"
            draw = rng.random()
            for dose, (share, days) in enumerate(((0.9, 500), (0.88, 470), (0.75, 250)), start=1):
                if draw < share:
                    setattr(state, f"dose{dose}_at", (current - timedelta(days=days)).date().isoformat())
                    setattr(state, f"dose{dose}_product", "北京科兴")
            batch.save(state)
            if (n + 1) % 20_000 == 0:
                _log(f"  samples {n + 1:,}/{count:,} ({time.perf_counter() - started:.0f} s)")
    return round(time.perf_counter() - started, 1)


def _rebuild_all() -> dict:
    from chalicelib.services.health import roster

    started = time.perf_counter()
    parts = roster.every_partition()
    for category, town in parts:
        roster.rebuild(category, town)
    return {"partitions": len(parts), "seconds": round(time.perf_counter() - started, 1)}


def _pages(base, logins) -> dict:
    from chalicelib.rules.clock import SHANGHAI, now

    today = now().astimezone(SHANGHAI)
    period = f"start={today:%Y-%m-%d}T00:00&end={today:%Y-%m-%d}T23:59"
    week = f"start={today - timedelta(days=6):%Y-%m-%d}T00:00&end={today:%Y-%m-%d}T23:59"
    return {
        "nat_table_bureau_today": ("bureau", lambda i: f"/api/stats/nat?category={CATEGORY}&{period}"),
        "nat_table_bureau_7_days": ("bureau", lambda i: f"/api/stats/nat?category={CATEGORY}&{week}"),
        "nat_table_admin_all_categories": ("admin", lambda i: f"/api/stats/nat?category=all&{period}"),
        "nat_table_town": ("town", lambda i: f"/api/stats/nat?category={CATEGORY}&{period}"),
        "vaccine_table_bureau": ("bureau", lambda i: f"/api/stats/vaccine?category={CATEGORY}"),
        "nat_drill_down_untested_page": ("bureau", lambda i: f"/api/stats/nat/people?category={CATEGORY}&{period}"
                                                              f"&measure=untested&page={1 + i % 5}"),
    }


def _stats_at(count: int) -> dict:
    api_processes = int(os.environ.get("LOCAL_API_PROCESSES", "4"))
    with embedded_stack(dynamodb="local", api_processes=api_processes) as base:
        seeded = district(count)
        seeded["seed_seconds"]["samples"] = _seed_samples(count)
        rebuilt = _rebuild_all()
        _log(f"roster rebuilt: {rebuilt}")
        logins = {"bureau": _account_token(base, "youzheng", "bureau", "区邮政管理局", categories=[CATEGORY]),
                  "admin": _admin_token(base), "town": _account_token(base, "nanshajie", "town", "南沙街", town="南沙街")}
        pages = _pages(base, logins)
        first = {name: _get(base, logins[who], path(0))[0] for name, (who, path) in pages.items()}
        assert first["nat_table_bureau_today"]["total"]["people"] == count, first["nat_table_bureau_today"]["total"]
        for _ in range(2 * api_processes):  # every API process meets every page once (its cache, its connections)
            for who, path in pages.values():
                _get(base, logins[who], path(0))
        sequential = {}
        for name, (who, path) in pages.items():
            sequential[name] = _summary([_get(base, logins[who], path(i))[1] for i in range(REPEATS)], p95=True)
            _log(f"  {name}: {sequential[name]}")
        conc = concurrent(base, logins, {name: (who, path, None) for name, (who, path) in pages.items()})
        return {"engine": "DynamoDB Local", "api_processes": api_processes, "staff": count,
                "seed_seconds": seeded["seed_seconds"], "roster_rebuild": rebuilt, "sequential": sequential,
                f"concurrent_{CLIENTS}_clients_x{PER_CLIENT}": conc, "aws_calls_per_request": dynamodb_calls(logins, pages, also=("s3",)),
                "tested_today_bureau": first["nat_table_bureau_today"]["total"]["tested"],
                "peak_rss_mb_bench_process": peak_mb()}


def stats_15k() -> dict:
    return _stats_at(15_000)


def stats_50k() -> dict:
    return _stats_at(50_000)


def stats_100k() -> dict:
    return _stats_at(100_000)


def synthetic_parts(people: int, *, partitions: int = 90, seed: int = 5):
    """Partitions holding `people` in all, each person with 0–3 samples in 14 days and doses."""
    from chalicelib.rules.clock import now
    from chalicelib.rules.vaccines import NONE, day_number
    from chalicelib.services.health.roster import Part

    rng = np.random.default_rng(seed)
    current = now()
    today = day_number(current.date())
    out = []
    for k in range(partitions):
        n = people // partitions + (1 if k < people % partitions else 0)
        per = rng.integers(0, 4, n)
        owner = np.repeat(np.arange(n, dtype=np.int32), per)
        at = (current.timestamp() - rng.uniform(0, 14 * 86_400, len(owner))).astype(np.int64)
        doses = np.full((3, n), NONE, np.int32)
        draw = rng.random(n)
        for d, (share, days) in enumerate(((0.9, 500), (0.88, 470), (0.75, 250))):
            doses[d][draw < share] = today - days
        out.append(Part("express", f"镇{k % 9}", current, [f"e{k}-{j}" for j in range(20)], ["一线人员", "管理人员"],
                        ["北京科兴"], rng.integers(0, 20, n).astype(np.int32), np.zeros(n, "S64"),
                        rng.integers(0, 2, n).astype(np.int16), np.full(n, 1990, np.int16), np.zeros(n, np.int64),
                        doses, np.zeros(n, np.int16), owner, at, rng.integers(0, 3, len(owner)).astype(np.int8)))
    return out


def stats_compute() -> dict:
    from chalicelib.rules.clock import SHANGHAI, now
    from chalicelib.services.stats import common, nat, vaccine

    current = now()
    today = current.astimezone(SHANGHAI)
    span = common.period(f"{today - timedelta(days=6):%Y-%m-%d}T00:00", f"{today:%Y-%m-%d}T23:59", current=current)
    out = {}
    for people in (15_000, 100_000, 1_000_000):
        parts = synthetic_parts(people)
        samples = sum(len(p.at) for p in parts)
        timings = {"nat": [], "vaccine": []}
        for _ in range(5):
            began = time.perf_counter()
            table = nat.compute(parts, span, current)
            timings["nat"].append(time.perf_counter() - began)
            began = time.perf_counter()
            vaccine.compute(parts, current)
            timings["vaccine"].append(time.perf_counter() - began)
        assert table["total"]["people"] == people
        out[f"{people}"] = {"samples": samples, **{k: _summary(v) for k, v in timings.items()}}
        _log(f"  {people:,}: {out[str(people)]}")
    out["peak_rss_mb"] = peak_mb()
    return out


MEASUREMENTS.update({f.__name__: f for f in (stats_15k, stats_50k, stats_100k, stats_compute)})


def rules_compute() -> dict:
    """The testing rules (rules/testing.py) over 15,000, 100,000 and 1,000,000 people, computation only:
    every person against 三天两检 and 七天三检, the non-compliant listed with their reasons."""
    from chalicelib.rules import testing
    from chalicelib.rules.clock import local_day, now
    from chalicelib.services.compliance.evaluate import evaluate

    day = local_day(now())
    out = {}
    for people in (15_000, 100_000, 1_000_000):
        parts = synthetic_parts(people)
        for code in ("3d2", "7d3"):
            rule = testing.rule(code)
            seconds, short = [], 0
            for _ in range(3):
                began = time.perf_counter()
                short = sum(len(evaluate(part, rule, day).shortfalls) for part in parts)
                seconds.append(time.perf_counter() - began)
            out[f"{people}_{code}"] = {**_summary(seconds), "non_compliant": short}
            _log(f"  {people:,} {rule.name}: {out[f'{people}_{code}']}")
    out["peak_rss_mb"] = peak_mb()
    return out


MEASUREMENTS.update({"rules_compute": rules_compute})

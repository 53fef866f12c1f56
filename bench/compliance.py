"""Benchmarks of the overnight run and the 09:00 push (issue 12), on the embedded stack (DynamoDB Local,
moto S3, the 粤政易 stand-in on loopback).

  night_100k   the district of bench/pages.py at 100,000 staff (100 enterprises over nine towns, one
               category, registered 20 days ago) with 1–3 samples each over 14 days, judged by 三天两检:
               night.start, then every part as the worker runs it (roster file → rule → names and phones
               by BatchGetItem → rows to S3 → shortfall items) — per part (what one Lambda invocation
               must fit in 15 minutes), in all, its AWS calls; the same day run again (same lists?);
               and the rule person by person (rules.testing.evaluate) against the vectorized one
  push_11x20   11 categories × 20 高级推送人员 (220 lists of a real run) + 专班's summary sent to the
               stand-in: the pass's time and AWS calls, every message once, a second pass (nothing left to
               send), and two concurrent passes on a fresh day
  morning_15k  the seed's district's morning (issue 22): 15,000 staff over 11 categories × 9 towns, 100
               高级推送人员 (10 categories, each one district-wide and one per town; 港口码头 has none, so its
               lists go to 运维), 专班 and 运维: the night, the first push, a re-run after two categories'
               rules changed, the corrected push (only those lists, once each), and a second trigger

`python -m bench.run --one night_100k`; results in bench/results/latest.json and docs/performance.md.
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime

from bench.pages import CATEGORY, _counting_calls, _log, _summary, district
from bench.run import MEASUREMENTS, embedded_stack, peak_mb
from bench.stats import _rebuild_all, _seed_samples


def _night(day: date) -> dict:
    """The run as the stack runs it (night.start, the parts through the import worker, one process), then
    each part's work again in this process, timed and counted (what one Lambda invocation does)."""
    from chalicelib.services.compliance import night
    from chalicelib.store.compliance import ComplianceRun

    with _counting_calls(("s3",)) as calls:
        began = time.perf_counter()
        run = night.start(day, force=True)
        start_seconds = time.perf_counter() - began
    while (done := night.header(day.isoformat())).status not in ("done", "failed"):
        time.sleep(0.2)
    through_worker = time.perf_counter() - began
    parts = [p for p in ComplianceRun.query(day.isoformat()) if p.part != "run" and p.generation == run.generation]
    per_part, part_calls = [], None
    for part in parts:
        with _counting_calls(("s3",)) as counted:
            began = time.perf_counter()
            night._judge(day.isoformat(), run.generation, part.category, part.town)
            per_part.append(time.perf_counter() - began)
        part_calls = dict(counted) if part_calls is None else part_calls  # the first part's, as an example
    return {"start_seconds": round(start_seconds, 2), "start_calls": dict(calls), "parts": len(parts),
            "night_through_worker_seconds": round(through_worker, 1), "part_seconds": _summary(per_part),
            "first_part_calls": part_calls, "status": done.status, "people": int(done.people),
            "non_compliant": int(done.shortfalls)}


def _scalar_against_vectorized(day: date) -> dict:
    """The rule person by person against the whole partition at once, over the same roster files."""
    from chalicelib.rules import testing
    from chalicelib.rules.clock import SHANGHAI
    from chalicelib.services.compliance.evaluate import evaluate
    from chalicelib.services.health import roster

    parts = roster.load(roster.every_partition())
    rule = testing.rule("3d2")
    began = time.perf_counter()
    vector = sum(len(evaluate(part, rule, day).shortfalls) for part in parts)
    vector_seconds = time.perf_counter() - began
    began = time.perf_counter()
    scalar = 0
    for part in parts:
        samples = [[] for _ in range(part.size)]
        for owner, at in zip(part.owner.tolist(), part.at.tolist()):
            samples[owner].append(datetime.fromtimestamp(at, SHANGHAI))
        for i in range(part.size):
            registered = datetime.fromtimestamp(int(part.created[i]), SHANGHAI).date()
            scalar += not testing.evaluate(rule, samples[i], day, registered_on=registered).compliant
    scalar_seconds = time.perf_counter() - began
    assert scalar == vector, (scalar, vector)
    return {"vectorized_seconds": round(vector_seconds, 3), "person_by_person_seconds": round(scalar_seconds, 2),
            "ratio": round(scalar_seconds / vector_seconds, 1), "non_compliant": vector}


def night_100k() -> dict:
    from chalicelib.rules.clock import local_day, now
    from chalicelib.store.models import AlertSetting

    count = 100_000
    with embedded_stack(dynamodb="local"):
        seeded = district(count, registered_days_ago=20)
        seeded["seed_seconds"]["samples"] = _seed_samples(count)
        rebuilt = _rebuild_all()
        AlertSetting(CATEGORY, rule="3d2", updated_at=now(), updated_by="bench").save()
        day = local_day(now())
        first = _night(day)
        _log(f"  night: {first}")
        again = _night(day)
        same = (again["people"], again["non_compliant"]) == (first["people"], first["non_compliant"])
        compared = _scalar_against_vectorized(day)
        _log(f"  rule: {compared}")
        return {"engine": "DynamoDB Local", "staff": count, "seed_seconds": seeded["seed_seconds"],
                "roster_rebuild": rebuilt, "night": first, "night_again_same_lists": same,
                "night_again_part_seconds": again["part_seconds"], "rule_computation": compared,
                "peak_rss_mb": peak_mb()}


def _push_district(categories, recipients: int) -> date:
    """One enterprise of three people per category in 南沙街, none tested: every list has three names."""
    from bench.run import _enterprise, _seed_staff
    from chalicelib.rules.clock import local_day, now
    from chalicelib.services.compliance import night
    from chalicelib.services.compliance.settings import TASKFORCE
    from chalicelib.services.feeds import ingest
    from chalicelib.store.models import AlertSetting, Recipient

    owners = [_enterprise(f"{c.name}测试主体", "南沙街", c.code, head_phone=f"139{n:08d}") for n, c in enumerate(categories)]
    _seed_staff(lambda n: owners[n % len(owners)], 3 * len(owners), registered_days_ago=20)
    _rebuild_all()
    for c in categories:
        AlertSetting(c.code, rule="1d1", recipients=[Recipient(user_id=f"user{r:02d}", name=f"值班员{r:02d}")
                                                     for r in range(recipients)], updated_at=now(), updated_by="bench").save()
    AlertSetting(TASKFORCE, rule="-", recipients=[Recipient(user_id="zhuanban", name="专班")], updated_at=now(),
                 updated_by="bench").save()
    ingest.freshness = lambda: {"nat": {"data_until": now().isoformat()}}  # data on time: lists, not notices
    day = local_day(now())
    for n in range(2):  # today and tomorrow: the second for the concurrent passes
        run = night.start(date.fromordinal(day.toordinal() + n), force=True)
        for category, town in [(c.code, "南沙街") for c in categories]:
            night.handle_part(run.day, run.generation, category, town)
    return day


def push_11x20() -> dict:
    from chalicelib.integrations import wecom
    from chalicelib.rules import catalog
    from chalicelib.services.compliance import push
    from local.wecom import WeComStandIn

    categories, recipients = catalog.CATEGORIES, 20
    with embedded_stack(dynamodb="local"):
        day = _push_district(categories, recipients)
        stand_in = WeComStandIn(members=tuple(f"user{r:02d}" for r in range(recipients)) + ("zhuanban",))
        creds = wecom.Credentials(stand_in.start(0), "local-corp", "local-secret", 1000002)
        pauses: list[float] = []
        client = wecom.Client(creds, sleep=pauses.append)
        with _counting_calls(("s3",)) as calls:
            began = time.perf_counter()
            counts = push.run_pass(day.isoformat(), client=client)
            seconds = time.perf_counter() - began
        messages = len(stand_in.outbox)
        began = time.perf_counter()
        second = push.run_pass(day.isoformat(), client=client)
        second_seconds = time.perf_counter() - began
        tomorrow = date.fromordinal(day.toordinal() + 1).isoformat()
        before, answers = len(stand_in.outbox), []
        threads = [threading.Thread(target=lambda: answers.append(push.run_pass(tomorrow, client=wecom.Client(
            creds, sleep=pauses.append)))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        per_member = {}
        for m in stand_in.outbox[before:]:
            for user in m["to"]:
                per_member[user] = per_member.get(user, 0) + 1
        stand_in.stop()
        items = len(categories) * recipients + 1
        return {"lists": len(categories) * recipients, "summary": 1, "pass": counts, "pass_seconds": round(seconds, 1),
                "per_item_ms": round(seconds / items * 1000, 1), "messages": messages,
                "aws_calls": dict(calls), "second_pass": second, "second_pass_seconds": round(second_seconds, 2),
                "concurrent_passes": answers, "concurrent_messages": len(stand_in.outbox) - before,
                "concurrent_messages_per_member": sorted(set(per_member.values())),
                "duplicates_dropped_by_stand_in": stand_in.duplicates, "pacing_pauses": len(pauses),
                "peak_rss_mb": peak_mb()}


def _judge_all(day: date) -> float:
    """A run of the day, every part judged in this process as the worker would; seconds."""
    from chalicelib.services.compliance import night

    began = time.perf_counter()
    run = night.start(day, force=True)
    for part in night.ComplianceRun.query(run.day):  # alongside the stack's worker: whoever claims a part judges it
        if part.part != "run" and part.generation == run.generation:
            night.handle_part(run.day, run.generation, part.category, part.town)
    while night.header(run.day).status not in ("done", "failed"):
        time.sleep(0.2)
    assert night.header(run.day).status == "done"
    return round(time.perf_counter() - began, 1)


def morning_15k() -> dict:
    from bench.run import _enterprise, _seed_staff
    from chalicelib.integrations import wecom
    from chalicelib.rules import catalog, geography
    from chalicelib.rules.clock import local_day, now
    from chalicelib.services.compliance import push, push_records
    from chalicelib.services.compliance.settings import OPS, TASKFORCE
    from chalicelib.services.feeds import ingest
    from chalicelib.store.models import AlertSetting, Recipient
    from local.wecom import WeComStandIn

    count, towns = 15_000, [t for t in geography.towns() if t != "其他"]
    with embedded_stack(dynamodb="local"):
        owners = [_enterprise(f"{c.name}{t}测试主体", t, c.code, head_phone=f"139{n:08d}")
                  for n, (c, t) in enumerate((c, t) for c in catalog.CATEGORIES for t in towns)]
        _seed_staff(lambda n: owners[n % len(owners)], count, registered_days_ago=20)
        _seed_samples(count)
        _rebuild_all()
        users = []
        for c in catalog.CATEGORIES:
            if c.code == "port":
                continue  # nobody: its lists are recorded 未推送（无接收人） and go to 运维's recipients
            chosen = [Recipient(user_id=f"{c.code}-all", name=f"{c.name}值班")] + [
                Recipient(user_id=f"{c.code}-{n}", name=f"{t}值班", town=t) for n, t in enumerate(towns)]
            users += [r.user_id for r in chosen]
            AlertSetting(c.code, rule=testing_rule(c), recipients=chosen, updated_at=now(), updated_by="bench").save()
        for code, user in ((TASKFORCE, "zhuanban"), (OPS, "yunwei")):
            AlertSetting(code, rule="-", recipients=[Recipient(user_id=user, name=user)], updated_at=now(),
                         updated_by="bench").save()
        ingest.freshness = lambda: {"nat": {"data_until": now().isoformat()}}  # data on time: lists, not notices
        day = local_day(now())
        night_seconds = _judge_all(day)
        stand_in = WeComStandIn(members=tuple(users) + ("zhuanban", "yunwei"))
        client = wecom.Client(wecom.Credentials(stand_in.start(0), "local-corp", "local-secret", 1000002),
                              sleep=lambda s: None)

        def a_pass(**kw) -> dict:
            sent, uploads = len(stand_in.outbox), len(stand_in.media)
            with _counting_calls(("s3",)) as calls:
                began = time.perf_counter()
                counts = push.run_pass(day.isoformat(), client=client, **kw)
                seconds = time.perf_counter() - began
            return {"seconds": round(seconds, 1), "pass": counts, "messages": len(stand_in.outbox) - sent,
                    "uploads": len(stand_in.media) - uploads, "s3_puts": calls.get("s3 PutObject", 0),
                    "dynamodb_calls": sum(v for k, v in calls.items() if not k.startswith("s3 ") and "items" not in k)}

        first = a_pass()
        _log(f"  first push: {first}")
        for code, rule in (("express", "7d1"), ("market", "1d1")):  # two categories' rules change, then a re-run
            setting = AlertSetting.get(code)
            setting.rule = rule
            setting.save()
        rerun_seconds = _judge_all(day)
        changed = push_records.changed_chains(day.isoformat(), push.items_of(day.isoformat()))
        corrected = a_pass(corrections=True)
        _log(f"  corrected push: {corrected}")
        again = a_pass(corrections=True)
        items = push.items_of(day.isoformat())
        fixes = [i for i in items if i.corrects]
        stand_in.stop()
        return {"staff": count, "partitions": len(owners), "recipients": len(users) + 2,
                "night_seconds": night_seconds, "first_push": first, "rerun_seconds": rerun_seconds,
                "changed_chains": len(changed), "changed_categories": sorted({c or "summary" for c, _ in changed.values()}),
                "corrected_push": corrected, "second_trigger": again,
                "corrections": len(fixes), "corrections_per_chain": max(
                    (sum(1 for f in fixes if f.chain == c) for c in {f.chain for f in fixes}), default=0),
                "unrouted_records": sum(1 for i in items if i.kind == "unrouted"),
                "superseded": sum(1 for i in items if i.status == "superseded"), "peak_rss_mb": peak_mb()}


def testing_rule(category) -> str:
    from chalicelib.rules import testing

    return testing.rule(category.rule).code


MEASUREMENTS.update({"night_100k": night_100k, "push_11x20": push_11x20, "morning_15k": morning_15k})

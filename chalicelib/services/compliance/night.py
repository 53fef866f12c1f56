"""The overnight compliance run (§2.6 "系统每天凌晨…匹配"): after the matcher has healed health state,
every ledger partition (category × town) is judged by its category's rule from the health roster, the
statistics' own read model, and the run is stored for 告警记录, the 09:00 push and the heads.

    start(day) ─▶ header "run" (generation g, running) + one part item per partition (queued)
               └▶ one mark per part under uploads/compliance/part/<day>/<g>/<category>/<town>.json
    S3 event ─▶ handle_part: claim (jobs life cycle) ─▶ evaluate ─▶ rows JSON in S3, shortfalls per
               enterprise ─▶ done ─▶ the last part to end completes the header (done | failed)

Why fan out through S3 → SQS like the roster marks: at a city's size (1,000,000 people) one function
cannot judge every partition inside Lambda's 15 minutes, and a part that fails is retried alone.
Running a day again (运维, or after the feed came late) bumps the generation: every mark of an earlier
generation finds a newer one and does nothing, and the same data gives the same lists.

Stale data guard: if the NAT feed has not reached the day before the run day (its newest sample is
older), the header is marked stale; the push then sends a notice that the data is late, not the lists.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.errors import ValidationError
from chalicelib.integrations import storage
from chalicelib.rules import catalog
from chalicelib.rules.clock import SHANGHAI, local_day, now
from chalicelib.rules.feeds import KEEP_DAYS
from chalicelib.rules.masking import mask_phone
from chalicelib.services.compliance import evaluate, lists, versions
from chalicelib.services.compliance import settings as alert_settings
from chalicelib.services.feeds import ingest
from chalicelib.services.health import roster
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.store.compliance import HEADER, ComplianceRun, PushItem, ShortfallItem
from chalicelib.store.values import condition_failed

log = logging.getLogger(__name__)
MARKS = "uploads/compliance/"
PUSH_MARKS = MARKS + "push/"  # a push pass for a day (services/compliance/push.py)
KEEP = timedelta(days=30)
LOOK_BACK_DAYS = 14  # how far back 运维 may run a day again: the roster keeps 14 days of samples
SCHEDULED = "定时任务"


def part_key(category: str, town: str) -> str:
    return f"{category}#{town}"


def header(day: str) -> ComplianceRun | None:
    try:
        return ComplianceRun.get(day, HEADER, consistent_read=True)
    except DoesNotExist:
        return None


def check_day(text: str, *, current: datetime | None = None) -> date:
    """A day 运维 may run: within the last LOOK_BACK_DAYS days, not after today (Asia/Shanghai)."""
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValidationError("日期格式应为 YYYY-MM-DD", fields={"day": "日期格式应为 YYYY-MM-DD"})
    today = local_day(current or now())
    if day > today or day < today - timedelta(days=LOOK_BACK_DAYS - 1):
        raise ValidationError(f"只能选择最近 {LOOK_BACK_DAYS} 天内的日期",
                              fields={"day": f"只能选择最近 {LOOK_BACK_DAYS} 天内的日期"})
    return day


def earliest_rerun(today: date, settings_by_code: dict | None = None) -> tuple[date, str]:
    """The earliest day whose every category's window lies inside the kept samples (from 00:00 of the
    14th day before today), and the rule that decides it: a 七天一检 day can be judged again for a week,
    a 十四天一检 day only today."""
    settings_by_code = versions.configured() if settings_by_code is None else settings_by_code
    rules = [alert_settings.rule_of(c.code, settings_by_code.get(c.code)) for c in catalog.CATEGORIES]
    longest = max(rules, key=lambda r: r.days)
    return today - timedelta(days=KEEP_DAYS - longest.days), longest.name


def check_window(day: date, *, current: datetime | None = None) -> None:
    """A re-run judges a day as it was: only if the samples its windows need are still kept."""
    earliest, rule = earliest_rerun(local_day(current or now()))
    if day < earliest:
        message = (f"{day.isoformat()} 的检查需要更早的核酸数据，已超出系统保留的近{KEEP_DAYS}天数据"
                   f"（最长的检测规则为{rule}），最早可重新运行 {earliest.isoformat()}")
        raise ValidationError(message, fields={"day": f"最早可选 {earliest.isoformat()}"})


# --- starting a run -----------------------------------------------------------------------------------

def request(day: date, *, by: str) -> ComplianceRun | None:
    """运维's 重新运行检查, as the day's header shows it until the matcher's segments (overnight.py, which
    the caller starts) have run and this run's new generation begins. The lease says "in progress" to a
    second click meanwhile: the header is written only while no run holds it (one conditional write, so
    two clicks at once start one run); None when one does."""
    current = now()
    run = header(day.isoformat()) or ComplianceRun(day.isoformat(), HEADER, generation=0)
    run.status, run.lease_until, run.attempts, run.started_by = "queued", current + jobs.LEASE, 0, by
    run.message, run.expires_at = "已排队，等待运行匹配和检查", current + KEEP
    free = (ComplianceRun.day.does_not_exist() | ~ComplianceRun.status.is_in("queued", "running")
            | ComplianceRun.lease_until.does_not_exist() | (ComplianceRun.lease_until < current))
    try:
        run.save(condition=free)
    except PutError as exc:
        if condition_failed(exc):
            return None
        raise
    return run


def announce(day: date, *, by: str) -> None:
    """The scheduled night has begun (its matcher first): a header for the day, unless it has one."""
    current = now()
    try:
        ComplianceRun(day.isoformat(), HEADER, generation=0, status="queued", started_by=by, started_at=current,
                      message="凌晨匹配进行中，完成后开始检查", expires_at=current + KEEP).save(
            condition=ComplianceRun.day.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def start(day: date, *, by: str = SCHEDULED, force: bool = False) -> ComplianceRun:
    """Begin the day's run over every partition. Without `force` (the schedule), a day that already has
    a run keeps it: EventBridge may fire twice."""
    text, current = day.isoformat(), now()
    existing = header(text)
    if existing is not None and existing.generation and not force:
        return existing
    generation = int(existing.generation or 0) + 1 if existing else 1
    partitions = roster.every_partition()
    stale, until = _stale(day)
    run = ComplianceRun(text, HEADER, generation=generation, status="running", parts=len(partitions), stale=stale,
                        data_until=until, started_at=current, started_by=by, people=0, shortfalls=0, attempts=1,
                        message=stale_text(until) if stale else f"正在检查 {len(partitions)} 个分区",
                        expires_at=current + KEEP)
    condition = (ComplianceRun.generation == existing.generation) if existing else ComplianceRun.day.does_not_exist()
    try:
        run.save(condition=condition)
    except PutError as exc:
        if condition_failed(exc):
            return header(text)  # a concurrent start won; its run is the day's
        raise
    wanted = {part_key(c, t) for c, t in partitions}
    with ComplianceRun.batch_write() as batch:
        for old in ComplianceRun.query(text):
            if old.part != HEADER and old.part not in wanted:
                batch.delete(old)
        for category, town in partitions:
            batch.save(ComplianceRun(text, part_key(category, town), generation=generation, status="queued",
                                     category=category, town=town, attempts=0, expires_at=current + KEEP))
    for category, town in partitions:
        _mark(f"part/{text}/{generation}/{category}/{town}.json", {"day": text, "generation": generation})
    if not partitions:
        _complete(text, generation)
    return header(text)


def _stale(day: date) -> tuple[bool, str | None]:
    until = ingest.freshness()["nat"]["data_until"]
    if not until:
        return True, None
    return datetime.fromisoformat(until).astimezone(SHANGHAI).date() < day - timedelta(days=1), until


def stale_text(until: str | None) -> str:
    when = datetime.fromisoformat(until).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if until else "无数据"
    return f"核酸检测数据未按时更新（最新数据截至 {when}），名单暂缓推送"


def _mark(name: str, body: dict) -> None:
    storage.put(MARKS + name, json.dumps(body).encode(), content_type="application/json")


# --- the worker's side ----------------------------------------------------------------------------------

def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    """A part's mark: `part/<day>/<generation>/<category>/<town>.json` (one part of a run)."""
    path = key.removeprefix(MARKS).removesuffix(".json").split("/")
    if path[0] == "part" and len(path) == 5 and path[2].isdigit():
        return handle_part(path[1], int(path[2]), path[3], path[4], delivery=delivery)
    return f"compliance: ignored {key}"


def record_for(key: str) -> ComplianceRun | None:
    """The part a mark is for (dead letters)."""
    path = key.removeprefix(MARKS).removesuffix(".json").split("/")
    if path[0] != "part" or len(path) != 5:
        return None
    try:
        return ComplianceRun.get(path[1], part_key(path[3], path[4]))
    except DoesNotExist:
        return None


def handle_part(day: str, generation: int, category: str, town: str, *, delivery: int = 1) -> str:
    try:
        part = ComplianceRun.get(day, part_key(category, town), consistent_read=True)
    except DoesNotExist:
        return f"compliance {day} {category}/{town}: no such part"
    if part.generation != generation:
        return f"compliance {day} {category}/{town}: generation {generation} superseded"
    if not jobs.claim(part):
        return f"compliance {day} {category}/{town}: already {part.status}"
    try:
        with jobs.attempt(part, delivery=delivery):
            people, rows, rule = _judge(day, generation, category, town)
            jobs.finish(part, status="done", message=f"共 {people} 人，未按规定检测 {len(rows)} 人",
                        actions=[ComplianceRun.people.set(people), ComplianceRun.shortfalls.set(len(rows)),
                                 ComplianceRun.rule.set(rule), ComplianceRun.digest.set(versions.part_digest(rows)),
                                 ComplianceRun.result_key.set(lists.rows_key(day, generation, category, town))])
    finally:
        _complete(day, generation)
    return f"compliance {day} {category}/{town}: {len(rows)} of {people}"


def _judge(day: str, generation: int, category: str, town: str) -> tuple[int, list[dict], str]:
    part = roster.rebuild_part(category, town)  # the night's own read of the partition: samples aged out leave it
    rule = alert_settings.rule_of(category)
    result = evaluate.evaluate(part, rule, date.fromisoformat(day))
    rows = lists.resolve(result)
    lists.save_rows(day, generation, category, town, rows)
    expires = now() + KEEP
    with ShortfallItem.batch_write() as batch:
        for row in rows:
            batch.save(ShortfallItem(f"{day}#{row['enterprise_id']}", row["person_key"], generation=generation,
                                     name=row["name"], phone=mask_phone(row["phone"]), reason=row["reason"], due=row["due"],
                                     last_sampled=row["last_sampled"], tests=row["tests"], required=row["required"],
                                     expires_at=expires))
    return result.people, rows, rule.code


def _complete(day: str, generation: int) -> None:
    """The run is done when every part of its generation has ended; whoever ends last says so (the
    condition makes it once)."""
    parts = [p for p in ComplianceRun.query(day, consistent_read=True)
             if p.part != HEADER and p.generation == generation]
    if any(p.status not in ("done", "failed") for p in parts):
        return
    failed = [p for p in parts if p.status == "failed"]
    run = header(day)
    if run is None:
        return
    people, short = sum(int(p.people or 0) for p in parts), sum(int(p.shortfalls or 0) for p in parts)
    if failed:
        status, message = "failed", f"{len(failed)} 个分区检查失败：" + "；".join(
            f"{p.category}/{p.town}：{p.message}" for p in failed[:3])
    else:
        status = "done"
        message = (stale_text(run.data_until) if run.stale else "") or f"共 {people} 人，未按规定检测 {short} 人"
    try:
        run.update(actions=[ComplianceRun.status.set(status), ComplianceRun.message.set(message),
                            ComplianceRun.people.set(people), ComplianceRun.shortfalls.set(short),
                            ComplianceRun.finished_at.set(now()), ComplianceRun.lease_until.remove()],
                   condition=(ComplianceRun.generation == generation) & (ComplianceRun.status == "running"))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return
    if status == "done" and not run.stale and next(iter(PushItem.query(day, limit=1)), None) is not None:
        # the morning's push already went out (notices, if this run was late): send the lists now
        request_push(day, by="检查完成后自动推送")


def request_push(day: str, *, by: str, name: str = "") -> None:
    """A push pass for the day, run by the worker: 运维's 立即推送 and 重试, and a run that completes late.
    `name` prefixes the mark (push.CORRECTIONS: a pass that also plans corrections)."""
    _mark(f"push/{day}/{name}{uuid.uuid4().hex}.json", {"day": day, "by": by})

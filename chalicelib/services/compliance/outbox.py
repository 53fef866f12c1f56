"""Planning the day's 粤政易 messages (推送记录's items) from the run and the 告警设置 — what the 09:00
push and its corrections send; push.py sends them.

One chain of items per recipient and list (versions.py): the first item is keyed by the chain itself,
each correction by "<chain>#g<generation>", all written with a conditional put, so a recipient gets each
version of a list once however often a pass runs or its event is redelivered:

    plan(day)                     ─▶ a chain with no item yet gets one (a recipient added later, or the
                                     lists after the morning's 暂缓推送 notice)
    plan(day, corrections=True)   ─▶ also: a chain whose newest item carries another version than the run
                                     says now gets a correction (更正, what changed); an older item that
                                     was never delivered is superseded instead of sent

What an item sends is fixed when it is planned: the card's text (`card`) and its attachment, written
once under a key naming the run's generation and the list's version (`push/<day>/<category>/<where>/
g<generation>-<version>.xlsx`), with the people it names beside it (`….json`) for a later correction's
"新增 / 移出". Nothing is rebuilt for an item already planned.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.config import settings
from chalicelib.integrations import storage
from chalicelib.rules import catalog
from chalicelib.rules.clock import now
from chalicelib.services.compliance import lists, night, versions
from chalicelib.services.compliance import settings as alert_settings
from chalicelib.services.compliance.versions import Spec
from chalicelib.store.compliance import ComplianceRun, PushItem
from chalicelib.store.values import condition_failed
from chalicelib.workbooks.enterprise_book import XLSX

PASS = "~pass"
DELIVERED = ("sent", "unknown", "running")  # the recipient has (or may have) the earlier version


def console_url() -> str:
    return settings().console_url


def items_of(day: str) -> list[PushItem]:
    return [i for i in PushItem.query(day, consistent_read=True) if i.item != PASS]


def plan(day: str, *, corrections: bool = False) -> int:
    """Add the items the day lacks; returns how many were added."""
    run = night.header(day)
    ready = run is not None and run.status == "done" and not run.stale
    by_code = versions.configured()
    existing = items_of(day)
    planned = {i.item for i in existing}
    wanted: list[tuple[PushItem, PushItem | None]] = []
    if ready:
        latest = versions.latest_by_chain(existing)
        files = _Files(day, int(run.generation))
        for spec in versions.expected(versions.run_parts(day, run), by_code).values():
            prev = latest.get(spec.chain)
            if prev is None:
                key = spec.chain
            elif corrections and prev.version is not None and prev.version != spec.version:
                key = f"{spec.chain}#g{int(run.generation)}"
            else:
                continue
            if key not in planned:
                wanted.append((_item(day, run, spec, key, prev, files, by_code), prev))
    else:
        wanted = [(n, None) for n in _notices(day, run, by_code) if n.item not in planned]
    added = 0
    for item, prev in wanted:
        try:
            item.save(condition=PushItem.item.does_not_exist())
            added += 1
        except PutError as exc:
            if not condition_failed(exc):
                raise
            continue
        if prev is not None and prev.status in ("queued", "failed"):
            _supersede(prev, item)
    return added


def _supersede(prev: PushItem, by: PushItem) -> None:
    """An earlier version nobody received is not sent any more: its correction replaces it."""
    try:
        prev.update(actions=[PushItem.status.set("superseded"), PushItem.finished_at.set(now()),
                             PushItem.message.set(f"名单已更正，此消息不再发送（更正见 {by.title or by.item}）")],
                    condition=PushItem.status.is_in("queued", "failed"))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


# --- items --------------------------------------------------------------------------------------------

def _item(day: str, run: ComplianceRun, spec: Spec, key: str, prev: PushItem | None, files: "_Files",
          by_code: dict) -> PushItem:
    if spec.kind == "summary":
        return _summary(day, run, spec, key, prev, files)
    name = lists.category_name(spec.category)
    rule = alert_settings.rule_of(spec.category, by_code.get(spec.category))
    attachment, who = files.list_book(spec) if spec.shortfalls else (None, [])
    correction = prev is not None and prev.status in DELIVERED
    if spec.kind == "unrouted":
        title = f"{name}（{spec.where}）未设置高级推送人员"
        ops = versions.recipients_of(by_code, versions.OPS)
        message = (f"未推送（无接收人）：{spec.where}的 {spec.shortfalls} 名未按规定检测人员没有高级推送人员接收"
                   + ("，已转发运维接收人" if ops else "，且未设置运维接收人，请在告警设置中添加推送人员"))
        return _base(day, run, spec, key, prev, kind="unrouted", status="unrouted", title=title, message=message,
                     description=message, attachment=attachment, name="（无接收人）")
    ops = key.startswith("ops#")
    title = ("【更正】" if correction else "") + (
        f"哨点人员核酸检测告警（无接收人）：{name}（{spec.where}）" if ops else f"哨点人员核酸检测告警：{name}（{spec.where}）")
    if spec.shortfalls:
        found = f"{spec.people} 人中有 {spec.shortfalls} 人未按「{rule.name}」进行核酸检测，名单见随后发送的附件。"
    else:
        found = f"{spec.people} 人均已按「{rule.name}」进行核酸检测。"
    if correction:
        text = f"{day} 凌晨检查已重新运行，{_change(prev, who, spec.shortfalls)}请以本消息为准，此前的名单作废。{found}"
    else:
        text = f"{day} 凌晨检查：{found}"
    if ops:
        text = f"{spec.where}未设置高级推送人员，名单转运维处理。" + text
    return _base(day, run, spec, key, prev, kind="list", title=title, description=text, attachment=attachment)


def _summary(day: str, run: ComplianceRun, spec: Spec, key: str, prev: PushItem | None, files: "_Files") -> PushItem:
    unrouted = sum(x["unrouted"] for x in spec.lines)
    correction = prev is not None and prev.status in DELIVERED
    found = (f"{len(spec.lines)} 类哨点人员共 {spec.people} 人，未按规定检测 {spec.shortfalls} 人"
             + (f"，其中 {unrouted} 人所在类别或镇街未设置高级推送人员，已转运维处理" if unrouted else "")
             + "，各类别明细见随后发送的附件。")
    if correction:
        text = (f"{day} 凌晨检查已重新运行，未按规定检测由 {int(prev.rows or 0)} 人变为 {spec.shortfalls} 人，"
                f"请以本消息为准。{found}")
    else:
        text = f"{day} 凌晨检查：{found}"
    attachment = files.summary_book(spec, note=f"{day} 凌晨检查结果" + (
        f"（重新运行，第 {int(run.generation)} 次检查）" if int(run.generation) > 1 else ""))
    return _base(day, run, spec, key, prev, kind="summary", title=("【更正】" if correction else "") + "哨点人员核酸检测统计",
                 description=text, attachment=(attachment, lists.summary_filename(day)))


def _change(prev: PushItem, who: list, now_count: int) -> str:
    """What a correction changed: 名单由 10 人变为 37 人（新增 27 人，移出 0 人）."""
    before = _people_of(prev)
    counts = ""
    if before is not None:
        after = {tuple(x) for x in who}
        counts = f"（新增 {len(after - before)} 人，移出 {len(before - after)} 人）"
    return f"名单由 {int(prev.rows or 0)} 人变为 {now_count} 人{counts}，"


def _people_of(item: PushItem) -> set | None:
    if not item.attachment_key:
        return set() if item.version is not None else None
    try:
        return {tuple(x) for x in json.loads(storage.get(item.attachment_key.removesuffix(".xlsx") + ".json"))}
    except (ClientError, ValueError):
        return None


def _base(day: str, run: ComplianceRun, spec: Spec, key: str, prev: PushItem | None, *, kind: str, title: str,
          description: str, attachment, status: str = "queued", message: str | None = None,
          name: str | None = None) -> PushItem:
    current = now()
    recipient = spec.recipient
    attachment_key, filename = attachment if attachment else (None, None)
    card = {"msgtype": "textcard", "textcard": {
        "title": title[:60], "description": description[:500], "btntxt": "详情",
        "url": f"{console_url().rstrip('/')}/#/alerts/pushes?day={quote(day)}"}}
    return PushItem(day, key, kind=kind, status=status, chain=spec.chain, generation=int(run.generation),
                    version=spec.version, user_id=getattr(recipient, "user_id", None),
                    name=name or getattr(recipient, "name", None), town=(getattr(recipient, "town", "") or None),
                    towns="、".join(spec.towns) or None, category=spec.category, title=title, description=description,
                    card=None if status == "unrouted" else json.dumps(card, ensure_ascii=False),
                    rows=spec.shortfalls, attachment_key=attachment_key, filename=filename, message=message,
                    corrects=prev.item if prev is not None else None, created_at=current, attempts=0,
                    expires_at=current + night.KEEP, finished_at=current if status == "unrouted" else None)


def _notices(day: str, run: ComplianceRun | None, by_code: dict) -> list[PushItem]:
    """The run is not ready (not run, not finished, or its data late): each recipient is told the lists
    are held, once."""
    if run is not None and run.status == "done" and run.stale:
        why = night.stale_text(run.data_until).replace("，名单暂缓推送", "")
    elif run is None:
        why = "今日凌晨检查未运行"
    else:
        why = f"今日凌晨检查尚未完成（{run.message or run.status}）"
    out = []
    targets = [(c.code, c.name) for c in catalog.CATEGORIES] + [(alert_settings.TASKFORCE, "哨点监测专班")]
    for code, label in targets:
        for recipient in versions.recipients_of(by_code, code):
            category = None if code == alert_settings.TASKFORCE else code
            title = f"哨点人员核酸检测告警暂缓：{label}"
            text = f"{day}：{why}。为免误报，今日名单暂缓推送，数据到达并完成检查后将另行推送。"
            card = {"msgtype": "textcard", "textcard": {"title": title, "description": text, "btntxt": "详情",
                                                        "url": f"{console_url().rstrip('/')}/#/alerts/runs"}}
            current = now()
            out.append(PushItem(day, f"held#{category or 'summary'}#{recipient.user_id}", kind="notice",
                                status="queued", user_id=recipient.user_id, name=recipient.name,
                                town=recipient.town or None, category=category, title=title, description=text,
                                card=json.dumps(card, ensure_ascii=False), created_at=current, attempts=0,
                                expires_at=current + night.KEEP))
    return out


class _Files:
    """The pass's attachments: each (list, version) built once, under a key of its own, never rewritten."""

    def __init__(self, day: str, generation: int):
        self.day, self.generation = day, generation
        self.built: dict[str, tuple[str, list]] = {}

    def list_book(self, spec: Spec) -> tuple[tuple[str, str], list]:
        where = spec.where
        slug = "ops" if spec.towns else (where if getattr(spec.recipient, "town", "") else "all")
        key = f"push/{self.day}/{spec.category}/{slug}/g{self.generation}-{spec.version}.xlsx"
        if key not in self.built:
            rows = [r for p in sorted(spec.parts, key=lambda p: versions.town_order(p.town))
                    for r in lists.part_rows(p)]
            who = [[r["enterprise_id"], r["person_key"]] for r in rows]
            if not _exists(key):
                storage.put(key.removesuffix(".xlsx") + ".json", json.dumps(who).encode(),
                            content_type="application/json")
                storage.put(key, lists.list_book(spec.category, self.day, where, rows), content_type=XLSX)
            self.built[key] = (key, who)
        key, who = self.built[key]
        return (key, lists.list_filename(spec.category, self.day, where)), [tuple(x) for x in who]

    def summary_book(self, spec: Spec, *, note: str) -> str:
        key = f"push/{self.day}/summary/g{self.generation}-{spec.version}.xlsx"
        if key not in self.built:
            if not _exists(key):
                storage.put(key, lists.summary_book(self.day, spec.lines, note=note), content_type=XLSX)
            self.built[key] = (key, [])
        return key


def _exists(key: str) -> bool:
    try:
        storage.s3().head_object(Bucket=settings().files_bucket, Key=key)
        return True
    except ClientError:
        return False

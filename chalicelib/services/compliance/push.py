"""The 09:00 push (§2.6) through 粤政易: each category's 高级推送人员 get its list of non-compliant people
(their town's only, where one is set), 哨点监测专班 the daily summary, and when the night's run is not
ready or its data is late, a notice saying so instead of the lists.

Exactly once per day, recipient and list: an outbox item (push-outbox: day, "<list>#<user>") is planned
with a conditional put, then moved by conditional writes:

    queued ──claim──▶ running ──▶ sent | failed (reason, errcode) | unknown (the answer was lost)
                        │ the sender died: with a request on the wire (inflight) ──▶ unknown
                        │                  with none ──▶ queued again (nothing can have arrived)
    failed ──重试 (运维)──▶ queued          unknown ──标记为已送达 / 重新发送 (运维)──▶ sent / queued

A pass holds the day's lease ("~pass"), so two triggers at once (a retried Lambda, 运维's button while
the schedule runs) never work the same outbox together; the item claims hold even if they did, and
WeCom's enable_duplicate_check is the last guard. A list goes out as a textcard then the file; each
step is recorded, so a retry sends only what has not been sent.
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from urllib.parse import unquote_plus

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.integrations import storage, wecom
from chalicelib.rules import catalog
from chalicelib.rules.clock import now
from chalicelib.services.compliance import lists, night
from chalicelib.services.compliance import settings as alert_settings
from chalicelib.store.compliance import HEADER, ComplianceRun, PushItem
from chalicelib.store.models import AlertSetting
from chalicelib.store.values import condition_failed
from chalicelib.workbooks.enterprise_book import XLSX

log = logging.getLogger(__name__)
MARKS = night.PUSH_MARKS
PASS = "~pass"
PASS_LEASE = timedelta(minutes=15)
ITEM_LEASE = timedelta(minutes=4)  # one item: a token, an upload and two sends, each with retries
MEDIA_VALID = timedelta(days=2, hours=12)  # WeCom keeps an upload 3 days
STOP_BEFORE_MS = 90_000  # leave a scheduled function this much time: the rest continues in the worker
STATUS_NAMES = {"queued": "待发送", "running": "发送中", "sent": "已发送", "failed": "发送失败", "unknown": "结果未知"}
KIND_NAMES = {"list": "未按规定检测名单", "summary": "哨点监测专班每日统计", "notice": "暂缓推送通知"}
UNKNOWN_HINT = "请向接收人核实：已收到请「标记为已送达」，未收到再「重新发送」"


def console_url() -> str:
    return os.environ.get("CONSOLE_URL", "http://127.0.0.1:8000/")


# --- planning ---------------------------------------------------------------------------------------

def plan(day: str) -> int:
    """The day's outbox from the run and the 告警设置 as they are now; items already planned keep their
    state (a recipient added later gets a new item). Returns how many items were added."""
    run = night.header(day)
    ready = run is not None and run.status == "done" and not run.stale
    parts = [p for p in ComplianceRun.query(day)
             if p.part != HEADER and p.generation == run.generation] if ready else []
    configured = {s.category: s for s in AlertSetting.batch_get(
        [c.code for c in catalog.CATEGORIES] + [alert_settings.TASKFORCE])}
    planned = {i.item for i in items_of(day)}  # never built again: a retry or a second trigger plans nothing
    wanted: list[PushItem] = []
    books: dict[tuple[str, str], tuple[str, int]] = {}
    for category in catalog.CATEGORIES:
        setting = configured.get(category.code)
        for recipient in (setting.recipients if setting else []):
            key = f"{category.code}#{recipient.user_id}" if ready else f"held#{category.code}#{recipient.user_id}"
            if key in planned:
                continue
            wanted.append(_list_item(day, category, recipient, parts, books, configured) if ready
                          else _notice(day, category.code, category.name, recipient, run))
    taskforce = configured[alert_settings.TASKFORCE].recipients if alert_settings.TASKFORCE in configured else []
    summary = None
    for recipient in taskforce:
        if (f"summary#{recipient.user_id}" if ready else f"held#summary#{recipient.user_id}") in planned:
            continue
        if not ready:
            wanted.append(_notice(day, None, "哨点监测专班", recipient, run))
            continue
        summary = summary or _summary_book(day, _summary_lines(parts, configured))
        wanted.append(_summary_item(day, recipient, *summary))
    added = 0
    for item in wanted:
        try:
            item.save(condition=PushItem.item.does_not_exist())
            added += 1
        except PutError as exc:
            if not condition_failed(exc):
                raise
    return added


def _base(day: str, item: str, kind: str, recipient, **values) -> PushItem:
    current = now()
    return PushItem(day, item, kind=kind, status="queued", user_id=recipient.user_id, name=recipient.name,
                    town=recipient.town or None, created_at=current, attempts=0, expires_at=current + night.KEEP,
                    **values)


def _list_item(day, category, recipient, parts, books, configured) -> PushItem:
    town = recipient.town or ""
    chosen = [p for p in parts if p.category == category.code and (not town or p.town == town)]
    people, short = sum(int(p.people or 0) for p in chosen), sum(int(p.shortfalls or 0) for p in chosen)
    rule = alert_settings.rule_of(category.code, configured.get(category.code))
    key, filename = None, None
    if short:
        if (category.code, town) not in books:
            rows = [r for p in sorted(chosen, key=lambda p: p.town) for r in lists.part_rows(p)]
            key = f"push/{day}/{category.code}/{town or 'all'}.xlsx"
            storage.put(key, lists.list_book(category.code, day, town, rows), content_type=XLSX)
            books[(category.code, town)] = (key, len(rows))
        key, short = books[(category.code, town)]
        filename = lists.list_filename(category.code, day, town)
    where = f"（{town}）" if town else "（全区）"
    text = (f"{people} 人中有 {short} 人未按「{rule.name}」进行核酸检测，名单见随后发送的附件。" if short
            else f"{people} 人均已按「{rule.name}」进行核酸检测。")
    return _base(day, f"{category.code}#{recipient.user_id}", "list", recipient, category=category.code,
                 title=f"哨点人员核酸检测告警：{category.name}{where}", description=f"{day} 凌晨检查：{text}",
                 rows=short, attachment_key=key, filename=filename)


def _summary_lines(parts, configured) -> list[dict]:
    lines = []
    for category in catalog.CATEGORIES:
        mine = [p for p in parts if p.category == category.code]
        lines.append({"category_name": category.name, "department": category.department,
                      "rule_name": alert_settings.rule_of(category.code, configured.get(category.code)).name,
                      "people": sum(int(p.people or 0) for p in mine),
                      "shortfalls": sum(int(p.shortfalls or 0) for p in mine)})
    return lines


def _summary_book(day: str, lines: list[dict]) -> tuple[str, int, int]:
    """The 专班's workbook, once per plan: (its key, people, non-compliant)."""
    key = f"push/{day}/summary.xlsx"
    storage.put(key, lists.summary_book(day, lines), content_type=XLSX)
    return key, sum(x["people"] for x in lines), sum(x["shortfalls"] for x in lines)


def _summary_item(day: str, recipient, key: str, people: int, short: int) -> PushItem:
    return _base(day, f"summary#{recipient.user_id}", "summary", recipient, title="哨点人员核酸检测统计",
                 description=f"{day} 凌晨检查：{len(catalog.CATEGORIES)} 类哨点人员共 {people} 人，未按规定检测 {short} 人，"
                             f"各类别明细见随后发送的附件。", rows=short, attachment_key=key,
                 filename=lists.summary_filename(day))


def _notice(day: str, category: str | None, label: str, recipient, run: ComplianceRun | None) -> PushItem:
    if run is not None and run.status == "done" and run.stale:
        why = night.stale_text(run.data_until).replace("，名单暂缓推送", "")
    elif run is None:
        why = "今日凌晨检查未运行"
    else:
        why = f"今日凌晨检查尚未完成（{run.message or run.status}）"
    return _base(day, f"held#{category or 'summary'}#{recipient.user_id}", "notice", recipient, category=category,
                 title=f"哨点人员核酸检测告警暂缓：{label}",
                 description=f"{day}：{why}。为免误报，今日名单暂缓推送，数据到达并完成检查后将另行推送。")


# --- sending ----------------------------------------------------------------------------------------

request = night.request_push  # 运维's 立即推送 / 重试: the pass runs in the worker, the request answers at once


def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    day = unquote_plus(key).removeprefix(MARKS).split("/", 1)[0]  # S3 events carry the key URL-encoded
    return f"push {day}: {run_pass(day)}"


def run_pass(day: str, *, client: wecom.Client | None = None, remaining_ms=None) -> dict:
    """Plan the day's outbox and send every queued item. `remaining_ms`: the scheduled function's clock;
    what does not fit continues in the worker."""
    if not _take_pass(day):
        return {"skipped": "另一推送正在进行"}
    counts = {"planned": 0, "sent": 0, "failed": 0, "unknown": 0}
    try:
        counts["planned"] = plan(day)
        items = sorted(items_of(day), key=lambda i: (i.kind == "summary", i.item))
        uploads: dict[str, str] = {}  # attachment key → media_id: the recipients of one list share one upload
        try:
            sender = client or wecom.client()
        except wecom.WeComError as exc:
            for item in items:
                if item.status == "queued" and _claim(item):
                    _finish(item, "failed", exc.reason, errcode=exc.errcode)
            counts["failed"] = len(items)
            return counts
        for item in items:
            settle(item)
            if item.status != "queued":
                continue
            if remaining_ms is not None and remaining_ms() < STOP_BEFORE_MS:
                request(day, by="定时任务（续）")
                counts["continued"] = True
                break
            outcome = send(item, sender, uploads=uploads)
            if outcome in counts:
                counts[outcome] += 1
    finally:
        _release_pass(day)
    return counts


def send(item: PushItem, client: wecom.Client, *, uploads: dict[str, str] | None = None) -> str | None:
    """One item, step by step; returns its end state (None if another sender had it). `uploads`: files
    this pass already uploaded (a media_id is valid 3 days, a pass lasts minutes)."""
    uploads = {} if uploads is None else uploads
    if not _claim(item):
        return None
    try:
        if not item.card_sent:
            _step(item, "card", lambda: client.send(item.user_id, _card(item)))
            item.update(actions=[PushItem.card_sent.set(True), PushItem.inflight.remove()])
        if item.attachment_key and not item.file_sent:
            if not item.media_id or item.media_at is None or now() - item.media_at > MEDIA_VALID:
                media = uploads.get(item.attachment_key) or client.upload(item.filename, storage.get(item.attachment_key))
                uploads[item.attachment_key] = media
                item.update(actions=[PushItem.media_id.set(media), PushItem.media_at.set(now())])
            _step(item, "file", lambda: client.send(item.user_id, {"msgtype": "file", "file": {"media_id": item.media_id}}))
            item.update(actions=[PushItem.file_sent.set(True), PushItem.inflight.remove()])
        _finish(item, "sent", "已发送" + (f"（名单 {int(item.rows)} 人及附件）" if item.attachment_key else ""),
                sent=True)
        return "sent"
    except wecom.Unknown as exc:
        _finish(item, "unknown", f"{exc.reason}。{UNKNOWN_HINT}")
        return "unknown"
    except wecom.WeComError as exc:
        _finish(item, "failed", _failure(item, exc.reason), errcode=exc.errcode)
        return "failed"
    except Exception:  # noqa: BLE001 - our own fault: never leave it running, never guess it was sent
        log.exception("push %s %s", item.day, item.item)
        if item.inflight:
            _finish(item, "unknown", f"发送过程中系统出错，消息可能已送达。{UNKNOWN_HINT}")
            return "unknown"
        _finish(item, "failed", "系统内部错误，消息未发出，可在推送记录中重试")
        return "failed"


def _card(item: PushItem) -> dict:
    return {"msgtype": "textcard", "textcard": {"title": item.title[:40], "description": item.description[:250],
                                                 "url": console_url(), "btntxt": "详情"}}


def _step(item: PushItem, step: str, call) -> None:
    item.update(actions=[PushItem.inflight.set(step)])  # before the request: a crash now means "unknown"
    call()


def _failure(item: PushItem, reason: str) -> str:
    if item.card_sent and not item.file_sent and item.attachment_key:
        return f"消息已送达，附件未发出：{reason}"
    return reason


def _if(item: PushItem, actions: list, condition) -> bool:
    """A conditional update: False (and nothing written) when another writer got there first."""
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def _claim(item: PushItem) -> bool:
    return _if(item, [PushItem.status.set("running"), PushItem.lease_until.set(now() + ITEM_LEASE),
                      PushItem.attempts.add(1)], PushItem.status == "queued")


def settle(item: PushItem) -> None:
    """A sender that died: with a request on the wire the outcome is unknown; otherwise it may go again."""
    if item.status != "running" or item.lease_until is None or item.lease_until >= now():
        return
    expired = (PushItem.status == "running") & (PushItem.lease_until < now())
    if item.inflight:
        _if(item, [PushItem.status.set("unknown"), PushItem.lease_until.remove(),
                   PushItem.message.set(f"发送过程中断，消息可能已送达。{UNKNOWN_HINT}")], expired)
    else:
        _if(item, [PushItem.status.set("queued"), PushItem.lease_until.remove()], expired)


def _finish(item: PushItem, status: str, message: str, *, errcode=None, sent: bool = False) -> None:
    actions = [PushItem.status.set(status), PushItem.message.set(message), PushItem.finished_at.set(now()),
               PushItem.lease_until.remove()]
    actions.append(PushItem.errcode.set(errcode) if errcode is not None else PushItem.errcode.remove())
    if sent:
        actions.append(PushItem.sent_at.set(now()))
    if status != "unknown":
        actions.append(PushItem.inflight.remove())
    item.update(actions=actions)


def items_of(day: str) -> list[PushItem]:
    return [i for i in PushItem.query(day, consistent_read=True) if i.item != PASS]


def _take_pass(day: str) -> bool:
    current = now()
    return _if(PushItem(day, PASS), [PushItem.lease_until.set(current + PASS_LEASE), PushItem.kind.set("pass")],
               PushItem.lease_until.does_not_exist() | (PushItem.lease_until < current))


def _release_pass(day: str) -> None:
    PushItem(day, PASS).update(actions=[PushItem.lease_until.remove()])


def get_item(day: str, item: str) -> PushItem | None:
    try:
        return PushItem.get(day, item, consistent_read=True)
    except DoesNotExist:
        return None


def reopen(item: PushItem, *, by: str, allowed: tuple[str, ...], message: str) -> bool:
    """Back to queued for the next pass (a retry, or a resend of an unknown outcome)."""
    return _if(item, [PushItem.status.set("queued"), PushItem.message.set(message), PushItem.inflight.remove(),
                      PushItem.resolved_by.set(by), PushItem.finished_at.remove()], PushItem.status.is_in(*allowed))


def mark_sent(item: PushItem, *, by: str) -> bool:
    return _if(item, [PushItem.status.set("sent"), PushItem.inflight.remove(), PushItem.resolved_by.set(by),
                      PushItem.message.set(f"经核实已送达（{by} 确认）"), PushItem.sent_at.set(now())],
               PushItem.status == "unknown")

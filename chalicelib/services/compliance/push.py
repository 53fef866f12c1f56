"""The 09:00 push (§2.6) through 粤政易: each category's 高级推送人员 get its list of non-compliant people
(their town's only, where one is set), 哨点监测专班 the daily summary, and when the night's run is not
ready or its data is late, a notice saying so instead of the lists. What each message says, and the
corrections after a re-run, are planned by outbox.py; this module sends them.

Exactly once per day, recipient, list and list version: an outbox item (push-outbox: day,
"<list>#<user>[#g<generation>]") is planned with a conditional put, then moved by conditional writes:

    queued ──claim──▶ running ──▶ sent | failed (reason, errcode) | unknown (the answer was lost)
                        │ the sender died: with a request on the wire (inflight) ──▶ unknown
                        │                  with none ──▶ queued again (nothing can have arrived)
    failed ──重试 (运维)──▶ queued          unknown ──标记为已送达 / 重新发送 (运维)──▶ sent / queued
    queued | failed ──a correction planned──▶ superseded (never sent: the correction replaces it)
    unrouted: a list nobody receives, recorded (and copied to 运维's recipients), never sent

A pass holds the day's lease ("~pass"), so two triggers at once (a retried Lambda, 运维's button while
the schedule runs) never work the same outbox together; the item claims hold even if they did, and
WeCom's enable_duplicate_check is the last guard. A list goes out as a textcard then the file; each
step is recorded, so a retry sends only what has not been sent. The claim, lease, end and the pass's
lease are the life cycle every background job shares (services/jobs/lifecycle.py).
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.integrations import storage, wecom
from chalicelib.rules.clock import now
from chalicelib.services.compliance import night, outbox
from chalicelib.services.jobs import lifecycle as jobs
from chalicelib.services.compliance.outbox import PASS, items_of
from chalicelib.store.compliance import PushItem

log = logging.getLogger(__name__)
MARKS = night.PUSH_MARKS
PASS_LEASE = timedelta(minutes=15)
ITEM_LEASE = timedelta(minutes=4)  # one item: a token, an upload and two sends, each with retries
MEDIA_VALID = timedelta(days=2, hours=12)  # WeCom keeps an upload 3 days
STOP_BEFORE_MS = 90_000  # leave a scheduled function this much time: the rest continues in the worker
STATUS_NAMES = {"queued": "待发送", "running": "发送中", "sent": "已发送", "failed": "发送失败", "unknown": "结果未知",
                "superseded": "已被更正取代", "unrouted": "未推送（无接收人）"}
KIND_NAMES = {"list": "未按规定检测名单", "summary": "哨点监测专班每日统计", "notice": "暂缓推送通知",
              "unrouted": "无接收人的名单"}
CORRECTIONS = "corrections-"  # a pass mark named so also plans corrections (运维's 推送更正名单)
UNKNOWN_HINT = "请向接收人核实：已收到请「标记为已送达」，未收到再「重新发送」"


# --- sending ----------------------------------------------------------------------------------------

request = night.request_push  # 运维's 立即推送 / 重试: the pass runs in the worker, the request answers at once


def handle_object(bucket: str, key: str, *, delivery: int = 1) -> str:
    day, _, name = key.removeprefix(MARKS).partition("/")
    return f"push {day}: {run_pass(day, corrections=name.startswith(CORRECTIONS))}"


def request_corrections(day: str, *, by: str) -> None:
    """运维's 推送更正名单: a pass that also plans the corrections of lists a re-run changed."""
    night.request_push(day, by=by, name=CORRECTIONS)


def run_pass(day: str, *, client: wecom.Client | None = None, remaining_ms=None, corrections: bool = False) -> dict:
    """Plan the day's outbox and send every queued item. `remaining_ms`: the scheduled function's clock;
    what does not fit continues in the worker. `corrections`: also plan corrections of changed lists."""
    if not _take_pass(day):
        return {"skipped": "另一推送正在进行"}
    counts = {"planned": 0, "sent": 0, "failed": 0, "unknown": 0}
    try:
        for item in items_of(day):  # a dead sender's item first: planning must see what it is
            settle(item)
        counts["planned"] = outbox.plan(day, corrections=corrections)
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
    """The card exactly as planned (and shown in 推送记录); items planned before cards were kept are
    rebuilt the way they were then."""
    if item.card:
        return json.loads(item.card)
    return {"msgtype": "textcard", "textcard": {"title": item.title[:40], "description": item.description[:250],
                                                 "url": outbox.console_url(), "btntxt": "详情"}}


def _step(item: PushItem, step: str, call) -> None:
    item.update(actions=[PushItem.inflight.set(step)])  # before the request: a crash now means "unknown"
    call()


def _failure(item: PushItem, reason: str) -> str:
    if item.card_sent and not item.file_sent and item.attachment_key:
        return f"消息已送达，附件未发出：{reason}"
    return reason


def _claim(item: PushItem) -> bool:
    return jobs.claim(item, lease=ITEM_LEASE, retake=False)  # a lapsed sender is settled, never retaken


def settle(item: PushItem) -> None:
    """A sender that died: with a request on the wire the outcome is unknown; otherwise it may go again."""
    if item.status != "running" or item.lease_until is None or item.lease_until >= now():
        return
    expired = jobs.lapsed(PushItem)
    if item.inflight:
        jobs.conditionally(item, [PushItem.status.set("unknown"), PushItem.lease_until.remove(),
                                  PushItem.message.set(f"发送过程中断，消息可能已送达。{UNKNOWN_HINT}")], expired)
    else:
        jobs.conditionally(item, [PushItem.status.set("queued"), PushItem.lease_until.remove()], expired)


def _finish(item: PushItem, status: str, message: str, *, errcode=None, sent: bool = False) -> None:
    actions = [PushItem.errcode.set(errcode) if errcode is not None else PushItem.errcode.remove()]
    if sent:
        actions.append(PushItem.sent_at.set(now()))
    if status != "unknown":
        actions.append(PushItem.inflight.remove())
    jobs.finish(item, status=status, message=message, actions=actions)


def _take_pass(day: str) -> bool:
    return jobs.hold(PushItem(day, PASS), lease=PASS_LEASE, actions=[PushItem.kind.set("pass")])


def _release_pass(day: str) -> None:
    jobs.release(PushItem(day, PASS))


def get_item(day: str, item: str) -> PushItem | None:
    try:
        return PushItem.get(day, item, consistent_read=True)
    except DoesNotExist:
        return None


def reopen(item: PushItem, *, by: str, allowed: tuple[str, ...], message: str) -> bool:
    """Back to queued for the next pass (a retry, or a resend of an unknown outcome)."""
    return jobs.conditionally(item, [PushItem.status.set("queued"), PushItem.message.set(message),
                                     PushItem.inflight.remove(), PushItem.resolved_by.set(by),
                                     PushItem.finished_at.remove()], PushItem.status.is_in(*allowed))


def mark_sent(item: PushItem, *, by: str) -> bool:
    return jobs.conditionally(item, [PushItem.status.set("sent"), PushItem.inflight.remove(),
                                     PushItem.resolved_by.set(by), PushItem.message.set(f"经核实已送达（{by} 确认）"),
                                     PushItem.sent_at.set(now())], PushItem.status == "unknown")

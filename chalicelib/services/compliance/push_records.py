"""推送记录 (§2.6): each message of a day's push as it was sent — its card's text, its list's count and
the very file it carried — and what 运维 does with them: 立即推送, 推送更正名单 after a re-run changed
lists, 重试 a failed message, 核实 an unknown one.

Who sees which message is the caller's Scope (`sees_push`): 运维 and 专班 all, a bureau its categories',
and every recipient the messages sent to their own 粤政易 account (a 镇街 too). An item whose list the
run no longer says (a re-run changed it) is shown as 名单已变化 until its correction is planned.
"""
from __future__ import annotations

import json

from chalicelib.access.policy import ADMIN, PUSH_READERS, require
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.rules import geography
from chalicelib.rules.clock import iso
from chalicelib.services.compliance import lists, night, outbox, push, versions
from chalicelib.services.compliance.records import day_text
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.store.compliance import PushItem

LINK_SECONDS = 300


def pushes(principal: Principal, day: str) -> dict:
    require(principal, PUSH_READERS)
    day = day_text(day)
    everything = outbox.items_of(day)
    items = [i for i in everything if principal.scope.sees_push(i.category, i.user_id, i.town)]
    for item in items:
        if item.status == "running":  # a sender that died: shown as what it is (结果未知, or 待发送 again)
            push.settle(item)
            item.refresh(consistent_read=True)
    changed = changed_chains(day, everything)
    counts = {status: 0 for status in push.STATUS_NAMES}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    latest = versions.latest_by_chain(items)
    run = night.header(day)
    return {"day": day, "items": [public(i, changed=latest.get(i.chain or i.item) is i and (i.chain or i.item) in changed)
                                  for i in items],
            "counts": counts, "changed": sum(1 for c in changed if principal.scope.sees_push(*changed[c])),
            "generation": int(run.generation or 0) if run else 0, "editable": principal.scope.operates,
            "linked": bool(principal.scope.wecom_user) or principal.scope.district_wide}


def changed_chains(day: str, items: list[PushItem]) -> dict[str, tuple[str | None, str | None]]:
    """Chains whose newest item was (or may have been) delivered with a list the run no longer says:
    chain → (category, user id, town)."""
    if not items:
        return {}
    specs = versions.expected(versions.run_parts(day, night.header(day)), versions.configured())
    return {chain: (item.category, item.user_id, item.town) for chain, item in versions.latest_by_chain(items).items()
            if versions.outdated(item, specs)}


def public(item: PushItem, *, changed: bool = False) -> dict:
    card = json.loads(item.card)["textcard"] if item.card else (
        {"title": item.title, "description": item.description} if item.title else None)
    return {"item": item.item, "kind": item.kind, "kind_name": push.KIND_NAMES.get(item.kind, item.kind),
            "category": item.category, "category_name": lists.category_name(item.category), "town": item.town or "",
            "towns": item.towns or "", "user_id": item.user_id, "name": item.name, "title": item.title,
            "rows": int(item.rows or 0), "status": item.status,
            "status_name": push.STATUS_NAMES.get(item.status, item.status), "message": item.message,
            "errcode": int(item.errcode) if item.errcode is not None else None,
            "attempts": int(item.attempts or 0), "sent_at": iso(item.sent_at), "finished_at": iso(item.finished_at),
            "filename": item.filename, "has_attachment": bool(item.attachment_key), "resolved_by": item.resolved_by,
            "card_sent": bool(item.card_sent), "file_sent": bool(item.file_sent), "card": card,
            "generation": int(item.generation or 0), "correction": bool(item.corrects), "corrects": item.corrects,
            "changed": changed}


def _item(principal: Principal, day: str, body_or_params: dict) -> PushItem:
    name = body_or_params.get("item") if isinstance(body_or_params, dict) else None
    if not isinstance(name, str) or not name or name == outbox.PASS or len(name) > 300:
        raise ValidationError("请指定推送记录", fields={"item": "请指定推送记录"})
    item = push.get_item(day_text(day), name)
    if item is None or not principal.scope.sees_push(item.category, item.user_id, item.town):
        raise NotFoundError("推送记录不存在")
    return item


def _scope_name(item: PushItem) -> str:
    return lists.category_name(item.category) or "哨点监测专班"


def start_push(principal: Principal, day: str) -> dict:
    require(principal, ADMIN)
    checked = night.check_day(day).isoformat()
    push.request(checked, by=principal.display_name or principal.id)
    audit.record(principal, action="运行告警推送", target=checked, scope=geography.current().area)
    return {"day": checked, "queued": True}


def start_corrections(principal: Principal, day: str) -> dict:
    """推送更正名单: only the lists a re-run changed, each recipient once per version."""
    require(principal, ADMIN)
    checked = night.check_day(day).isoformat()
    changed = changed_chains(checked, outbox.items_of(checked))
    if not changed:
        raise ConflictError("该日推送的名单没有变化，无需更正")
    push.request_corrections(checked, by=principal.display_name or principal.id)
    audit.record(principal, action="推送更正名单", target=f"{checked}：{len(changed)} 份名单已变化", scope=geography.current().area,
                 rows=len(changed))
    return {"day": checked, "queued": True, "changed": len(changed)}


def retry(principal: Principal, day: str, body: dict) -> dict:
    require(principal, ADMIN)
    item = _item(principal, day, body)
    if not push.reopen(item, by=principal.display_name or principal.id, allowed=("failed",),
                       message="运维已重试，等待发送"):
        raise ConflictError("只有发送失败的消息可以重试")
    push.request(item.day, by=principal.id)
    audit.record(principal, action="重试告警推送", target=f"{item.day} {item.name}（{item.user_id}）{item.title or ''}",
                 scope=_scope_name(item))
    return public(push.get_item(item.day, item.item))


def resolve(principal: Principal, day: str, body: dict) -> dict:
    require(principal, ADMIN)
    item = _item(principal, day, body)
    outcome = body.get("outcome")
    by = principal.display_name or principal.id
    if outcome == "sent":
        done = push.mark_sent(item, by=by)
    elif outcome == "resend":
        done = push.reopen(item, by=by, allowed=("unknown",), message="运维确认未收到，等待重新发送")
        if done:
            push.request(item.day, by=principal.id)
    else:
        raise ValidationError("请选择处理方式", fields={"outcome": "只能是 sent 或 resend"})
    if not done:
        raise ConflictError("只有结果未知的消息需要核实处理")
    audit.record(principal, action="核实告警推送", target=f"{item.day} {item.name}（{item.user_id}）："
                 f"{'已送达' if outcome == 'sent' else '重新发送'}", scope=_scope_name(item))
    return public(push.get_item(item.day, item.item))


def attachment(principal: Principal, day: str, params: dict) -> dict:
    """The file the message carried, as it was sent (its key names its version: never rewritten)."""
    require(principal, PUSH_READERS)
    item = _item(principal, day, params)
    if not item.attachment_key:
        raise NotFoundError("该消息没有附件")
    audit.record(principal, action="下载推送附件", target=f"{item.day} {item.filename}（{item.name or ''}）",
                 rows=int(item.rows or 0), scope=_scope_name(item))
    return {"url": push.storage.link(item.attachment_key, filename=item.filename, seconds=LINK_SECONDS),
            "filename": item.filename, "rows": int(item.rows or 0)}

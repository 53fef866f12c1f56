"""What people read of the runs and the push: 告警记录 (each day's run, its parts, its people),
推送记录 (each message and its state, the attachment, retry and resolve), 运维's run-for-day, and the
head's own list. Every read is by the caller's scope: a town sees its town's parts, a bureau its
categories', a head only its enterprises' people."""
from __future__ import annotations

from datetime import date, timedelta

from chalicelib.access.policy import OFFICIALS, require
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from chalicelib.rules import catalog, testing
from chalicelib.rules.clock import iso, local_day, now
from chalicelib.rules.masking import mask_phone
from chalicelib.services.compliance import lists, night, push
from chalicelib.services.compliance.evaluate import last_sampled_text
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.services.jobs import exports
from chalicelib.services.registry.enterprises import enterprises_of_head
from chalicelib.services.registry.staff import MAX_PAGE_SIZE
from chalicelib.store.compliance import HEADER, ComplianceRun, PushItem, ShortfallItem

RUN_STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
LINK_SECONDS = 300


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except (TypeError, ValueError):
        raise ValidationError("日期格式应为 YYYY-MM-DD", fields={"day": "日期格式应为 YYYY-MM-DD"})


def _category_name(code: str | None) -> str:
    found = catalog.category(code) if code else None
    return found.name if found else ""


# --- 告警记录 -----------------------------------------------------------------------------------------

def runs(principal: Principal, *, days: int = 14) -> dict:
    require(principal, OFFICIALS)
    today = local_day(now())
    wanted = [(today - timedelta(days=n)).isoformat() for n in range(days)]
    headers = sorted(ComplianceRun.batch_get([(d, HEADER) for d in wanted]), key=lambda r: r.day, reverse=True)
    items = []
    for run in headers:
        body = _run_public(run)
        if not principal.scope.district_wide:  # the caller's own numbers: its parts only
            mine = _parts(principal, run)
            body |= {"people": sum(int(p.people or 0) for p in mine),
                     "shortfalls": sum(int(p.shortfalls or 0) for p in mine),
                     "parts": len(mine), "parts_done": sum(p.status == "done" for p in mine)}
        items.append(body)
    return {"items": items}


def _run_public(run: ComplianceRun) -> dict:
    return {"day": run.day, "status": run.status, "status_name": RUN_STATUS.get(run.status, run.status),
            "generation": int(run.generation or 0), "parts": int(run.parts or 0),
            "parts_done": int(run.parts or 0) if run.status == "done" else None,
            "people": int(run.people or 0), "shortfalls": int(run.shortfalls or 0), "stale": bool(run.stale),
            "data_until": run.data_until, "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "started_by": run.started_by, "message": run.message}


def _parts(principal: Principal, run: ComplianceRun) -> list[ComplianceRun]:
    return [p for p in ComplianceRun.query(run.day)
            if p.part != HEADER and p.generation == run.generation and principal.scope.sees_part(p.category, p.town)]


def _header(principal: Principal, day: str) -> ComplianceRun:
    require(principal, OFFICIALS)
    run = night.header(_day(day))
    if run is None:
        raise NotFoundError(f"{day} 没有告警记录")
    return run


def run_detail(principal: Principal, day: str) -> dict:
    run = _header(principal, day)
    parts = sorted(_parts(principal, run), key=lambda p: (_order(p.category), catalog.TOWNS.index(p.town)
                                                            if p.town in catalog.TOWNS else 99))
    categories = []
    for code in dict.fromkeys(p.category for p in parts):
        mine = [p for p in parts if p.category == code]
        found = catalog.category(code)
        categories.append({"category": code, "category_name": _category_name(code),
                           "department": found.department if found else "", "rule_name": _rule_name(mine[0].rule),
                           "people": sum(int(p.people or 0) for p in mine),
                           "shortfalls": sum(int(p.shortfalls or 0) for p in mine)})
    return _run_public(run) | {"categories": categories, "parts": [
        {"category": p.category, "category_name": _category_name(p.category), "town": p.town,
         "rule_name": _rule_name(p.rule), "people": int(p.people or 0), "shortfalls": int(p.shortfalls or 0),
         "status": p.status, "status_name": RUN_STATUS.get(p.status, p.status), "message": p.message} for p in parts]}


def _order(code: str) -> int:
    return next((n for n, c in enumerate(catalog.CATEGORIES) if c.code == code), 99)


def _rule_name(code: str | None) -> str:
    found = testing.rule(code) if code else None
    return found.name if found else ""


def _selected(principal: Principal, day: str, category: str, town: str) -> list[ComplianceRun]:
    run = _header(principal, day)
    if catalog.category(category) is None or not principal.scope.sees_category(category):
        raise NotFoundError("该哨点类别不存在或不在您的管理范围内", fields={"category": "请选择类别"})
    if town and town not in catalog.TOWNS:
        raise ValidationError("镇街不正确", fields={"town": "请选择镇街"})
    return [p for p in _parts(principal, run) if p.category == category and (not town or p.town == town)]


def _rows(parts: list[ComplianceRun]) -> list[dict]:
    ordered = sorted(parts, key=lambda p: catalog.TOWNS.index(p.town) if p.town in catalog.TOWNS else 99)
    return [row for p in ordered if p.status == "done" for row in lists.part_rows(p)]


def people(principal: Principal, day: str, *, category: str, town: str, page: int, page_size: int) -> dict:
    rows = _rows(_selected(principal, day, category, town))
    page_size = min(page_size, MAX_PAGE_SIZE)
    chosen = rows[(page - 1) * page_size: page * page_size]
    return {"items": [{"enterprise": r["enterprise"], "town": r["town"], "name": r["name"],
                       "phone": mask_phone(r["phone"]), "head_name": r["head_name"],
                       "head_phone": mask_phone(r["head_phone"]), "last_sampled": last_sampled_text(r["last_sampled"]),
                       "reason": r["reason"], "due": r["due"]} for r in chosen],
            "total": len(rows), "page": page, "page_size": page_size}


def start_people_export(principal: Principal, day: str, params: dict):
    category, town = str(params.get("category") or ""), str(params.get("town") or "")
    _selected(principal, day, category, town)  # refused now if out of scope
    return exports.start(principal, "alert-list", {"day": day, "category": category, "town": town})


def _build_people(principal: Principal, params: dict) -> tuple[bytes, int]:
    rows = _rows(_selected(principal, params["day"], params["category"], params["town"]))
    return lists.list_book(params["category"], params["day"], params["town"], rows), len(rows)


exports.register("alert-list", exports.Export(
    filename="未按规定检测人员名单.xlsx", action="导出未按规定检测人员名单", build=_build_people,
    scope=lambda principal, params: f"{params['day']} {_category_name(params['category'])} {params['town'] or '全部镇街'}"))


def start_run(principal: Principal, day: str) -> dict:
    require(principal, ("admin",))
    checked = night.check_day(day)
    current = night.header(checked.isoformat())
    if current is not None and current.status in ("queued", "running") and current.lease_until and current.lease_until > now():
        raise ConflictError("该日检查正在进行，请稍候")
    run = night.request(checked, by=principal.display_name or principal.id)
    audit.record(principal, action="运行告警检查", target=checked.isoformat(), scope="全区")
    return _run_public(run)


# --- 推送记录 -----------------------------------------------------------------------------------------

def pushes(principal: Principal, day: str) -> dict:
    require(principal, ("admin", "taskforce", "bureau"))
    items = [i for i in push.items_of(_day(day)) if principal.scope.sees_push(i.category)]
    for item in items:
        if item.status == "running":  # a sender that died: shown as what it is (结果未知, or 待发送 again)
            push.settle(item)
            item.refresh(consistent_read=True)
    counts = {status: 0 for status in push.STATUS_NAMES}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return {"day": day, "items": [_push_public(i) for i in items], "counts": counts,
            "editable": principal.role == "admin"}


def _push_public(item: PushItem) -> dict:
    return {"item": item.item, "kind": item.kind, "kind_name": push.KIND_NAMES.get(item.kind, item.kind),
            "category": item.category, "category_name": _category_name(item.category), "town": item.town or "",
            "user_id": item.user_id, "name": item.name, "title": item.title, "rows": int(item.rows or 0),
            "status": item.status, "status_name": push.STATUS_NAMES.get(item.status, item.status),
            "message": item.message, "errcode": int(item.errcode) if item.errcode is not None else None,
            "attempts": int(item.attempts or 0), "sent_at": iso(item.sent_at), "finished_at": iso(item.finished_at),
            "filename": item.filename, "has_attachment": bool(item.attachment_key), "resolved_by": item.resolved_by,
            "card_sent": bool(item.card_sent), "file_sent": bool(item.file_sent)}


def _item(principal: Principal, day: str, body_or_params: dict) -> PushItem:
    name = body_or_params.get("item") if isinstance(body_or_params, dict) else None
    if not isinstance(name, str) or not name or name == push.PASS:
        raise ValidationError("请指定推送记录", fields={"item": "请指定推送记录"})
    item = push.get_item(_day(day), name)
    if item is None or not principal.scope.sees_push(item.category):
        raise NotFoundError("推送记录不存在")
    return item


def start_push(principal: Principal, day: str) -> dict:
    require(principal, ("admin",))
    checked = night.check_day(day).isoformat()
    push.request(checked, by=principal.display_name or principal.id)
    audit.record(principal, action="运行告警推送", target=checked, scope="全区")
    return {"day": checked, "queued": True}


def retry(principal: Principal, day: str, body: dict) -> dict:
    require(principal, ("admin",))
    item = _item(principal, day, body)
    if not push.reopen(item, by=principal.display_name or principal.id, allowed=("failed",),
                       message="运维已重试，等待发送"):
        raise ConflictError("只有发送失败的消息可以重试")
    push.request(day, by=principal.id)
    audit.record(principal, action="重试告警推送", target=f"{day} {item.name}（{item.user_id}）{item.title or ''}",
                 scope=_category_name(item.category) or "哨点监测专班")
    return _push_public(push.get_item(day, item.item))


def resolve(principal: Principal, day: str, body: dict) -> dict:
    require(principal, ("admin",))
    item = _item(principal, day, body)
    outcome = body.get("outcome")
    by = principal.display_name or principal.id
    if outcome == "sent":
        done = push.mark_sent(item, by=by)
    elif outcome == "resend":
        done = push.reopen(item, by=by, allowed=("unknown",), message="运维确认未收到，等待重新发送")
        if done:
            push.request(day, by=principal.id)
    else:
        raise ValidationError("请选择处理方式", fields={"outcome": "只能是 sent 或 resend"})
    if not done:
        raise ConflictError("只有结果未知的消息需要核实处理")
    audit.record(principal, action="核实告警推送", target=f"{day} {item.name}（{item.user_id}）："
                 f"{'已送达' if outcome == 'sent' else '重新发送'}", scope=_category_name(item.category) or "哨点监测专班")
    return _push_public(push.get_item(day, item.item))


def attachment(principal: Principal, day: str, params: dict) -> dict:
    require(principal, ("admin", "taskforce", "bureau"))
    item = _item(principal, day, params)
    if not item.attachment_key:
        raise NotFoundError("该消息没有附件")
    audit.record(principal, action="下载推送附件", target=f"{day} {item.filename}", rows=int(item.rows or 0),
                 scope=_category_name(item.category) or "哨点监测专班")
    return {"url": push.storage.link(item.attachment_key, filename=item.filename, seconds=LINK_SECONDS),
            "filename": item.filename}


# --- the head's own list ------------------------------------------------------------------------------

def head_shortfalls(principal: Principal, *, enterprise_id: str, page: int, page_size: int) -> dict:
    require(principal, ("head",))
    owned = enterprises_of_head(principal.id)
    if enterprise_id:
        owned = [e for e in owned if e.enterprise_id == enterprise_id]
        if not owned:
            raise ForbiddenError("只能查看本企业的员工")
    today = local_day(now()).isoformat()
    run = night.header(today)
    body = {"day": today, "status": "none", "stale": False, "data_until": None, "items": [], "total": 0,
            "page": page, "page_size": page_size}
    if run is None:
        return body
    body |= {"status": "done" if run.status == "done" else "pending", "stale": bool(run.stale),
             "data_until": run.data_until}
    if run.status != "done":
        return body
    rows = []
    for enterprise in sorted(owned, key=lambda e: e.name):
        for item in ShortfallItem.query(f"{today}#{enterprise.enterprise_id}"):
            if item.generation == run.generation:
                rows.append((enterprise, item))
    chosen = rows[(page - 1) * page_size: page * page_size]
    return body | {"total": len(rows), "items": [
        {"enterprise_id": e.enterprise_id, "enterprise": e.name, "staff_id": f"{e.enterprise_id}.{s.person_key}",
         "name": s.name, "phone": s.phone or "", "reason": s.reason, "due": s.due, "last_sampled": last_sampled_text(int(s.last_sampled or 0))}
        for e, s in chosen]}

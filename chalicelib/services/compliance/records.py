"""What people read of the runs: 告警记录 (each day's run, its parts, its people, where its lists went),
运维's run-for-day, and the head's own list (推送记录 is push_records.py). Every read and every number is
by the caller's scope: a town sees its town's parts and totals, a bureau its categories', a head only its
enterprises' people."""
from __future__ import annotations

from datetime import date, timedelta

from chalicelib.access.policy import ADMIN, OFFICIALS, require
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from chalicelib.rules import catalog, geography, testing
from chalicelib.rules.clock import iso, local_day, now
from chalicelib.rules.masking import mask_phone
from chalicelib.services.compliance import lists, night, outbox, overnight, versions
from chalicelib.services.compliance.evaluate import last_sampled_text
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.services.jobs import exports
from chalicelib.services.registry.enterprises import enterprises_of_head
from chalicelib.services.registry.staff import MAX_PAGE_SIZE
from chalicelib.store.compliance import HEADER, ComplianceRun, ShortfallItem

RUN_STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


def day_text(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except (TypeError, ValueError):
        raise ValidationError("日期格式应为 YYYY-MM-DD", fields={"day": "日期格式应为 YYYY-MM-DD"})


# --- 告警记录 -----------------------------------------------------------------------------------------

def runs(principal: Principal, *, days: int = 14) -> dict:
    require(principal, OFFICIALS)
    today = local_day(now())
    wanted = [(today - timedelta(days=n)).isoformat() for n in range(days)]
    headers = sorted(ComplianceRun.batch_get([(d, HEADER) for d in wanted]), key=lambda r: r.day, reverse=True)
    body = {"items": [_scoped(principal, run, _parts(principal, run)) for run in headers],
            "scope_label": principal.scope.label()}
    if principal.scope.operates:  # 运维's 重新运行检查: the days whose windows are still wholly kept
        earliest, rule = night.earliest_rerun(today)
        body |= {"earliest_rerun": earliest.isoformat(), "earliest_rule": rule}
    return body


def _run_public(run: ComplianceRun) -> dict:
    return {"day": run.day, "status": run.status, "status_name": RUN_STATUS.get(run.status, run.status),
            "generation": int(run.generation or 0), "parts": int(run.parts or 0),
            "parts_done": int(run.parts or 0) if run.status == "done" else None,
            "people": int(run.people or 0), "shortfalls": int(run.shortfalls or 0), "stale": bool(run.stale),
            "data_until": run.data_until, "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "started_by": run.started_by, "message": run.message}


def _scoped(principal: Principal, run: ComplianceRun, mine: list[ComplianceRun]) -> dict:
    """The run in the caller's own numbers: a town its town's parts, a bureau its categories'."""
    body = _run_public(run)
    if principal.scope.district_wide and principal.scope.area is None:
        return body
    people, short = sum(int(p.people or 0) for p in mine), sum(int(p.shortfalls or 0) for p in mine)
    body |= {"people": people, "shortfalls": short, "parts": len(mine),
             "parts_done": sum(p.status == "done" for p in mine)}
    if run.status == "done" and not run.stale:
        body["message"] = f"共 {people} 人，未按规定检测 {short} 人"
    return body


def _parts(principal: Principal, run: ComplianceRun) -> list[ComplianceRun]:
    return [p for p in _all_parts(run) if principal.scope.sees_part(p.category, p.town)]


def _all_parts(run: ComplianceRun) -> list[ComplianceRun]:
    return [p for p in ComplianceRun.query(run.day) if p.part != HEADER and p.generation == run.generation]


def _header(principal: Principal, day: str) -> ComplianceRun:
    require(principal, OFFICIALS)
    run = night.header(day_text(day))
    if run is None:
        raise NotFoundError(f"{day} 没有告警记录")
    return run


def run_detail(principal: Principal, day: str) -> dict:
    """One day's run in the caller's scope, with where its lists went: a category whose non-compliant
    people in some town have no 高级推送人员 (未推送（无接收人）), and a list pushed before a re-run
    changed it (名单已变化)."""
    run = _header(principal, day)
    every = _all_parts(run)
    parts = sorted((p for p in every if principal.scope.sees_part(p.category, p.town)),
                   key=lambda p: (_order(p.category), versions.town_order(p.town)))
    ready = run.status == "done" and not run.stale
    specs = versions.expected(every, versions.configured()) if ready else {}
    sent = outbox.items_of(run.day) if ready else []
    outdated = {item.category for item in versions.latest_by_chain(sent).values() if versions.outdated(item, specs)}
    categories = []
    for code in dict.fromkeys(p.category for p in parts):
        mine = [p for p in parts if p.category == code]
        found = catalog.category(code)
        unrouted = specs.get(f"unrouted#{code}")
        lost = [t for t in (unrouted.towns if unrouted else []) if any(p.town == t for p in mine)]
        categories.append({"category": code, "category_name": lists.category_name(code),
                           "department": found.department if found else "", "rule_name": _rule_name(mine[0].rule),
                           "people": sum(int(p.people or 0) for p in mine),
                           "shortfalls": sum(int(p.shortfalls or 0) for p in mine),
                           "unrouted_towns": lost, "changed": code in outdated})
    lost_parts = {(s.category, t) for s in specs.values() if s.kind == "unrouted" for t in s.towns}
    return _scoped(principal, run, parts) | {"scope_label": principal.scope.label(), "categories": categories,
                                             "pushed": bool(sent), "parts": [
        {"category": p.category, "category_name": lists.category_name(p.category), "town": p.town,
         "rule_name": _rule_name(p.rule), "people": int(p.people or 0), "shortfalls": int(p.shortfalls or 0),
         "status": p.status, "status_name": RUN_STATUS.get(p.status, p.status), "message": p.message,
         "unrouted": (p.category, p.town) in lost_parts} for p in parts]}


def _order(code: str) -> int:
    return next((n for n, c in enumerate(catalog.CATEGORIES) if c.code == code), 99)


def _rule_name(code: str | None) -> str:
    found = testing.rule(code) if code else None
    return found.name if found else ""


def _selected(principal: Principal, day: str, category: str, town: str) -> list[ComplianceRun]:
    run = _header(principal, day)
    if catalog.category(category) is None or not principal.scope.sees_category(category):
        raise NotFoundError("该哨点类别不存在或不在您的管理范围内", fields={"category": "请选择类别"})
    if town and not geography.is_town(town):
        raise ValidationError("镇街不正确", fields={"town": "请选择镇街"})
    return [p for p in _parts(principal, run) if p.category == category and (not town or p.town == town)]


def _rows(parts: list[ComplianceRun]) -> list[dict]:
    ordered = sorted(parts, key=lambda p: versions.town_order(p.town))
    return [row for p in ordered if p.status == "done" for row in lists.part_rows(p)]


def where(principal: Principal, town: str) -> str:
    """The towns a list covers, in words: the chosen town, else the caller's own (a 镇街), else the
    caller's district (a 区 official), else 全区 (全市 when the deployment serves several districts)."""
    if town:
        return town
    if principal.scope.role == "town":
        return principal.scope.town or ""
    return principal.scope.area or geography.current().area


def people(principal: Principal, day: str, *, category: str, town: str, page: int, page_size: int) -> dict:
    rows = _rows(_selected(principal, day, category, town))
    page_size = min(page_size, MAX_PAGE_SIZE)
    chosen = rows[(page - 1) * page_size: page * page_size]
    return {"items": [{"enterprise": r["enterprise"], "town": r["town"], "name": r["name"],
                       "phone": mask_phone(r["phone"]), "head_name": r["head_name"],
                       "head_phone": mask_phone(r["head_phone"]), "last_sampled": last_sampled_text(r["last_sampled"]),
                       "reason": r["reason"], "due": r["due"]} for r in chosen],
            "total": len(rows), "page": page, "page_size": page_size, "where": where(principal, town)}


def start_people_export(principal: Principal, day: str, params: dict):
    category, town = str(params.get("category") or ""), str(params.get("town") or "")
    _selected(principal, day, category, town)  # refused now if out of scope
    return exports.start(principal, PEOPLE_EXPORT, {"day": day, "category": category, "town": town})


def _build_people(principal: Principal, params: dict) -> tuple[bytes, int]:
    rows = _rows(_selected(principal, params["day"], params["category"], params["town"]))
    return lists.list_book(params["category"], params["day"], where(principal, params["town"]), rows), len(rows)


PEOPLE_EXPORT = exports.Export(
    "alert-list",
    filename=lambda principal, params: lists.list_filename(params["category"], params["day"],
                                                           where(principal, params["town"])),
    action="导出未按规定检测人员名单", build=_build_people,
    scope=lambda principal, params: f"{params['day']} {lists.category_name(params['category'])} "
                                    f"{where(principal, params['town'])}")


def start_run(principal: Principal, day: str) -> dict:
    require(principal, ADMIN)
    checked = night.check_day(day)
    night.check_window(checked)
    by = principal.display_name or principal.id
    run = night.request(checked, by=by)  # refused while a run of the day holds its lease
    if run is None:
        raise ConflictError("该日检查正在进行，请稍候")
    overnight.start(checked, by=by, force=True)  # the matcher's segments, then this run's new generation
    audit.record(principal, action="运行告警检查", target=checked.isoformat(), scope=geography.current().area)
    return _run_public(run)


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

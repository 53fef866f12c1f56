"""Routes: /api/staff (员工管理, §2.2) for enterprise heads, and /api/ledger (哨点人员, §2.3) for officials."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import params as forms
from chalicelib.api.common import (int_param, json_body, json_response, principal_scope, query_params, route,
                                   start_import, xlsx_response)
from chalicelib.services.identity import audit
from chalicelib.services.views import ledger
from chalicelib.services.jobs import exports
from chalicelib.services.registry import staff
from chalicelib.services.registry.staff_import import KIND as STAFF_IMPORT
from chalicelib.workbooks import staff_book

bp = Blueprint(__name__)


def _page_args(params: dict) -> tuple[int, int]:
    return int_param(params, "page", 1, high=100_000), int_param(params, "page_size", 20, high=staff.MAX_PAGE_SIZE)


@route(bp, "GET", "/api/staff/options")
def staff_options(principal):
    return staff.options(principal)


@route(bp, "GET", "/api/staff")
def list_staff(principal):
    params = query_params(bp)
    page, size = _page_args(params)
    items, total, notice = staff.list_page(principal, q=params.get("q", ""),
                                           enterprise_id=params.get("enterprise_id", ""), page=page, page_size=size)
    return {"items": items, "total": total, "page": page, "page_size": size, "notice": notice}


@route(bp, "POST", "/api/staff")
def create_staff(principal):
    person, ent = staff.create(principal, json_body(bp))
    audit.record(principal, action="新增员工", target=person.name, scope=ent.name, rows=1)
    return json_response(staff.public(person, ent, full=True), 201)


@route(bp, "GET", "/api/staff/template")
def staff_template(principal):
    names = [e.name for e in staff.own_enterprises(principal).values()]
    return xlsx_response(staff_book.template(names), "员工信息导入模板.xlsx")


@route(bp, "POST", "/api/staff/import")
def import_staff(principal):
    """导入, step one (as for enterprises); a head with no enterprise is refused here, as before."""
    staff.own_enterprises(principal)
    return start_import(bp, principal, STAFF_IMPORT)


@route(bp, "GET", "/api/staff/export")
def export_staff(principal):
    params = query_params(bp)
    filename, scope = staff.export_names(principal, params.get("enterprise_id", ""))
    rows = list(staff.export_rows(principal, q=params.get("q", ""), enterprise_id=params.get("enterprise_id", "")))
    audit.record(principal, action="导出员工信息", target=params.get("q") or None, scope=scope, rows=len(rows))
    return xlsx_response(staff_book.head_export(rows), filename)


@route(bp, "POST", "/api/staff/batch-delete")
def delete_staff(principal):
    body = json_body(bp)
    forms.check_body(body, ids="staff_id")
    deleted = staff.batch_delete(principal, body.get("ids"))
    audit.record(principal, action="删除员工", scope=principal_scope(principal), rows=deleted)
    return {"deleted": deleted}


@route(bp, "GET", "/api/staff/{staff_id}")
def get_staff(principal, staff_id):
    person, ent = staff.get(principal, staff_id)
    return staff.public(person, ent, full=True)


@route(bp, "PUT", "/api/staff/{staff_id}")
def update_staff(principal, staff_id):
    person, ent = staff.update(principal, staff_id, json_body(bp))
    audit.record(principal, action="修改员工", target=person.name, scope=ent.name, rows=1)
    return staff.public(person, ent, full=True)


@route(bp, "GET", "/api/ledger/categories")
def ledger_categories(principal):
    return ledger.categories(principal)


@route(bp, "GET", "/api/ledger")
def ledger_list(principal):
    params = query_params(bp)
    page, size = _page_args(params)
    category = params.get("category", "")
    items, total, notice = ledger.list_page(principal, category=category, q=params.get("q", ""),
                                            town=params.get("town", ""), page=page, page_size=size)
    return {"items": items, "total": total, "page": page, "page_size": size, "notice": notice,
            "category_name": ledger.category_name(category)}


@route(bp, "POST", "/api/ledger/export")
def ledger_export(principal):
    """The whole filtered ledger as .xlsx, built in the background: 202 and the job to poll."""
    params = query_params(bp)
    job = ledger.start_export(principal, category=params.get("category", ""), q=params.get("q", ""),
                              town=params.get("town", ""))
    return json_response(exports.public(principal, job), 202)


@route(bp, "GET", "/api/exports/{export_id}")
def export_status(principal, export_id):
    """An export's state; when it is done, a short-lived link to the file (handing it out is audited)."""
    return exports.public(principal, exports.get_for(principal, export_id))


@route(bp, "GET", "/api/ledger/{staff_id}")
def ledger_detail(principal, staff_id):
    return ledger.get(principal, staff_id)

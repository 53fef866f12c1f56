"""Routes: /api/enterprises (企业信息采集, §2.1) and /api/imports."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import params as forms
from chalicelib.api.common import (int_param, json_body, json_response, principal_scope, query_params, route,
                                   start_import, xlsx_response)
from chalicelib.services.identity import audit
from chalicelib.services.registry import enterprises
from chalicelib.services.jobs import imports
from chalicelib.services.registry.enterprise_import import KIND as ENTERPRISE_IMPORT
from chalicelib.workbooks import enterprise_book

bp = Blueprint(__name__)


def _filters() -> enterprises.Filters:
    params = query_params(bp)
    return enterprises.Filters(q=params.get("q", "").strip(), town=params.get("town", "").strip(),
                               category=params.get("category", "").strip())


@route(bp, "GET", "/api/enterprises")
def list_enterprises(principal):
    params = query_params(bp)
    page = int_param(params, "page", 1, high=100_000)
    size = int_param(params, "page_size", 20, high=enterprises.MAX_PAGE_SIZE)
    items, total = enterprises.list_page(principal, _filters(), page=page, page_size=size)
    return {"items": [enterprises.public(e) for e in items], "total": total, "page": page, "page_size": size}


@route(bp, "POST", "/api/enterprises")
def create_enterprise(principal):
    ent = enterprises.create(principal, json_body(bp))
    audit.record(principal, action="新增企业", target=ent.name, scope=audit.scope_words(ent.category, ent.town), rows=1)
    return json_response(enterprises.public(ent, full_phone=True), 201)


@route(bp, "GET", "/api/enterprises/template")
def enterprise_template(principal):
    names = [c.name for c in principal.scope.visible_categories()]
    return xlsx_response(enterprise_book.template(names, principal.scope.visible_towns()), "企业信息导入模板.xlsx")


@route(bp, "POST", "/api/enterprises/import")
def import_enterprises(principal):
    """批量导入, step one: a job waiting for its workbook and the presigned POST the page sends it with."""
    return start_import(bp, principal, ENTERPRISE_IMPORT)


@route(bp, "GET", "/api/enterprises/export")
def export_enterprises(principal):
    filters = _filters()
    rows = [enterprises.public(e, full_phone=True) for e in enterprises.list_all(principal, filters)]
    audit.record(principal, action="导出企业信息", target=filters.q or None, scope=principal_scope(principal),
                 rows=len(rows))
    return xlsx_response(enterprise_book.export(rows), enterprises.export_filename(principal, filters))


@route(bp, "POST", "/api/enterprises/delete-preview")
def delete_preview(principal):
    body = json_body(bp)
    forms.check_body(body, ids="enterprise_id")
    return enterprises.delete_preview(principal, body.get("ids"))


@route(bp, "POST", "/api/enterprises/batch-delete")
def batch_delete(principal):
    body = json_body(bp)
    forms.check_body(body, ids="enterprise_id")
    answer = enterprises.batch_delete(principal, body.get("ids"), confirm_staff=body.get("confirm_staff") is True)
    audit.record(principal, action="删除企业", target=f"连同员工 {answer['staff_deleted']} 人",
                 scope=principal_scope(principal), rows=answer["deleted"])
    return answer


@route(bp, "GET", "/api/enterprises/{enterprise_id}")
def get_enterprise(principal, enterprise_id):
    return enterprises.public(enterprises.get(principal, enterprise_id), full_phone=True)


@route(bp, "PUT", "/api/enterprises/{enterprise_id}")
def update_enterprise(principal, enterprise_id):
    ent = enterprises.update(principal, enterprise_id, json_body(bp))
    audit.record(principal, action="修改企业", target=ent.name, scope=audit.scope_words(ent.category, ent.town), rows=1)
    return enterprises.public(ent, full_phone=True)


@route(bp, "GET", "/api/imports/{job_id}")
def get_import(principal, job_id):
    return imports.public(imports.get_for(principal, job_id))


@route(bp, "GET", "/api/imports/{job_id}/failures")
def import_failures(principal, job_id):
    data = imports.failures_for(principal, job_id)
    audit.record(principal, action="下载导入失败数据", target=job_id)
    return xlsx_response(data, "导入失败数据.xlsx")

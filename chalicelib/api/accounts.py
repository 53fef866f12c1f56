"""Routes: /api/accounts (运维 only) and /api/audit."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import int_param, json_body, json_response, query_params, route, xlsx_response
from chalicelib.services.identity import accounts
from chalicelib.services.identity import audit
from chalicelib.workbooks.audit_book import audit_book

bp = Blueprint(__name__)


@route(bp, "GET", "/api/accounts")
def list_accounts(principal):
    return {"items": [accounts.public(a) for a in accounts.list_accounts(principal)]}


@route(bp, "POST", "/api/accounts")
def create_account(principal):
    account = accounts.create(principal, json_body(bp))
    audit.record(principal, action="新增账号", target=account.username, scope=account.display_name)
    return json_response(accounts.public(account), 201)


@route(bp, "PUT", "/api/accounts/{username}")
def update_account(principal, username):
    account = accounts.update(principal, username, json_body(bp))
    audit.record(principal, action="修改账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@route(bp, "POST", "/api/accounts/{username}/disable")
def disable_account(principal, username):
    account = accounts.set_disabled(principal, username, True)
    audit.record(principal, action="停用账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@route(bp, "POST", "/api/accounts/{username}/enable")
def enable_account(principal, username):
    account = accounts.set_disabled(principal, username, False)
    audit.record(principal, action="启用账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@route(bp, "POST", "/api/accounts/{username}/reset-password")
def reset_password(principal, username):
    accounts.reset_password(principal, username, str(json_body(bp).get("password") or ""))
    audit.record(principal, action="重置密码", target=username)
    return {"ok": True}


@route(bp, "GET", "/api/audit")
def audit_log(principal):
    """操作日志, newest first: filters from / to (ISO; default today), actor, action; cursor paging."""
    params = query_params(bp)
    items, following = audit.search(audit.parse_query(params), cursor=params.get("cursor", ""),
                                    page_size=int_param(params, "page_size", 50, high=200))
    return {"items": items, "next": following}


@route(bp, "GET", "/api/audit/actions")
def audit_actions(principal):
    return {"items": list(audit.ACTIONS)}


@route(bp, "GET", "/api/audit/export")
def audit_export(principal):
    query = audit.parse_query(query_params(bp))
    rows = audit.export_rows(query)
    audit.record(principal, action="导出操作日志", target=audit.describe(query), rows=len(rows))
    return xlsx_response(audit_book(rows), "操作日志.xlsx")

"""Routes: /api/accounts (运维 only) and /api/audit."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import endpoint, int_param, json_body, json_response, query_params, xlsx_response
from chalicelib.services import accounts, audit
from chalicelib.workbooks.audit_book import audit_book

bp = Blueprint(__name__)
ADMIN = ("admin",)


@bp.route("/api/accounts", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def list_accounts(principal):
    return {"items": [accounts.public(a) for a in accounts.list_accounts(principal)]}


@bp.route("/api/accounts", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def create_account(principal):
    account = accounts.create(principal, json_body(bp))
    audit.record(principal, action="新增账号", target=account.username, scope=account.display_name)
    return json_response(accounts.public(account), 201)


@bp.route("/api/accounts/{username}", methods=["PUT"])
@endpoint(bp, roles=ADMIN)
def update_account(principal, username):
    account = accounts.update(principal, username, json_body(bp))
    audit.record(principal, action="修改账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@bp.route("/api/accounts/{username}/disable", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def disable_account(principal, username):
    account = accounts.set_disabled(principal, username, True)
    audit.record(principal, action="停用账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@bp.route("/api/accounts/{username}/enable", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def enable_account(principal, username):
    account = accounts.set_disabled(principal, username, False)
    audit.record(principal, action="启用账号", target=account.username, scope=account.display_name)
    return accounts.public(account)


@bp.route("/api/accounts/{username}/reset-password", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def reset_password(principal, username):
    accounts.reset_password(principal, username, str(json_body(bp).get("password") or ""))
    audit.record(principal, action="重置密码", target=username)
    return {"ok": True}


@bp.route("/api/audit", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def audit_log(principal):
    """操作日志, newest first: filters from / to (ISO; default today), actor, action; cursor paging."""
    params = query_params(bp)
    items, following = audit.search(audit.parse_query(params), cursor=params.get("cursor", ""),
                                    page_size=int_param(params, "page_size", 50, high=200))
    return {"items": items, "next": following}


@bp.route("/api/audit/actions", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def audit_actions(principal):
    return {"items": list(audit.ACTIONS)}


@bp.route("/api/audit/export", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def audit_export(principal):
    query = audit.parse_query(query_params(bp))
    rows = audit.export_rows(query)
    audit.record(principal, action="导出操作日志", target=audit.describe(query), rows=len(rows))
    return xlsx_response(audit_book(rows), "操作日志.xlsx")

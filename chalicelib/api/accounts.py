"""Routes: /api/accounts (运维 only) and /api/audit."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import endpoint, int_param, json_body, json_response, query_params
from chalicelib.services import accounts, audit

bp = Blueprint(__name__)
ADMIN = ("admin",)


@bp.route("/api/accounts", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def list_accounts(principal):
    return {"items": [accounts.public(a) for a in accounts.list_accounts(principal)]}


@bp.route("/api/accounts", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def create_account(principal):
    return json_response(accounts.public(accounts.create(principal, json_body(bp))), 201)


@bp.route("/api/accounts/{username}", methods=["PUT"])
@endpoint(bp, roles=ADMIN)
def update_account(principal, username):
    return accounts.public(accounts.update(principal, username, json_body(bp)))


@bp.route("/api/accounts/{username}/disable", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def disable_account(principal, username):
    return accounts.public(accounts.set_disabled(principal, username, True))


@bp.route("/api/accounts/{username}/enable", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def enable_account(principal, username):
    return accounts.public(accounts.set_disabled(principal, username, False))


@bp.route("/api/accounts/{username}/reset-password", methods=["POST"])
@endpoint(bp, roles=ADMIN)
def reset_password(principal, username):
    accounts.reset_password(principal, username, str(json_body(bp).get("password") or ""))
    return {"ok": True}


@bp.route("/api/audit", methods=["GET"])
@endpoint(bp, roles=ADMIN)
def audit_log(principal):
    params = query_params(bp)
    page, size = int_param(params, "page", 1, high=10_000), int_param(params, "page_size", 50, high=200)
    items, total = audit.recent(page=page, page_size=size)
    return {"items": items, "total": total, "page": page, "page_size": size}

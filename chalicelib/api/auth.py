"""Routes: /api/auth/*, /api/me, and the local-only SMS outbox."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import client_address, json_body, route, user_body
from chalicelib.errors import NotFoundError
from chalicelib.integrations.sms import console_outbox
from chalicelib.rules.clock import iso
from chalicelib.services.identity import auth

bp = Blueprint(__name__)


def _login_body(result: auth.LoginResult) -> dict:
    return {"token": result.token, "expires_at": iso(result.expires_at), "user": user_body(result.principal)}


@route(bp, "POST", "/api/auth/login")
def login():
    body = json_body(bp)
    return _login_body(auth.login_with_password(username=_text(body, "username"), password=_text(body, "password"),
                                                client=client_address(bp)))


@route(bp, "POST", "/api/auth/sms")
def send_code():
    return auth.request_sms_code(phone=_text(json_body(bp), "phone"), client=client_address(bp))


@route(bp, "POST", "/api/auth/sms-login")
def sms_login():
    body = json_body(bp)
    return _login_body(auth.login_with_code(phone=_text(body, "phone"), code=_text(body, "code"),
                                            client=client_address(bp)))


def _text(body: dict, key: str) -> str:
    """A credential field: text, or nothing (a list or an object is no password)."""
    value = body.get(key)
    return value if isinstance(value, str) else ""


@route(bp, "POST", "/api/auth/logout")
def logout(principal):
    auth.logout(principal)
    return {"ok": True}


@route(bp, "GET", "/api/me")
def me(principal):
    return user_body(principal)


@route(bp, "GET", "/api/dev/sms-outbox")
def sms_outbox():
    items = console_outbox()
    if items is None:
        raise NotFoundError("仅本地环境提供")
    return {"items": items}

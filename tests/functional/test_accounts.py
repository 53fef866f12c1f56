"""账号管理: only the operator keeps staff accounts; disabling and resets end sessions."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


@pytest.mark.parametrize("username", ["youzheng", "nanshajie", "zhuanban"])
def test_only_admin_reaches_accounts(api, login, username):
    token = login(username)
    assert api.get("/api/accounts", token=token)[0] == 403
    assert api.post("/api/accounts", token=token, body={"username": "x"})[0] == 403
    assert api.post("/api/accounts/admin/disable", token=token)[0] == 403
    assert api.post("/api/accounts/admin/reset-password", token=token, body={"password": "abcd1234"})[0] == 403


def test_head_cannot_reach_accounts(api, make_enterprise, head_login):
    make_enterprise()
    assert api.get("/api/accounts", token=head_login("13800138000"))[0] == 403


def test_create_edit_and_log_in(api, login):
    token = login("admin")
    status, body = api.post("/api/accounts", token=token, body={
        "username": "dachong", "display_name": "大岗镇人民政府", "role": "town", "town": "大岗镇",
        "password": "dagang2026"})
    assert status == 201 and body["role_label"] == "镇街"
    assert api.post("/api/accounts", token=token, body={
        "username": "dachong", "display_name": "x", "role": "admin", "password": "dagang2026"})[0] == 409
    status, body = api.post("/api/auth/login", body={"username": "dachong", "password": "dagang2026"})
    assert status == 200 and body["user"]["town"] == "大岗镇"
    status, body = api.put("/api/accounts/dachong", token=token, body={
        "display_name": "区交通运输局", "role": "bureau", "categories": ["transport"]})
    assert status == 200 and body["categories"] == ["transport"] and body["town"] == ""


def test_account_fields_are_checked(api, login):
    status, body = api.post("/api/accounts", token=login("admin"), body={
        "username": "a", "display_name": "", "role": "bureau", "categories": [], "password": "short"})
    assert status == 400
    assert set(body["fields"]) == {"username", "display_name", "categories", "password"}
    assert body["fields"]["password"] == "密码至少 8 位"


def test_disabled_account_cannot_log_in_and_loses_its_sessions(api, login):
    town_token = login("nanshajie")
    admin = login("admin")
    assert api.post("/api/accounts/nanshajie/disable", token=admin)[0] == 200
    status, body = api.get("/api/enterprises", token=town_token)
    assert status == 403 and body["code"] == "DISABLED"
    right = api.post("/api/auth/login", body={"username": "nanshajie", "password": PASSWORD})
    wrong = api.post("/api/auth/login", body={"username": "nanshajie", "password": "wrong-one"})
    assert right == wrong == (401, {"code": "UNAUTHENTICATED", "message": "用户名或密码错误"})  # nothing tells it apart
    assert api.post("/api/accounts/nanshajie/enable", token=admin)[0] == 200
    assert api.get("/api/enterprises", token=town_token)[0] == 401  # the old session stays ended
    assert api.post("/api/auth/login", body={"username": "nanshajie", "password": PASSWORD})[0] == 200


def test_reset_password(api, login):
    old = login("nanshajie")
    admin = login("admin")
    assert api.post("/api/accounts/nanshajie/reset-password", token=admin, body={"password": "abc"})[0] == 400
    assert api.post("/api/accounts/nanshajie/reset-password", token=admin, body={"password": "newpass2026"})[0] == 200
    assert api.get("/api/me", token=old)[0] == 401
    assert api.post("/api/auth/login", body={"username": "nanshajie", "password": PASSWORD})[0] == 401
    assert api.post("/api/auth/login", body={"username": "nanshajie", "password": "newpass2026"})[0] == 200


def test_admin_cannot_lock_itself_out(api, login):
    assert api.post("/api/accounts/admin/disable", token=login("admin"))[0] == 400


def test_passwords_are_stored_slowly_hashed(accounts):
    from chalicelib.store.models import Account

    stored = Account.get("admin").password_hash
    assert stored.startswith("scrypt$") and PASSWORD not in stored

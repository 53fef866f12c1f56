"""Logging in and out: passwords, SMS codes, limits, locks, expiry, no account enumeration."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD


def test_password_login_and_me(api, accounts):
    status, body = api.post("/api/auth/login", body={"username": "nanshajie", "password": PASSWORD})
    assert status == 200
    assert body["user"]["role"] == "town" and body["user"]["town"] == "南沙街"
    status, me = api.get("/api/me", token=body["token"])
    assert status == 200 and me["role_label"] == "镇街"


@pytest.mark.parametrize("username,password", [("nanshajie", "wrong-pass1"), ("nobody", PASSWORD), ("", "")])
def test_wrong_credentials_are_refused_alike(api, accounts, username, password):
    status, body = api.post("/api/auth/login", body={"username": username, "password": password})
    assert status == 401 and body["message"] == "用户名或密码错误"


def test_routes_need_a_session(api, accounts):
    for path in ("/api/me", "/api/enterprises", "/api/lists", "/api/accounts"):
        status, body = api.get(path)
        assert status == 401 and body["code"] == "UNAUTHENTICATED"
        status, _ = api.get(path, token="forged-token")
        assert status == 401


def test_logout_ends_the_token(api, login):
    token = login("admin")
    assert api.post("/api/auth/logout", token=token)[0] == 200
    assert api.get("/api/me", token=token)[0] == 401


def test_session_expires(api, login, monkeypatch):
    from chalicelib.rules import clock

    token = login("admin")
    later = clock.now() + timedelta(hours=12, seconds=1)
    monkeypatch.setattr("chalicelib.services.identity.auth.now", lambda: later)
    assert api.get("/api/me", token=token)[0] == 401


def test_head_logs_in_with_code_and_reuses_it(api, make_enterprise, sms):
    make_enterprise(head_phone="13900001111")
    status, body = api.post("/api/auth/sms", body={"phone": "139 0000 1111"})
    assert status == 200 and body["cooldown_seconds"] == 60
    code = sms.code_for("13900001111")
    assert code and len(code) == 6
    for _ in range(2):  # the seed: 验证码可作为密码多次使用
        status, body = api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": code})
        assert status == 200 and body["user"]["role"] == "head"
    assert [e["name"] for e in body["user"]["enterprises"]] == ["南沙速递营业部"]


def test_a_head_is_named_by_the_enterprises_they_head(api, make_enterprise, head_login, login, sms):
    """No 企业负责人 in the header: the 负责人姓名 of their enterprises, and the enterprise or how many."""
    make_enterprise(name="南沙速递营业部", head_name="陈志强", head_phone="13900001111")
    token = head_login("13900001111")
    me = api.get("/api/me", token=token)[1]
    assert (me["display_name"], me["head_name"], me["role_label"]) == ("陈志强（南沙速递营业部）", "陈志强", "企业负责人")
    make_enterprise(name="黄阁冷链仓", town="黄阁镇", head_name="陈志强", head_phone="13900001111")
    make_enterprise(name="万顷沙工地", town="万顷沙镇", category="construction", head_name="陈志强",
                    head_phone="13900001111", extra={"project_name": "某工程"})
    me = api.get("/api/me", token=token)[1]
    assert me["display_name"] == "陈志强 · 3 家企业" and len(me["enterprises"]) == 3
    # the login answer says the same
    status, body = api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": sms.code_for("13900001111")})
    assert status == 200 and body["user"]["display_name"] == "陈志强 · 3 家企业"
    # different names entered for the same phone are all shown, none chosen silently
    make_enterprise(name="南沙街便利店", category="express", head_name="陈志刚", head_phone="13900001111")
    assert api.get("/api/me", token=token)[1]["display_name"] == "陈志强、陈志刚 · 4 家企业"
    # staff accounts keep their account's name
    assert api.get("/api/me", token=login("youzheng"))[1]["display_name"] == "区邮政管理局"


def test_unknown_phone_gets_the_same_answer_and_no_code(api, make_enterprise, sms):
    make_enterprise(head_phone="13900001111")
    known = api.post("/api/auth/sms", body={"phone": "13900001111"})
    unknown = api.post("/api/auth/sms", body={"phone": "13900002222"})
    assert known == unknown
    assert [phone for phone, _ in sms] == ["13900001111"]
    status, body = api.post("/api/auth/sms-login", body={"phone": "13900002222", "code": "000000"})
    assert status == 401


def test_invalid_phone_is_named(api, aws):
    status, body = api.post("/api/auth/sms", body={"phone": "1234"})
    assert status == 400 and body["fields"]["phone"] == "请输入正确的11位手机号码"


def test_one_code_a_minute_and_ten_a_day(api, make_enterprise, sms, monkeypatch):
    from chalicelib.rules import clock

    make_enterprise(head_phone="13900001111")
    start = clock.now().replace(hour=1, minute=0)  # 09:00 in Shanghai: the day does not roll over below
    moments = iter([start + timedelta(minutes=m) for m in (0, 0.5, *range(2, 40, 2))])
    current = {"t": next(moments)}
    monkeypatch.setattr("chalicelib.services.identity.auth.now", lambda: current["t"])
    assert api.post("/api/auth/sms", body={"phone": "13900001111"})[0] == 200
    current["t"] = next(moments)
    status, body = api.post("/api/auth/sms", body={"phone": "13900001111"})
    assert status == 429 and "秒后再试" in body["message"]
    sent = 1
    while sent < 10:
        current["t"] = next(moments)
        assert api.post("/api/auth/sms", body={"phone": "13900001111"})[0] == 200
        sent += 1
    current["t"] = next(moments)
    status, body = api.post("/api/auth/sms", body={"phone": "13900001111"})
    assert status == 429 and "今日" in body["message"]
    assert len(sms) == 10


def test_five_wrong_codes_kill_the_code_not_the_phone(api, make_enterprise, sms, monkeypatch):
    from chalicelib.rules import clock

    make_enterprise(head_phone="13900001111")
    api.post("/api/auth/sms", body={"phone": "13900001111"})
    code = sms.code_for("13900001111")
    wrong = "111111" if code != "111111" else "222222"
    for attempt in range(4):
        status, body = api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": wrong})
        assert status == 401 and f"还可尝试 {4 - attempt} 次" in body["message"]
    status, body = api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": wrong})
    assert status == 401 and "已失效" in body["message"]
    status, body = api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": code})
    assert status == 401  # the code guessed at is dead: at most five guesses per code
    later = clock.now() + timedelta(minutes=1, seconds=1)
    monkeypatch.setattr("chalicelib.services.identity.auth.now", lambda: later)
    assert api.post("/api/auth/sms", body={"phone": "13900001111"})[0] == 200
    fresh = sms.code_for("13900001111")
    assert api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": fresh})[0] == 200


def test_code_expires_after_its_validity(api, make_enterprise, sms, monkeypatch):
    from chalicelib.rules import clock

    make_enterprise(head_phone="13900001111")
    api.post("/api/auth/sms", body={"phone": "13900001111"})
    code = sms.code_for("13900001111")
    later = clock.now() + timedelta(days=7, minutes=1)
    monkeypatch.setattr("chalicelib.services.identity.auth.now", lambda: later)
    assert api.post("/api/auth/sms-login", body={"phone": "13900001111", "code": code})[0] == 401


def test_codes_are_stored_hashed(api, make_enterprise, sms):
    from chalicelib.store.models import SmsCode

    make_enterprise(head_phone="13900001111")
    api.post("/api/auth/sms", body={"phone": "13900001111"})
    record = SmsCode.get("13900001111")
    assert sms.code_for("13900001111") not in record.code_hash

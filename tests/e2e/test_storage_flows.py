"""Nothing personal stays in the browser after logout: the session token is kept in sessionStorage (this tab
only) while logged in, never in localStorage; logging out of the mobile page or the console removes it, and
the head's phone is never written at all (an older version remembered it in localStorage for the login form
and the greeting; what it left there is removed when the page starts)."""
from __future__ import annotations

import json
import re
import urllib.request

from local.demo import DEMO_HEAD_PHONE
from tests.e2e.conftest import console_login, mobile_login

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
_DUMP = "() => ({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage) })"


def _assert_clean(stored: dict, token: str):
    for where, text in stored.items():
        assert DEMO_HEAD_PHONE not in text, (where, text)
        assert token not in text, (where, text)
        assert "token" not in text, (where, text)


def test_logout_leaves_nothing_personal_in_storage(system, browser, shot):
    # the mobile page, with what an older version left behind
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{system}/m/#/login")
    page.evaluate(f"localStorage.setItem('sentinel.m.phone', '{DEMO_HEAD_PHONE}')")
    page.reload()
    page.get_by_placeholder("手机号码").wait_for()
    assert page.evaluate("localStorage.getItem('sentinel.m.phone')") is None
    assert page.get_by_placeholder("手机号码").input_value() == ""  # not remembered

    mobile_login(page, system, DEMO_HEAD_PHONE)
    page.locator("[data-test=bucket-h24]").wait_for()
    page.get_by_text("登录手机号：138****8000").wait_for()  # the greeting's masked phone comes from /api/me
    stored = page.evaluate(_DUMP)
    token = page.evaluate("sessionStorage.getItem('sentinel.m.token')")
    assert token and token not in stored["local"] and DEMO_HEAD_PHONE not in stored["local"] + stored["session"], stored
    page.reload()  # a reload keeps the session (same tab)
    page.locator("[data-test=bucket-h24]").wait_for()

    page.get_by_text("退出").click()
    page.get_by_placeholder("手机号码").wait_for()
    _assert_clean(page.evaluate(_DUMP), token)
    assert page.get_by_placeholder("手机号码").input_value() == ""
    page.goto(f"{system}/m/#/")  # the home page needs a new login
    page.get_by_placeholder("手机号码").wait_for()
    page.locator(".van-toast").first.wait_for(state="hidden")
    shot(page, "44-mobile-after-logout-390")
    page.close()

    # the console: a staff account, then the head on a PC
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "admin")
    stored = page.evaluate(_DUMP)
    token = page.evaluate("sessionStorage.getItem('sentinel.token')")
    assert token and token not in stored["local"], stored
    page.reload()
    page.locator("[data-test=enterprise-table]").wait_for()
    page.locator("[data-test=current-user]").locator("..").get_by_role("button", name="退出").click()
    page.get_by_placeholder("用户名").wait_for()
    _assert_clean(page.evaluate(_DUMP), token)
    assert "admin" not in page.evaluate(_DUMP)["local"]

    page.get_by_role("tab", name="企业负责人登录").click()
    page.get_by_placeholder("手机号码").fill(DEMO_HEAD_PHONE)
    with urllib.request.urlopen(f"{system}/api/dev/sms-outbox") as answer:
        code = next(i["code"] for i in json.load(answer)["items"] if i["phone"] == DEMO_HEAD_PHONE)
    page.get_by_placeholder("请输入验证码").fill(code)
    page.get_by_role("button", name=re.compile("登\\s*录")).click()
    page.locator("[data-test=current-user]").wait_for()
    token = page.evaluate("sessionStorage.getItem('sentinel.token')")
    assert token
    page.locator("[data-test=current-user]").locator("..").get_by_role("button", name="退出").click()
    page.get_by_placeholder("用户名").wait_for()
    _assert_clean(page.evaluate(_DUMP), token)
    page.locator(".el-message").first.wait_for(state="hidden")
    shot(page, "45-console-after-logout-1440")
    page.close()

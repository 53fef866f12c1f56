"""A deployment serving several districts (DISTRICTS=南沙区,番禺区), in a real browser at 1440×900, on a stack
of its own: 账号管理 asks a 委办局 or 专班 account's 所属区 and lists it; the town pickers group the towns by
district; a 区局 logged in offers only its district's towns; what is called 全区 in one district is 全市.

The session's stack (conftest.py `running`) serves the default, one district; this module starts a second
one with the setting changed, as `make run DISTRICTS=南沙区,番禺区` does, and leaves the environment as it was."""
from __future__ import annotations

import os

import pytest

from local.demo import DEMO_PASSWORD
from tests.e2e.conftest import _reset_clients, api_json, console_login, table_rows

DESKTOP = {"width": 1440, "height": 900}
SERVED = "南沙区,番禺区"
NEW_BUREAU = "panyu-jiaotong"


@pytest.fixture(scope="module")
def city():
    """A second local system serving 南沙区 and 番禺区 (demo data of both, no feeds, no scheduler)."""
    from local.system import System

    saved = dict(os.environ)
    # the session stack's person-key ring lives in its own moto: this stack keys ID numbers by APP_SECRET
    for name in ("PERSON_KEY_SECRET_ID", "PERSON_KEY_FRESH_SECONDS", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    os.environ["DISTRICTS"] = SERVED
    _forget_keys()
    started = System(None, demo_feeds=False, scheduler=False, api_processes=2).start()
    _reset_clients()
    try:
        yield started.base_url
    finally:
        started.stop()
        os.environ.clear()
        os.environ.update(saved)
        _reset_clients()
        _forget_keys()


def _forget_keys():
    from chalicelib.services.common import keyring

    keyring.forget()


def _token(base, username):
    return api_json(base, "/api/auth/login", body={"username": username, "password": DEMO_PASSWORD})["token"]


def _choose(page, select, option):
    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()
    page.locator(".el-select-dropdown__item:visible").first.wait_for(state="hidden")


def _open_options(page, select):
    """Open an el-select; answer its visible options and group titles, as on screen."""
    select.click()
    page.locator(".el-select-dropdown__item:visible").first.wait_for()
    page.wait_for_timeout(300)
    options = page.locator(".el-select-dropdown__item:visible").all_inner_texts()
    groups = page.locator(".el-select-group__title:visible").all_inner_texts()
    return [o.strip() for o in options], [g.strip() for g in groups]


def _close(page):
    page.keyboard.press("Escape")
    page.locator(".el-select-dropdown__item:visible").first.wait_for(state="hidden")


def test_city_accounts_and_district_town_pickers(city, browser, shot):
    admin = _token(city, "admin")
    lists = api_json(city, "/api/lists", admin)
    assert lists["area"] == "全市"
    by_district = {d["name"]: d["towns"] for d in lists["districts"]}
    assert list(by_district) == ["南沙区", "番禺区"], by_district
    panyu = by_district["番禺区"]

    page = browser.new_page(viewport=DESKTOP)
    console_login(page, city, "admin")
    # 运维 reaches every town: the 企业管理 filter groups them by district
    options, groups = _open_options(page, page.locator("[data-test=filter-town]"))
    assert groups == ["南沙区", "番禺区"], groups
    assert options == ["全部", *by_district["南沙区"], *panyu], options
    shot(page, "90-city-enterprise-town-filter-admin-1440")
    _close(page)

    # 账号管理: a 所属区 column; the demo's 番禺区 accounts carry theirs, a 镇街 its town's, the others 全市
    page.goto(f"{city}/#/accounts")
    page.locator("[data-test=account-table] tr.el-table__row").first.wait_for()
    rows = {r["用户名"]: r for r in table_rows(page, "account-table")}
    assert rows["qu2-youzheng"]["所属区"] == "番禺区", rows["qu2-youzheng"]
    assert rows["qu2-zhuanban"]["所属区"] == "番禺区"
    assert rows["nanshajie"]["所属区"] == "南沙区"
    assert rows["youzheng"]["所属区"] == "全市"

    page.get_by_role("button", name="新增账号").click()
    dialog = page.locator("[data-test=account-dialog]")
    dialog.wait_for()
    assert dialog.locator("[data-test=account-district]").count() == 0  # no role yet
    # a 镇街 account: its town from every district, grouped
    _choose(page, dialog.locator("[data-test=account-role]"), "镇街")
    assert dialog.locator("[data-test=account-district]").count() == 0  # a 镇街's district is its town's
    options, groups = _open_options(page, dialog.locator("[data-test=account-town]"))
    assert groups == ["南沙区", "番禺区"] and options == [*by_district["南沙区"], *panyu], (groups, options)
    shot(page, "90-city-account-town-grouped-1440")
    _close(page)

    # a 委办局 of 番禺区
    dialog.get_by_placeholder("请输入用户名").fill(NEW_BUREAU)
    dialog.get_by_placeholder("姓名或单位名称").fill("番禺区交通运输局")
    _choose(page, dialog.locator("[data-test=account-role]"), "委办局")
    district = dialog.locator("[data-test=account-district]")
    district.wait_for()
    assert "全市（不限区）" in district.inner_text()  # the default: the whole city
    options, _ = _open_options(page, district)
    assert options == ["全市（不限区）", "南沙区", "番禺区"], options
    page.locator(".el-select-dropdown__item:visible", has_text="番禺区").first.click()
    page.locator(".el-select-dropdown__item:visible").first.wait_for(state="hidden")
    categories = dialog.locator("[data-test=account-categories]")
    categories.click()
    items = page.locator(".el-select-dropdown__item:visible")
    items.first.wait_for()
    for i in range(items.count()):
        items.nth(i).click()
    dialog.locator(".el-dialog__title").click()  # closes the dropdown
    items.first.wait_for(state="hidden")
    dialog.get_by_placeholder("至少8位，含字母和数字").fill(DEMO_PASSWORD)
    shot(page, "90-city-account-dialog-district-1440")
    dialog.get_by_role("button", name="保存").click()
    dialog.wait_for(state="hidden")
    row = page.locator("[data-test=account-table] tr.el-table__row", has_text=NEW_BUREAU)
    row.wait_for()
    assert row.locator("[data-test=account-district-cell]").inner_text().strip() == "番禺区"
    stored = next(a for a in api_json(city, "/api/accounts", admin)["items"] if a["username"] == NEW_BUREAU)
    assert stored["district"] == "番禺区" and stored["role"] == "bureau", stored
    page.locator(".el-message").first.wait_for(state="hidden")
    shot(page, "90-city-accounts-1440")
    scroll = page.evaluate("""() => { const w = document.querySelector('[data-test=account-table] .el-table__body-wrapper .el-scrollbar__wrap')
      return w.scrollWidth - w.clientWidth }""")
    assert scroll <= 1, f"账号管理 scrolls sideways by {scroll} px"
    # editing it keeps its district
    row.get_by_role("button", name="编辑").click()
    dialog.wait_for()
    assert dialog.locator("[data-test=account-district]").inner_text().strip() == "番禺区"
    dialog.get_by_role("button", name="取消").click()
    dialog.wait_for(state="hidden")

    # 告警设置 speaks of the whole city, and its 限定镇街 groups the towns
    page.goto(f"{city}/#/ledger/express")
    page.locator("[data-test=ledger-table]").wait_for()
    page.locator("[data-test=ledger-alert-settings]").click()
    settings = page.locator("[data-test=alert-settings-dialog]")
    settings.locator("[data-test=alert-settings-meta]").wait_for()
    assert "全部镇街：接收全市的告警" in settings.inner_text()
    settings.locator("[data-test=alert-settings-add]").click()
    options, groups = _open_options(page, settings.locator("[data-test=recipient-town]").first)
    assert groups == ["南沙区", "番禺区"], groups
    shot(page, "90-city-alert-settings-towns-admin-1440")
    _close(page)
    settings.get_by_role("button", name="取消", exact=True).click()
    page.close()

    # the new 区局 reaches 番禺区 only: /api/me says so, and every town picker offers 番禺区's towns, flat
    me = api_json(city, "/api/me", _token(city, NEW_BUREAU))
    assert me["district"] == "番禺区" and me["towns"] == panyu, me
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, city, NEW_BUREAU)
    page.wait_for_function("() => !document.querySelector('[data-test=enterprise-table] .el-loading-mask')")
    listed = {r["所属镇街"] for r in table_rows(page, "enterprise-table")}
    assert listed and listed <= set(panyu), listed
    options, groups = _open_options(page, page.locator("[data-test=filter-town]"))
    assert options == ["全部", *panyu] and groups == [], (options, groups)
    shot(page, "90-city-enterprise-town-filter-panyu-bureau-1440")
    _close(page)
    page.get_by_role("button", name="新增").first.click()
    enterprise = page.locator("[data-test=enterprise-dialog]")
    enterprise.wait_for()
    options, groups = _open_options(page, enterprise.locator("[data-test=field-town]"))
    assert options == panyu and groups == [], options
    _close(page)
    enterprise.get_by_role("button", name="取消").click()

    page.goto(f"{city}/#/ledger/express")
    page.locator("[data-test=ledger-table]").wait_for()
    options, groups = _open_options(page, page.locator("[data-test=ledger-filter-town]"))
    assert options == ["全部", *panyu] and groups == [], options
    shot(page, "90-city-ledger-town-filter-panyu-bureau-1440")
    _close(page)
    page.close()

"""Issue 12, item 1 (seed §2.5): 【告警设置】 on a 哨点人员 page. The supervising bureau (区邮政管理局, 快递物流)
changes the 检测频次 and the 高级推送人员, an invalid 粤政易账号 is refused with the server's Chinese message and
nothing is saved, someone saving meanwhile is noticed (409) and the dialog reloads; a 镇街 user reads the same
settings without being able to change them — at 1440×900 and 390×844.

Issue 22: a recipient is picked from the accounts that carry a 粤政易 userid, gets a 发送测试消息, and an account
the 粤政易 directory does not know is refused on save with the message at its row; a category whose towns
nobody receives is warned about (港口码头 has no 高级推送人员); 账号管理 shows and checks each account's 粤政易账号."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

from local.demo import DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
RULE_NAMES = ["一天一检", "两天一检", "三天一检", "三天两检", "七天一检", "七天两检", "七天三检", "十四天一检"]
SETTINGS = "/api/alerts/settings/express"
DIALOG = "[data-test=alert-settings-dialog]"
# members of the local 粤政易 stand-in (local/wecom.py), whose directory every new recipient is checked against
RECIPIENTS = [
    {"user_id": "zhujian", "name": "住建值班", "town": ""},
    {"user_id": "huangge", "name": "黄阁镇值班", "town": "黄阁镇"},
]
UNKNOWN = "wangxm"  # not in the stand-in's directory


def _login(base, username):
    return api_json(base, "/api/auth/login", body={"username": username, "password": DEMO_PASSWORD})["token"]


def _put(base, path, token, body):
    """PUT JSON; answers (status, body) whatever the status."""
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="PUT", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _plain(recipients):
    return [{"user_id": r["user_id"], "name": r["name"], "town": r["town"]} for r in recipients]


def _open_dialog(page, base):
    page.goto(f"{base}/#/ledger/express")
    page.locator("[data-test=ledger-table]").wait_for()
    page.locator("[data-test=ledger-alert-settings]").click()
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    dialog.locator("[data-test=alert-settings-meta]").wait_for()
    page.wait_for_function(f"() => !document.querySelector('{DIALOG} .el-loading-mask:not([style*=\"display: none\"])')")
    return dialog


def _choose(page, select, option):
    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()
    page.locator(".el-select-dropdown__item:visible").first.wait_for(state="hidden")


def _rows(dialog):
    """The editable rows as [{user_id, name, town}] as on screen."""
    return dialog.locator("[data-test=alert-settings-recipient]").evaluate_all("""(rows) => rows.map((row) => ({
      user_id: row.querySelector('input[data-test=recipient-user-id]').value,
      name: row.querySelector('input[data-test=recipient-name]').value,
      town: row.querySelector('[data-test=recipient-town]').innerText.trim() }))""")


def _within(page, selector, width):
    box = page.locator(selector).bounding_box()
    assert box and box["x"] >= -1 and box["x"] + box["width"] <= width + 1, (selector, box)
    return box


def _fill_row(row, user_id, name):
    row.locator("input[data-test=recipient-user-id]").fill(user_id)
    row.locator("input[data-test=recipient-name]").fill(name)


def test_bureau_sets_rule_and_recipients(system, browser, shot):
    bureau, admin = _login(system, "youzheng"), _login(system, "admin")
    before = api_json(system, SETTINGS, bureau)
    assert before["editable"] is True and before["category_name"] == "快递物流", before
    assert [r["name"] for r in before["rules"]] == RULE_NAMES

    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "youzheng")
    dialog = _open_dialog(page, system)
    assert "快递物流" in dialog.locator(".el-dialog__title").inner_text()
    assert dialog.locator("[data-test=alert-settings-readonly]").count() == 0
    assert before["rule_name"] in dialog.locator("[data-test=alert-settings-rule]").inner_text()

    # 三天两检, with what it asks for in one line
    _choose(page, dialog.locator("[data-test=alert-settings-rule]"), "三天两检")
    explain = dialog.locator("[data-test=alert-settings-rule-explain]")
    assert "须在运行日之前的 3 个自然日内至少检测 2 次" in explain.inner_text(), explain.inner_text()

    # two people: one for the whole district, one limited to 南沙街 — the second with an invalid account
    existing = dialog.locator("[data-test=alert-settings-recipient]").count()
    for _ in RECIPIENTS:
        dialog.locator("[data-test=alert-settings-add]").click()
    rows = dialog.locator("[data-test=alert-settings-recipient]")
    assert rows.count() == existing + 2
    first, second = rows.nth(existing), rows.nth(existing + 1)
    # the first picked from the accounts that carry a 粤政易 userid: its name comes along, then is edited
    first.locator("input[data-test=recipient-user-id]").click()
    option = page.locator(".recipient-options:visible [data-test=recipient-option]", has_text=RECIPIENTS[0]["user_id"])
    option.first.click()
    assert first.locator("input[data-test=recipient-user-id]").input_value() == RECIPIENTS[0]["user_id"]
    assert first.locator("input[data-test=recipient-name]").input_value()  # the account's name
    first.locator("input[data-test=recipient-name]").fill(RECIPIENTS[0]["name"])
    first.locator("[data-test=recipient-test]").click()
    result = first.locator("[data-test=recipient-test-result]")
    result.wait_for()
    assert f"测试消息已发送至“{RECIPIENTS[0]['user_id']}”" in result.inner_text(), result.inner_text()
    _fill_row(second, "张 三", RECIPIENTS[1]["name"])
    _choose(page, second.locator("[data-test=recipient-town]"), RECIPIENTS[1]["town"])
    assert "全部镇街" in first.locator("[data-test=recipient-town]").inner_text()
    assert RECIPIENTS[1]["town"] in second.locator("[data-test=recipient-town]").inner_text()

    dialog.locator("[data-test=alert-settings-save]").click()
    refused = page.locator(".el-message--error", has_text="粤政易账号")
    refused.wait_for()
    assert f"第 {existing + 2} 位推送人员" in refused.inner_text(), refused.inner_text()
    marked = second.locator(".as-uid.is-error .el-form-item__error")
    marked.wait_for()
    assert "只能由字母、数字" in marked.inner_text(), marked.inner_text()
    assert first.locator(".is-error").count() == 0
    assert dialog.is_visible()
    shot(page, "80-alert-settings-invalid-1440")
    after_refusal = api_json(system, SETTINGS, bureau)
    assert after_refusal["version"] == before["version"] and after_refusal["rule"] == before["rule"]
    assert after_refusal["recipients"] == before["recipients"]

    # well-formed but unknown to 粤政易: refused on save, the message at its row; a test message fails too
    second.locator("input[data-test=recipient-user-id]").fill(UNKNOWN)
    assert second.locator(".as-uid.is-error").count() == 0
    page.locator(".el-message").first.wait_for(state="hidden")
    second.locator("[data-test=recipient-test]").click()
    failed = second.locator("[data-test=recipient-test-result].is-bad")
    failed.wait_for()
    dialog.locator("[data-test=alert-settings-save]").click()
    refused = page.locator(".el-message--error", has_text=UNKNOWN)
    refused.wait_for()
    assert f"第 {existing + 2} 位推送人员的粤政易账号“{UNKNOWN}”在粤政易通讯录中不存在" in refused.inner_text()
    marked = second.locator(".as-uid.is-error .el-form-item__error")
    marked.wait_for()
    assert "粤政易通讯录中没有此账号" in marked.inner_text(), marked.inner_text()
    assert api_json(system, SETTINGS, bureau)["version"] == before["version"]
    page.locator(".el-message").first.wait_for(state="hidden")
    shot(page, "80-alert-settings-unknown-userid-1440")

    # corrected: the mark goes as soon as the field changes; saved, the dialog closes
    second.locator("input[data-test=recipient-user-id]").fill(RECIPIENTS[1]["user_id"])
    assert second.locator(".as-uid.is-error").count() == 0
    assert second.locator("[data-test=recipient-test-result]").count() == 0  # the answer was about the old one
    dialog.locator(".el-dialog__title").click()  # the suggestions close
    shot(page, "81-alert-settings-bureau-1440")
    dialog.locator("[data-test=alert-settings-save]").click()
    page.locator(".el-message--success", has_text="保存成功").wait_for()
    dialog.wait_for(state="hidden")

    saved = api_json(system, SETTINGS, bureau)
    expected = _plain(before["recipients"]) + RECIPIENTS
    assert saved["rule"] == "3d2" and saved["rule_name"] == "三天两检", saved
    assert _plain(saved["recipients"]) == expected, saved["recipients"]
    assert saved["version"] == before["version"] + 1
    assert saved["updated_at"] and saved["updated_by"]

    # reopened: what was saved, and who saved it when
    dialog = _open_dialog(page, system)
    assert "三天两检" in dialog.locator("[data-test=alert-settings-rule]").inner_text()
    assert _rows(dialog) == [{**r, "town": r["town"] or "全部镇街"} for r in expected]
    updated = dialog.locator("[data-test=alert-settings-updated]").inner_text()
    assert "最后修改" in updated and saved["updated_by"] in updated, updated
    dialog.get_by_role("button", name="取消", exact=True).click()
    dialog.wait_for(state="hidden")
    page.close()

    # 操作日志: 修改告警设置, old → new
    query = urllib.parse.urlencode({"action": "修改告警设置"})
    entries = [e for e in api_json(system, f"/api/audit?{query}", admin)["items"] if e["action"] == "修改告警设置"]
    assert entries, "no 修改告警设置 in 操作日志"
    assert "三天两检" in entries[0]["target"] and "黄阁镇值班（黄阁镇）" in entries[0]["target"], entries[0]
    assert "快递物流" in (entries[0].get("scope") or ""), entries[0]

    # the same dialog on a phone: nothing off the screen
    phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    console_login(phone, system, "youzheng", ready="[data-test=current-user]")
    dialog = _open_dialog(phone, system)
    _within(phone, f"{DIALOG}", PHONE["width"])
    for selector in ("[data-test=alert-settings-rule]", "[data-test=alert-settings-add]",
                     "[data-test=alert-settings-save]"):
        _within(phone, f"{DIALOG} {selector}", PHONE["width"])
    for selector in ("recipient-user-id", "recipient-name", "recipient-town", "recipient-delete"):
        _within(phone, f"{DIALOG} [data-test=alert-settings-recipient] >> nth=0 >> [data-test={selector}]",
                PHONE["width"])
    shot(phone, "82-alert-settings-bureau-390")
    phone.close()


def test_town_reads_settings_without_changing_them(system, browser, shot):
    admin, town = _login(system, "admin"), _login(system, "nanshajie")
    current = api_json(system, SETTINGS, admin)
    if not current["recipients"]:  # run on its own: something to show
        status, current = _put(system, SETTINGS, admin, {"rule": "3d2", "recipients": RECIPIENTS,
                                                         "version": current["version"]})
        assert status == 200, current
    seen = api_json(system, SETTINGS, town)
    assert seen["editable"] is False
    assert (seen["rule"], seen["recipients"], seen["version"]) == (current["rule"], current["recipients"],
                                                                   current["version"])
    status, answer = _put(system, SETTINGS, town, {"rule": "1d1", "recipients": [], "version": seen["version"]})
    assert status == 403, (status, answer)

    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "nanshajie", ready="[data-test=menu-ledger]")
    dialog = _open_dialog(page, system)
    assert "仅运维和主管部门可修改" in dialog.locator("[data-test=alert-settings-readonly]").inner_text()
    assert dialog.get_by_role("button", name="保存").count() == 0
    assert dialog.locator("[data-test=alert-settings-add], [data-test=recipient-delete], input").count() == 0
    assert dialog.locator("[data-test=alert-settings-rule-text]").inner_text().strip() == seen["rule_name"]
    body = dialog.locator("[data-test=alert-settings-recipients] .el-table__body-wrapper tbody tr")
    shown = body.evaluate_all("(rows) => rows.map((tr) => [...tr.children].map((td) => td.innerText.trim()))")
    assert shown == [[str(n + 1), r["user_id"], r["name"], r["town"] or "全部镇街"]
                     for n, r in enumerate(seen["recipients"])], shown
    assert "最后修改" in dialog.locator("[data-test=alert-settings-updated]").inner_text()
    shot(page, "83-alert-settings-town-readonly-1440")
    dialog.get_by_role("button", name="关闭", exact=True).click()
    dialog.wait_for(state="hidden")
    page.close()

    # on a phone: the read-only table fits the dialog without sideways scrolling
    phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    console_login(phone, system, "nanshajie", ready="[data-test=current-user]")
    dialog = _open_dialog(phone, system)
    _within(phone, DIALOG, PHONE["width"])
    _within(phone, f"{DIALOG} [data-test=alert-settings-recipients]", PHONE["width"])
    wrap = f"{DIALOG} [data-test=alert-settings-recipients] .el-table__body-wrapper .el-scrollbar__wrap"
    scroll = phone.evaluate(f"() => {{ const w = document.querySelector('{wrap}'); return w.scrollWidth - w.clientWidth }}")
    assert scroll <= 1, f"the recipients table scrolls sideways by {scroll} px"
    shot(phone, "84-alert-settings-town-readonly-390")
    phone.close()


def test_someone_else_saved_meanwhile(system, browser):
    """The bureau's dialog is open when 运维 saves: saving answers 409, the user is told and the dialog reloads."""
    admin = _login(system, "admin")
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "youzheng")
    dialog = _open_dialog(page, system)
    current = api_json(system, SETTINGS, admin)
    status, answer = _put(system, SETTINGS, admin, {"rule": "7d3", "recipients": _plain(current["recipients"]),
                                                    "version": current["version"]})
    assert status == 200 and answer["rule_name"] == "七天三检", answer

    _choose(page, dialog.locator("[data-test=alert-settings-rule]"), "一天一检")
    dialog.locator("[data-test=alert-settings-save]").click()
    box = page.locator(".el-message-box", has_text="已被他人修改")
    box.wait_for()
    box.get_by_role("button", name="重新加载").click()
    box.wait_for(state="hidden")
    page.wait_for_function(f"""() => document.querySelector('{DIALOG} [data-test=alert-settings-rule]')
      .innerText.includes('七天三检')""")
    assert "七天三检" in dialog.locator("[data-test=alert-settings-rule-explain]").inner_text()
    assert re.search(r"7 个自然日内至少检测 3 次", dialog.locator("[data-test=alert-settings-rule-explain]").inner_text())
    assert api_json(system, SETTINGS, admin)["rule"] == "7d3"  # the user's 一天一检 was not saved
    # saved again from the reloaded dialog: the new version goes through
    _choose(page, dialog.locator("[data-test=alert-settings-rule]"), "三天两检")
    dialog.locator("[data-test=alert-settings-save]").click()
    page.locator(".el-message--success", has_text="保存成功").wait_for()
    dialog.wait_for(state="hidden")
    assert api_json(system, SETTINGS, admin)["rule"] == "3d2"
    page.close()


def test_towns_nobody_receives_are_warned(system, browser, shot):
    """港口码头 has no 高级推送人员: 告警设置 says its lists reach nobody but 运维接收人, and which towns stay
    uncovered as recipients limited to one town are added."""
    admin = _login(system, "admin")
    port = api_json(system, "/api/alerts/settings/port", admin)
    assert port["recipients"] == [] and port["uncovered_towns"] == api_json(system, "/api/lists", admin)["towns"], port
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "admin")
    page.goto(f"{system}/#/ledger/port")
    page.locator("[data-test=ledger-table]").wait_for()
    page.locator("[data-test=ledger-alert-settings]").click()
    dialog = page.locator(DIALOG)
    dialog.locator("[data-test=alert-settings-meta]").wait_for()
    page.wait_for_function(f"() => !document.querySelector('{DIALOG} .el-loading-mask:not([style*=\"display: none\"])')")
    warning = dialog.locator("[data-test=alert-settings-uncovered]")
    assert "本类别没有高级推送人员" in warning.inner_text() and "运维接收人" in warning.inner_text(), warning.inner_text()
    # one person for 南沙街 only: every other town is still nobody's
    dialog.locator("[data-test=alert-settings-add]").click()
    row = dialog.locator("[data-test=alert-settings-recipient]").first
    _fill_row(row, "nanshajie", "南沙街道值班")
    _choose(page, row.locator("[data-test=recipient-town]"), "南沙街")
    text = warning.inner_text()
    others = [t for t in port["uncovered_towns"] if t != "南沙街"]
    assert text.startswith("以下镇街没有高级推送人员，名单将转给运维接收人：") and "、".join(others) in text, text
    assert "南沙街" not in text.split("：", 1)[1]
    dialog.locator(".el-dialog__title").click()
    shot(page, "80-alert-settings-uncovered-1440")
    # someone for every town: no warning
    _choose(page, row.locator("[data-test=recipient-town]"), "全部镇街")
    warning.wait_for(state="detached")
    dialog.get_by_role("button", name="取消", exact=True).click()
    dialog.wait_for(state="hidden")
    assert api_json(system, "/api/alerts/settings/port", admin)["recipients"] == []  # nothing saved
    page.close()


def test_accounts_carry_their_wecom_userid(system, browser, shot):
    """账号管理: each account's 粤政易账号 in the list; one the directory does not know is refused at its field."""
    admin = _login(system, "admin")
    accounts = {a["username"]: a for a in api_json(system, "/api/accounts", admin)["items"]}
    assert accounts["nanshajie"]["wecom_userid"] == "nanshajie", accounts["nanshajie"]
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "admin")
    page.goto(f"{system}/#/accounts")
    table = page.locator("[data-test=account-table]")
    row = table.locator("tr.el-table__row", has_text="nanshajie").first
    row.wait_for()
    assert row.locator("[data-test=account-wecom]").inner_text().strip() == "nanshajie"
    shot(page, "80-accounts-1440")
    row.get_by_role("button", name="编辑").click()
    dialog = page.locator("[data-test=account-dialog]")
    field = dialog.locator("input[data-test=account-wecom-userid]")
    assert field.input_value() == "nanshajie"
    field.fill(UNKNOWN)
    dialog.get_by_role("button", name="保存").click()
    error = dialog.locator(".el-form-item.is-error .el-form-item__error", has_text=UNKNOWN)
    error.wait_for()
    assert "粤政易通讯录中没有账号" in error.inner_text(), error.inner_text()
    page.locator(".el-message").first.wait_for(state="hidden")
    shot(page, "80-accounts-wecom-refused-1440")
    dialog.get_by_role("button", name="取消").click()
    assert api_json(system, "/api/accounts", admin)["items"] and next(
        a for a in api_json(system, "/api/accounts", admin)["items"] if a["username"] == "nanshajie")[
        "wecom_userid"] == "nanshajie"
    # the whole list on a 1440 screen: nothing scrolls sideways
    scroll = page.evaluate("""() => { const w = document.querySelector('[data-test=account-table] .el-table__body-wrapper .el-scrollbar__wrap')
      return w.scrollWidth - w.clientWidth }""")
    assert scroll <= 1, f"账号管理 scrolls sideways by {scroll} px"
    page.close()

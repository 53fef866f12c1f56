"""The flows issue 3 names: a head keeps staff on the mobile page (and imports on a PC), a town user
finds them in the ledger and exports them."""
from __future__ import annotations

import io
import json
import time
import urllib.request

import openpyxl

from chalicelib.rules.clock import SHANGHAI, now
from chalicelib.rules.idnumber import compose
from local.demo import DEMO_HEAD_PHONE
from tests.e2e.conftest import api_json, console_login, mobile_login

NEW_HEAD = "13700002202"  # heads one enterprise with nobody registered yet
HEADER = ["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"]


def _id(seq: int) -> str:
    return compose("19880808", seq)


def _pick_first(page, field):
    page.locator(f"[data-test={field}]").click()
    page.locator(".van-picker__confirm").click()


def _workbook(enterprise: str) -> bytes:
    bad = _id(5)[:-1] + ("1" if _id(5)[-1] != "1" else "2")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    rows = [
        ["梁嘉欣", _id(2), "13712340002", enterprise, "一线人员", "单位宿舍", "广州市南沙区蕉门路1号"],
        ["何俊杰", _id(3), "13712340003", enterprise, "管理人员", "自行租住", "广州市南沙区蕉门路2号"],
        ["梁嘉欣（改）", _id(2), "13712340002", enterprise, "一线人员", "单位宿舍", "广州市南沙区蕉门路1号"],
        ["罗晓玲", float(_id(4)[:-1] + "0"), "13712340004", enterprise, "一线人员", "自行租住", "广州市南沙区蕉门路4号"],
        ["苏文辉", bad, "13712340005", enterprise, "一线人员", "自行租住", "广州市南沙区蕉门路5号"],
        ["卢锦荣", _id(6), "13712340006", "不存在的公司", "一线人员", "自行租住", "广州市南沙区蕉门路6号"],
    ]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_head_adds_a_person_gets_the_duplicate_and_imports_a_workbook(system, browser, shot, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                            accept_downloads=True)
    page.goto(f"{system}/m/#/login")
    mobile_login(page, system, DEMO_HEAD_PHONE)
    page.locator("[data-test=entry-staff]").click()
    page.locator("[data-test=m-staff-list]").wait_for()
    shot(page, "10-mobile-staff-list")

    def add(name):
        page.get_by_role("button", name="新增").click()
        page.locator("[data-test=m-staff-form]").wait_for()
        _pick_first(page, "m-staff-field-enterprise")
        page.locator("input[name=name]").fill(name)
        _pick_first(page, "m-staff-field-person-category")
        page.locator("input[name=phone]").fill("13712340001")
        page.locator("input[name=id_number]").fill(_id(1).lower())
        page.locator("input[name=address]").fill("广州市南沙区进港大道8号")
        page.get_by_role("button", name="确定").click()

    add("陈志强")
    page.locator("[data-test=m-staff-item]", has_text="陈志强").wait_for()
    # one person ticked and 删除选中: the question names them (issue 22), and 取消 keeps them
    person = page.locator("[data-test=m-staff-item]", has_text="陈志强").first
    person.locator(".item-body").click()
    page.get_by_role("button", name="删除选中").click()
    question = page.locator(".van-dialog", has_text="删除确认")
    question.wait_for()
    assert "确定删除人员“陈志强”吗" in question.inner_text(), question.inner_text()
    shot(page, "10b-mobile-staff-delete-one")
    question.get_by_role("button", name="取消").click()
    question.wait_for(state="hidden")
    person.locator(".item-body").click()
    add("陈志强二")
    dialog = page.locator(".van-dialog", has_text="同一企业同一身份证号码只能登记一次")
    dialog.wait_for()
    assert "陈志强" in dialog.inner_text()
    shot(page, "11-mobile-staff-duplicate")
    page.close()

    # the import, on a PC-sized window of the same page (the seed: "此功能请在电脑端使用")
    desk = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    desk.goto(f"{system}/m/#/login")
    mobile_login(desk, system, DEMO_HEAD_PHONE)
    desk.locator("[data-test=entry-staff]").click()
    desk.locator("[data-test=m-staff-list]").wait_for()
    token = desk.evaluate("sessionStorage.getItem('sentinel.m.token')")
    request = urllib.request.Request(f"{system}/api/staff/options", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as answer:
        express = next(e["name"] for e in json.load(answer)["enterprises"] if e["category"] == "express")
    path = tmp_path / "员工信息.xlsx"
    path.write_bytes(_workbook(express))
    desk.get_by_role("button", name="导入").first.click()
    posted = []  # the workbook goes to storage through the /s3/ relay, never to the API
    desk.on("request", lambda r: posted.append(r.url.split("/", 3)[-1]) if r.method == "POST" else None)
    desk.locator("[data-test=staff-import-file]").set_input_files(str(path))
    result = desk.locator("[data-test=staff-import-result]")
    result.wait_for()
    assert posted[0] == "api/staff/import" and posted[1].startswith("s3/"), posted
    desk.wait_for_function("() => document.querySelector('[data-test=staff-import-status]')?.innerText.includes('已完成')")
    text = result.inner_text()
    assert "新增 2" in text and "更新 1" in text and "失败 3" in text, text
    shot(desk, "12-mobile-staff-import-result")
    with desk.expect_download() as failures:
        desk.get_by_role("button", name="下载失败文件").click()
    rows = list(openpyxl.load_workbook(io.BytesIO(failures.value.path().read_bytes())).active.iter_rows(values_only=True))
    reasons = {r[0]: r[7] for r in rows[1:]}
    assert "身份证号码被存为数字" in reasons["罗晓玲"]
    assert "校验位错误" in reasons["苏文辉"]
    assert "不是您负责的企业" in reasons["卢锦荣"]
    desk.close()


def test_town_finds_the_imported_people_in_the_ledger_and_exports(system, browser, shot):
    page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    console_login(page, system, "nanshajie", ready="[data-test=menu-ledger]")
    page.goto(f"{system}/#/ledger/express")
    table = page.locator("[data-test=ledger-table]")
    table.locator(".el-table__row").first.wait_for()
    box = page.get_by_placeholder("请输入姓名/手机号码/身份证号码/企业名称")
    box.fill("何")  # one character is no search term (a surname would name a tenth of the district): said so
    page.get_by_role("button", name="查询").click()
    page.get_by_text("请至少输入姓名中连续的两个字").first.wait_for()
    box.fill("何俊")  # a part of a name (the search index): the imported person among those it names
    with page.expect_response(lambda r: "/api/ledger?" in r.url and "q=" in r.url):
        page.get_by_role("button", name="查询").click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-test=ledger-table] .el-table__row "
                           "td:nth-child(2)')].every((td) => td.innerText.includes('何俊'))")
    table.locator(".el-table__row", has_text="何俊杰").wait_for()
    box.fill("何俊杰")
    page.get_by_role("button", name="查询").click()
    page.get_by_text("共 1 人").wait_for()
    assert table.locator(".el-table__row").count() == 1
    row_text = table.locator(".el-table__row", has_text="何俊杰").inner_text()
    assert "137****0003" in row_text and _id(3) not in row_text  # masked by the server
    shot(page, "13-ledger-town-search")
    table.locator(".el-table__row", has_text="何俊杰").get_by_text("查看详情").click()
    detail = page.locator("[data-test=ledger-detail]")
    detail.get_by_text(_id(3)).wait_for()
    shot(page, "14-ledger-detail")
    detail.get_by_role("button", name="关闭").first.click()
    with page.expect_download() as exported:
        page.get_by_role("button", name="导出").click()
    rows = list(openpyxl.load_workbook(io.BytesIO(exported.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码")
    assert any(r[1] == "何俊杰" and r[4] == _id(3) and r[2] == "南沙街" for r in rows[1:])
    page.close()


def test_head_logs_into_the_console_and_keeps_staff_there(system, browser, shot):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{system}/#/login")
    page.get_by_role("tab", name="企业负责人登录").click()
    mobile_login(page, system, DEMO_HEAD_PHONE)  # the same placeholders and buttons as the phone page
    page.get_by_text("员工管理").first.click()
    table = page.locator("[data-test=staff-table]")
    table.locator(".el-table__row").first.wait_for()
    assert "*" in table.locator(".el-table__row").first.inner_text()  # masked by the server
    shot(page, "15-console-head-staff")
    page.close()


def _admin(base):
    from local.demo import DEMO_PASSWORD

    return api_json(base, "/api/auth/login", body={"username": "admin", "password": DEMO_PASSWORD})["token"]


def _todays_run(base, admin):
    """Today's overnight check, run now unless an earlier flow of the session ran it: the head's list is its."""
    today = now().astimezone(SHANGHAI).strftime("%Y-%m-%d")
    run = next((r for r in api_json(base, "/api/alerts/runs", admin)["items"] if r["day"] == today), None)
    if not run or run["status"] != "done":
        request = urllib.request.Request(f"{base}/api/alerts/runs/{today}/start", method="POST", data=b"{}",
                                         headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 202
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            run = next((r for r in api_json(base, "/api/alerts/runs", admin)["items"] if r["day"] == today), None)
            if run and run["status"] in ("done", "failed"):
                break
            time.sleep(1)
    assert run and run["status"] == "done", run
    return today


def test_the_heads_list_says_test_today_and_a_head_without_staff_is_told_to_register(system, browser, shot):
    """Issue 22: the head's list said "应于 <today> 前检测" (before today: the due day is the run day), and a head
    with no staff was told "今日员工均已按规定检测"."""
    admin = _admin(system)
    today = _todays_run(system, admin)
    api_json(system, "/api/enterprises", admin, body={
        "category": "express", "name": "新开张快递驿站", "town": "南沙街", "grid": "", "head_name": "何家豪",
        "head_phone": NEW_HEAD, "address": "广州市南沙区港前大道3号", "extra": {}})

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(f"{system}/m/#/login")
    mobile_login(phone, system, DEMO_HEAD_PHONE)
    first = phone.locator("[data-test=home-shortfall-item]").first
    first.wait_for()
    due = first.locator("[data-test=home-shortfall-due]").inner_text().strip()
    assert due == "请于今日检测", due
    assert "前检测" not in phone.locator("[data-test=home-shortfalls]").inner_text()
    phone.locator(".van-toast").first.wait_for(state="hidden")
    phone.locator("[data-test=home-shortfalls]").scroll_into_view_if_needed()
    shot(phone, "16-mobile-home-shortfalls-due-today-390")
    phone.close()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(f"{system}/m/#/login")
    mobile_login(phone, system, NEW_HEAD)
    none = phone.locator("[data-test=home-shortfalls-none]")
    phone.wait_for_function("() => document.querySelector('[data-test=home-shortfalls-none]')?.innerText.trim()")
    assert none.inner_text().strip() == "暂无员工，请先在员工管理中登记"
    assert phone.locator("[data-test=home-total]").inner_text().strip() == "企业总人数：0 人"
    phone.locator(".van-toast").first.wait_for(state="hidden")
    shot(phone, "17-mobile-home-no-staff-390")
    phone.close()

    # the same on a PC: the folded panel says so on its title line; the demo head's list says 今日
    desk = browser.new_page(viewport={"width": 1440, "height": 900})
    desk.goto(f"{system}/#/login")
    desk.get_by_role("tab", name="企业负责人登录").click()
    mobile_login(desk, system, NEW_HEAD)
    desk.get_by_text("员工管理").first.click()
    empty = desk.locator("[data-test=staff-shortfalls-empty]")
    empty.wait_for()
    assert empty.inner_text().strip() == "暂无员工，请先在员工管理中登记"
    desk.locator(".el-message").first.wait_for(state="hidden")
    shot(desk, "18-console-head-no-staff-1440")
    desk.close()
    desk = browser.new_page(viewport={"width": 1440, "height": 900})
    desk.goto(f"{system}/#/login")
    desk.get_by_role("tab", name="企业负责人登录").click()
    mobile_login(desk, system, DEMO_HEAD_PHONE)
    desk.get_by_text("员工管理").first.click()
    rows = desk.locator("[data-test=staff-shortfalls-table] .el-table__body-wrapper tbody tr")
    rows.first.wait_for()
    heads = desk.locator("[data-test=staff-shortfalls-table] .el-table__header-wrapper th").all_inner_texts()
    due = rows.first.locator("td").nth([h.strip() for h in heads].index("应检测日期")).inner_text().strip()
    assert due == f"{today}（今日）", due
    desk.locator(".el-message").first.wait_for(state="hidden")
    shot(desk, "19-console-head-shortfalls-due-today-1440")
    # one person ticked and 删除选中: the question names them
    table = desk.locator("[data-test=staff-table]")
    first = table.locator(".el-table__body-wrapper tbody tr").first
    name = first.locator("td").nth(1).inner_text().strip()
    first.locator(".el-checkbox").click()
    desk.get_by_role("button", name="删除选中").click()
    box = desk.locator(".el-message-box", has_text="删除确认")
    box.wait_for()
    assert f"确定删除人员“{name}”吗" in box.inner_text(), box.inner_text()
    box.get_by_role("button", name="取消").click()
    desk.close()

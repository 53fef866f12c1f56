"""操作日志 (运维): what a head did today is found by their whole phone number, shown masked; the filters
(时间范围 defaulting to today, 操作人, 操作), cursor paging with 上一页/下一页, the user agent in the row's
expansion, and 导出 (操作日志.xlsx, itself audited)."""
from __future__ import annotations

import io
import json
import re
import urllib.request

import openpyxl

from chalicelib.rules.clock import SHANGHAI, now
from chalicelib.rules.idnumber import compose
from local.demo import DEMO_HEAD_PHONE, DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login, mobile_login, table_rows
from tests.functional.importing import upload_over_http

DESKTOP = {"width": 1440, "height": 900}
MASKED = f"{DEMO_HEAD_PHONE[:3]}****{DEMO_HEAD_PHONE[-4:]}"




def _rows(page):
    return table_rows(page, "audit-table")


def _search(page):
    page.locator("[data-test=audit-search]").click()
    return _rows(page)


def test_operator_finds_what_a_head_did_today(system, browser, shot):
    # the head, on the mobile page at PC width: log in with a code and 导出全部 of their staff
    head = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    head.goto(f"{system}/m/#/login")
    mobile_login(head, system, DEMO_HEAD_PHONE)
    head.locator("[data-test=entry-staff]").click()
    head.locator("[data-test=m-staff-list]").wait_for()
    with head.expect_download() as download:
        head.get_by_role("button", name="导出全部").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    head.close()
    # and imports a workbook (through the API, with the code the terminal printed: it stays valid)
    with urllib.request.urlopen(f"{system}/api/dev/sms-outbox") as answer:
        code = next(i["code"] for i in json.load(answer)["items"] if i["phone"] == DEMO_HEAD_PHONE)
    head_token = api_json(system, "/api/auth/sms-login", body={"phone": DEMO_HEAD_PHONE, "code": code})["token"]
    book = openpyxl.Workbook()
    book.active.append(["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"])
    book.active.append(["审计员", compose("19900303", 77), "13712349999", "", "一线人员", "自行租住", "广州市南沙区1号"])
    data = io.BytesIO()
    book.save(data)
    status, job = upload_over_http(system, "/api/staff/import", head_token, data.getvalue(), "audit.xlsx")
    assert status == 202, job

    # enough entries of one kind for a second page: 运维 opens 25 enterprises' details
    admin = api_json(system, "/api/auth/login", body={"username": "admin", "password": DEMO_PASSWORD})["token"]
    for ent in api_json(system, "/api/enterprises?page_size=25", admin)["items"][:25]:
        api_json(system, f"/api/enterprises/{ent['id']}", admin)

    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    console_login(page, system, "admin")
    page.get_by_role("menuitem", name="操作日志").click()
    page.locator("[data-test=audit-table]").wait_for()
    _rows(page)

    # 时间范围 defaults to today 00:00 – 23:59 (Asia/Shanghai)
    today = now().astimezone(SHANGHAI).strftime("%Y-%m-%d")
    shown = page.locator("[data-test=audit-filters] .el-range-input").evaluate_all("(inputs) => inputs.map((i) => i.value)")
    assert shown == [f"{today} 00:00", f"{today} 23:59"], shown
    assert page.get_by_placeholder("用户名或手机号").is_visible()

    # the head's whole phone finds their entries, shown masked
    page.get_by_placeholder("用户名或手机号").fill(DEMO_HEAD_PHONE)
    rows = _search(page)
    actions = {r["操作"] for r in rows}
    assert {"登录", "获取验证码", "导入员工信息", "导出员工信息"} <= actions, actions
    assert {r["操作人"] for r in rows} == {MASKED}, rows
    assert all(r["角色"] == "企业负责人" for r in rows), rows
    assert DEMO_HEAD_PHONE not in page.locator("[data-test=audit-table]").inner_text()
    exported = next(r for r in rows if r["操作"] == "导出员工信息")
    assert exported["结果"] == "成功" and re.fullmatch(rf"{today} \d{{2}}:\d{{2}}:\d{{2}}", exported["时间"]), exported
    assert exported["来源地址"], exported
    page.mouse.move(0, 0)
    shot(page, "46-audit-head-today-1440")

    # the row's expansion holds the user agent (the export was made in the browser)
    index = [r["操作"] for r in rows].index("导出员工信息")
    page.locator("[data-test=audit-table] .el-table__expand-icon").nth(index).click()
    detail = page.locator("[data-test=audit-detail]").first
    detail.wait_for()
    assert "Chrome" in detail.inner_text(), detail.inner_text()
    shot(page, "47-audit-row-expanded-1440")

    # 操作 narrows to one action
    page.locator("[data-test=audit-action]").click()
    page.locator(".el-select-dropdown__item", has_text=re.compile("^导出员工信息$")).click()
    rows = _search(page)
    assert rows and {r["操作"] for r in rows} == {"导出员工信息"}, rows

    # 重置: today, anyone, any action
    page.get_by_role("button", name="重置").click()
    rows = _rows(page)
    assert page.get_by_placeholder("用户名或手机号").input_value() == ""
    assert len({r["操作人"] for r in rows}) > 1, rows

    # cursor paging: 20 a page, 下一页 then 上一页 comes back to the same first page
    page.get_by_placeholder("用户名或手机号").fill("admin")
    page.locator("[data-test=audit-action]").click()
    page.locator(".el-select-dropdown__item", has_text=re.compile("^查看企业详情$")).click()
    page.locator("[data-test=audit-pager] .el-select").click()
    page.locator(".el-select-dropdown__item", has_text="20 条/页").click()
    first = _search(page)
    assert len(first) == 20 and {r["操作"] for r in first} == {"查看企业详情"}, first
    page.locator("[data-test=audit-next]").click()
    second = _rows(page)
    assert 5 <= len(second) <= 20 and page.get_by_text("第 2 页").is_visible(), second
    assert not {(r["时间"], r["对象"]) for r in second} & {(r["时间"], r["对象"]) for r in first[-1:]}
    assert second[0]["时间"] <= first[-1]["时间"]  # newest first, on from where page 1 ended
    page.get_by_role("button", name="上一页").click()
    assert _rows(page) == first and page.get_by_text("第 1 页").is_visible()

    # 导出: 操作日志.xlsx of the filters, and the export is in the log itself
    with page.expect_download() as download:
        page.locator("[data-test=audit-export]").click()
    assert download.value.suggested_filename == "操作日志.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()), read_only=True)
    lines = list(book.active.iter_rows(values_only=True))
    assert len(lines) - 1 >= 25, lines[:3]
    page.locator("[data-test=audit-action]").click()
    page.locator(".el-select-dropdown__item", has_text=re.compile("^导出操作日志$")).click()
    rows = _search(page)
    assert rows and rows[0]["操作"] == "导出操作日志" and rows[0]["操作人"] == "admin", rows
    page.close()

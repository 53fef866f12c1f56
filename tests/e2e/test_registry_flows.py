"""The flows issue 2 names, in a real browser against the running system."""
from __future__ import annotations

import io
from urllib.parse import urlparse

import openpyxl

from local.demo import DEMO_HEAD_PHONE
from tests.e2e.conftest import console_login, mobile_login


def _open(download):
    return openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()))


def _workbook_with_a_bad_row() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址", "项目名称"])
    sheet.append(["快递物流", "蕉门快递驿站", "南沙街", "", "黄海燕", "13922223333", "广州市南沙区蕉门路8号", ""])
    sheet.append(["快递物流", "金洲快递驿站", "南沙街", "", "梁国栋", "1392222", "广州市南沙区金岭北路9号", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_bureau_adds_imports_and_downloads_failures(system, browser, shot, tmp_path):
    page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    console_login(page, system, "youzheng")
    page.locator("[data-test=enterprise-table] .el-table__row").first.wait_for()
    shot(page, "01-enterprise-list-bureau")

    page.get_by_role("button", name="新增").first.click()
    dialog = page.locator("[data-test=enterprise-dialog]")
    dialog.locator("[data-test=field-category]").click()
    page.get_by_role("option", name="快递物流").click()
    dialog.get_by_placeholder("请输入主体名称").fill("明珠湾速递营业部")
    dialog.locator("[data-test=field-town]").click()
    page.get_by_role("option", name="珠江街").click()
    dialog.get_by_placeholder("请输入负责人姓名").fill("苏晓玲")
    dialog.get_by_placeholder("请输入负责人电话").fill("13911112222")
    dialog.get_by_placeholder("请输入主体地址").fill("广州市南沙区珠江街海滨路18号")
    shot(page, "02-add-enterprise-dialog")
    dialog.get_by_role("button", name="保存").click()
    page.wait_for_selector("[data-test=enterprise-table] >> text=明珠湾速递营业部")
    assert page.locator("[data-test=enterprise-table]").get_by_text("139****2222").count() == 1
    # deleting one enterprise names it (issue 22: "确定删除选中的 1 家企业吗"), from its row or ticked alone
    row = page.locator("[data-test=enterprise-table] .el-table__body-wrapper tbody tr", has_text="明珠湾速递营业部")
    for start in ("row", "ticked"):
        if start == "row":
            row.get_by_role("button", name="删除").click()
        else:
            row.locator(".el-checkbox").click()
            page.get_by_role("button", name="批量删除").click()
        box = page.locator(".el-message-box", has_text="删除确认")
        box.wait_for()
        assert "确定删除企业“明珠湾速递营业部”吗？" in box.inner_text(), box.inner_text()
        if start == "ticked":
            shot(page, "02b-delete-one-enterprise")
        box.get_by_role("button", name="取消").click()
        box.wait_for(state="hidden")
    row.locator(".el-checkbox").click()

    page.get_by_role("button", name="批量新增").click()
    with page.expect_download() as template:
        page.get_by_role("button", name="下载模板").click()
    assert template.value.suggested_filename == "企业信息导入模板.xlsx"
    headers = [c.value for c in _open(template.value).active[1]]
    assert headers[:3] == ["主体类型", "主体名称", "所属镇街"]

    upload = tmp_path / "企业导入.xlsx"
    upload.write_bytes(_workbook_with_a_bad_row())
    sent = []  # the page asks the API for a form (a name and a size), then posts the file to storage itself
    page.on("request", lambda r: sent.append((urlparse(r.url).path, len(r.post_data_buffer or b"")))
            if r.method == "POST" else None)
    page.locator("[data-test=import-file]").set_input_files(str(upload))
    result = page.locator("[data-test=import-result]")
    result.wait_for(timeout=20_000)
    assert "新增 1" in result.inner_text() and "失败 1" in result.inner_text()
    (api, api_bytes), (storage, _) = sent[:2]
    assert api == "/api/enterprises/import" and api_bytes < 200, sent  # a name and a size, never the file
    assert storage.startswith("/s3/"), sent  # the file: to storage, through the relay under the page's origin
    shot(page, "03-import-result")
    with page.expect_download() as failures:
        page.get_by_role("button", name="下载失败文件").click()
    rows = list(_open(failures.value).active.iter_rows(values_only=True))
    assert rows[0][-2:] == ("异常信息", "原表行号")
    assert rows[1][1] == "金洲快递驿站" and rows[1][-2] == "列为“负责人电话”，请输入正确的11位手机号码！"
    page.close()


def test_taskforce_reads_without_write_buttons(system, browser, shot):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    console_login(page, system, "zhuanban")
    assert page.get_by_role("button", name="导出").count() == 1
    assert page.get_by_role("button", name="新增").count() == 0
    assert page.get_by_role("button", name="批量删除").count() == 0
    shot(page, "04-enterprise-list-taskforce")
    page.close()


def test_head_logs_in_on_a_phone_with_the_sms_code(system, browser, shot):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{system}/m/#/login")
    shot(page, "05-mobile-login")
    mobile_login(page, system, DEMO_HEAD_PHONE)
    page.locator("[data-test=my-enterprises]").wait_for()
    text = page.locator("[data-test=my-enterprises]").inner_text()
    assert text.count("营业部") + text.count("中心") + text.count("集散点") >= 1
    shot(page, "06-mobile-home")
    page.close()

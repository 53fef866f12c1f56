"""Issue 4's flow: provincial files dropped into the local S3 show up on the head's phone and in the
ledger without a restart; the same file dropped again changes nothing."""
from __future__ import annotations

import io
import re
import time
import urllib.parse
from datetime import timedelta

import boto3
import openpyxl

from chalicelib.rules.clock import SHANGHAI, now
from local.demo import DEMO_HEAD_PHONE, DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login, mobile_login, table_rows




def _drop(key: str, data: bytes) -> None:
    from chalicelib.config import settings

    boto3.client("s3").put_object(Bucket=settings().files_bucket, Key=key, Body=data)


def _wait_for_files(base, admin, kind, count):
    for _ in range(100):
        files = api_json(base, f"/api/feeds?kind={kind}", admin)["items"]
        if len([f for f in files if f["status"] != "running"]) >= count:
            return files
        time.sleep(0.2)
    raise AssertionError(f"{kind} feed not ingested: {files}")


def _counts(page):
    return {key: int("".join(ch for ch in page.locator(f"[data-test=bucket-{key}]").inner_text() if ch.isdigit()) or 0)
            for key in ("h24", "h48", "h72", "over72", "unmatched")}


def test_dropped_feeds_reach_the_phone_and_the_ledger(system, browser, shot):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{system}/m/#/login")
    mobile_login(page, system, DEMO_HEAD_PHONE)
    page.locator("[data-test=bucket-h24]").wait_for()
    before = _counts(page)
    token = page.evaluate("sessionStorage.getItem('sentinel.m.token')")
    people = api_json(system, "/api/staff?page_size=500", token)["items"]
    untested = [p for p in people if not p["health"]["last_sampled_at"] and p["category"] == "express"][:3]
    ids = [api_json(system, f"/api/staff/{p['id']}", token)["id_number"] for p in untested]

    def at(hours):
        return (now() - timedelta(hours=hours)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

    csv = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点\r\n" + "".join(
        f"{number},{p['name']},{at(hours)},{at(hours - 2)},阴性,南沙街第一采样点\r\n"
        for number, p, hours in zip(ids, untested, (5, 6, 30)))
    _drop("feeds/nat/e2e-gbk.csv", csv.encode("gbk"))
    book = openpyxl.Workbook()
    book.active.append(["身份证号码", "姓名", "剂次", "接种日期", "疫苗产品/厂家", "接种单位"])
    book.active.append([ids[0], untested[0]["name"], "第一针", "2021-06-01", "北京生物", "南沙区疾控中心"])
    buffer = io.BytesIO()
    book.save(buffer)
    _drop("feeds/vaccine/e2e.xlsx", buffer.getvalue())
    admin = api_json(system, "/api/auth/login", body={"username": "admin", "password": DEMO_PASSWORD})["token"]
    _wait_for_files(system, admin, "nat", 1)
    _wait_for_files(system, admin, "vaccine", 1)

    page.reload()
    page.locator("[data-test=bucket-h24]").wait_for()
    page.wait_for_function(f"() => document.querySelector('[data-test=bucket-h24]').innerText.includes('{before['h24'] + 2}')")
    after = _counts(page)
    assert after["h24"] == before["h24"] + 2 and after["h48"] == before["h48"] + 1
    assert after["unmatched"] == before["unmatched"] - 3
    assert "数据更新至" in page.locator("[data-test=data-until]").inner_text()
    shot(page, "20-mobile-home-buckets")

    _drop("feeds/nat/e2e-gbk.csv", csv.encode("gbk"))  # the same file again
    time.sleep(2)
    page.reload()
    page.locator("[data-test=bucket-h24]").wait_for()
    assert _counts(page) == after
    assert len(api_json(system, "/api/feeds?kind=nat", admin)["items"]) == 1
    page.close()

    desk = browser.new_page(viewport={"width": 1440, "height": 900})
    console_login(desk, system, "nanshajie", ready="[data-test=menu-ledger]")
    desk.goto(f"{system}/#/ledger/express")
    desk.get_by_placeholder("请输入姓名/手机号码/身份证号码/企业名称").fill(ids[0])
    desk.get_by_role("button", name="查询").click()
    row = desk.locator("[data-test=ledger-table] .el-table__row").first
    row.get_by_text("阴性").wait_for()
    assert "2021-06-01" in row.inner_text()
    shot(desk, "21-ledger-with-health")
    desk.close()

    # 数据接入's upload, as 运维 does it in the console: the file goes straight to storage (the /s3/ relay
    # under the page's origin, as the bucket's own address on AWS) and shows up processed in the list;
    # 操作日志 names the kind in words (issue 22: 范围 said `nat`)
    audit = browser.new_page(viewport={"width": 1440, "height": 900})
    console_login(audit, system, "admin")
    audit.get_by_role("menuitem", name="数据接入").click()
    audit.locator("[data-test=feeds-table]").wait_for()
    from chalicelib.config import settings

    posts = []  # what the page sent: the request for a form, then the file to storage
    audit.on("request", lambda r: posts.append(urllib.parse.urlparse(r.url).path) if r.method == "POST" else None)
    audit.locator("[data-test=feed-upload-file]").set_input_files(
        files=[{"name": "核酸补传.csv", "mimeType": "text/csv", "buffer": csv.encode("gbk")}])
    uploaded = audit.locator("[data-test=feeds-table] .el-table__row", has_text="核酸补传.csv")
    uploaded.get_by_text("已完成").wait_for(timeout=30_000)
    assert posts == ["/api/feeds/upload", f"/s3/{settings().files_bucket}"], posts
    shot(audit, "22-feed-uploaded-1440")
    assert len(_wait_for_files(system, admin, "nat", 2)) == 2
    audit.get_by_role("menuitem", name="操作日志").click()
    audit.locator("[data-test=audit-table]").wait_for()
    audit.locator("[data-test=audit-action]").click()
    audit.locator(".el-select-dropdown__item", has_text=re.compile("^上传数据文件$")).click()
    audit.locator("[data-test=audit-search]").click()
    rows = table_rows(audit, "audit-table")
    assert rows and {r["范围"] for r in rows} == {"核酸检测"}, rows
    audit.mouse.move(0, 0)
    shot(audit, "22-audit-feed-upload-1440")
    audit.close()

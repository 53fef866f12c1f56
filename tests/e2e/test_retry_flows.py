"""数据接入 → 失败队列 (运维): a feed file whose every delivery failed is 失败 (a red tag) in the file list and
its S3 event waits in the dead-letter queue; the tab lists it (队列, 文件, 状态, 原因, 投递次数, 时间), 重试
asks first, puts it back on the work queue and the list empties (暂无失败消息); the worker then reads the
file and it ends 已完成.

It drops a NAT file, so it is named to run after test_feed_flows (which starts from a district no feed has
touched and counts the NAT files)."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import boto3
import pytest

from chalicelib.rules.clock import SHANGHAI, now
from local.demo import DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login, table_rows

DESKTOP = {"width": 1440, "height": 900}
KEY = "feeds/nat/e2e-dead-letter.csv"
NAME = KEY.rsplit("/", 1)[-1]




def _file(base, token, status):
    for _ in range(150):
        mine = [f for f in api_json(base, "/api/feeds?kind=nat", token)["items"] if f["object_key"] == KEY]
        if mine and mine[0]["status"] == status:
            return mine[0]
        time.sleep(0.2)
    raise AssertionError(f"{KEY} not {status}: {mine}")


def _at(hours):
    return (now() - timedelta(hours=hours)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _a_file_that_failed_every_delivery(base, token):
    """The file is stored and read once; then, as if its five deliveries had all failed, the record ends
    失败 through the workers' own path (jobs.attempt on the last delivery) and its event is dead-lettered."""
    from chalicelib.config import settings
    from chalicelib.services.jobs import lifecycle as jobs
    from chalicelib.store.models import FeedFile

    bucket = settings().files_bucket
    csv = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点\r\n" \
          f"11010519491231002X,测试人员,{_at(3)},{_at(2)},阴性,南沙街第一采样点\r\n"
    etag = boto3.client("s3").put_object(Bucket=bucket, Key=KEY, Body=csv.encode())["ETag"].strip('"')
    record = FeedFile.get(_file(base, token, "done")["id"])
    with pytest.raises(RuntimeError):
        with jobs.attempt(record, delivery=jobs.MAX_DELIVERIES):
            raise RuntimeError("simulated: the table did not answer")
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"sentinel-{settings().stage}-feeds-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Records": [{
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": KEY, "eTag": etag}}}]}))


def _dead_rows(page):
    return table_rows(page, "dead-letters-table", rows_only=False)


def test_operator_retries_a_dead_letter(system, browser, shot):
    admin = api_json(system, "/api/auth/login", body={"username": "admin", "password": DEMO_PASSWORD})["token"]
    _a_file_that_failed_every_delivery(system, admin)

    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "admin")
    page.get_by_role("menuitem", name="数据接入").click()
    row = page.locator("[data-test=feeds-table] .el-table__body-wrapper tbody tr", has_text=NAME)
    row.wait_for()
    tag = row.locator(".el-tag", has_text="失败")
    assert "el-tag--danger" in tag.get_attribute("class"), tag.get_attribute("class")
    page.mouse.move(0, 0)
    shot(page, "48-feeds-failed-file-1440")

    page.get_by_role("tab", name="失败队列").click()
    page.locator("[data-test=dead-letters-table]").wait_for()
    rows = _dead_rows(page)
    mine = [r for r in rows if r["文件"] == NAME]
    assert len(mine) == 1, rows
    assert mine[0]["队列"] == "数据文件" and mine[0]["状态"] == "失败", mine
    assert "5 次尝试后仍未完成" in page.locator("[data-test=dead-letters-table]").inner_text()
    assert re.fullmatch(r"\d+", mine[0]["投递次数"]) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", mine[0]["进入失败队列时间"]), mine
    assert page.url.endswith("?kind=dead")
    shot(page, "49-dead-letters-1440")

    # 重试: asked first, then put back; the list reloads without it
    page.locator("[data-test=dead-letters-table] tbody tr", has_text=NAME).locator("[data-test=dead-letter-retry]").click()
    box = page.locator(".el-message-box", has_text="确定重新处理")
    box.wait_for()
    assert NAME in box.inner_text()
    shot(page, "50-dead-letter-retry-confirm-1440")
    box.get_by_role("button", name="确定重试").click()
    page.locator(".el-message--success", has_text="已重新排队").wait_for()
    page.locator("[data-test=dead-letters-empty]").wait_for(timeout=15000)
    assert page.get_by_text("暂无失败消息").is_visible()
    page.locator(".el-message").first.wait_for(state="hidden")
    shot(page, "51-dead-letters-empty-1440")

    # the worker read the file again: 已完成 in the list
    assert _file(system, admin, "done")["message"].startswith("读取 1 行")
    page.get_by_role("tab", name="核酸检测").click()
    page.locator("[data-test=feeds-table] tbody tr", has_text=NAME).locator(".el-tag", has_text="已完成").wait_for()
    page.close()

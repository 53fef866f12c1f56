"""Issue 13's person-key rotation on the running system: `infra.person_key start` against the stack's
ring secret, the re-key job in the stack's own workers, 数据接入's notice while it runs and once it is done,
`finish`, and the same ledger, the same search by ID number and the same head's home throughout.

The suite's later flows (staff, stats, storage) then run on data that was re-keyed here."""
from __future__ import annotations

import os
import time
from datetime import timedelta

import boto3

from chalicelib.config import settings
from chalicelib.rules.clock import SHANGHAI, now
from local.demo import DEMO_HEAD_PHONE, DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login, mobile_login

DESKTOP = {"width": 1440, "height": 900}


def _ledger(base, token) -> list:
    rows = api_json(base, "/api/ledger?category=express&page_size=500", token)["items"]
    return sorted((r["name"], r["enterprise_name"], r["id_number"], str(sorted(r["health"].items()))) for r in rows)


def _sampled(base, admin, numbers) -> None:
    at = (now() - timedelta(hours=30)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    text = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点\n" + "".join(f"{n},某,{at},,阴性,轮换前采样点\n" for n in numbers)
    boto3.client("s3").put_object(Bucket=settings().files_bucket, Key="feeds/nat/e2e-rotation.csv", Body=text.encode())
    for _ in range(100):
        files = api_json(base, "/api/feeds?kind=nat", admin)["items"]
        if any(f["filename"] == "e2e-rotation.csv" and f["status"] == "done" for f in files):
            return
        time.sleep(0.2)
    raise AssertionError(f"the rotation's feed was not read: {files}")


def _search(base, token, number) -> list:
    rows = api_json(base, f"/api/ledger?category=express&q={number}", token)["items"]
    return sorted((r["name"], r["enterprise_name"], r["id"]) for r in rows)


def test_the_person_key_is_rotated_under_a_running_system_and_nothing_stops_matching(system, browser, shot,
                                                                                       monkeypatch):
    from chalicelib.services.operations import rotation
    from infra import person_key as cli

    admin = api_json(system, "/api/auth/login", body={"username": "admin", "password": DEMO_PASSWORD})["token"]
    town = api_json(system, "/api/auth/login", body={"username": "nanshajie", "password": DEMO_PASSWORD})["token"]
    assert api_json(system, "/api/person-key", admin)["status"] is None  # never rotated: no notice
    rows = api_json(system, "/api/ledger?category=express&page_size=3", town)["items"]
    numbers = [api_json(system, f"/api/ledger/{r['id']}", town)["id_number"] for r in rows]  # in full (audited)
    _sampled(system, admin, numbers)  # people with samples under the key that is about to be replaced
    before = _ledger(system, town)
    assert sum("'last_sampled_at', None" not in row[3] for row in before) >= 3
    first, number = rows[0], numbers[0]
    searched = _search(system, town, number)
    assert searched and first["name"] in {name for name, _, _ in searched}
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{system}/m/#/login")
    mobile_login(page, system, DEMO_HEAD_PHONE)
    page.locator("[data-test=bucket-h24]").wait_for()
    head = page.evaluate("sessionStorage.getItem('sentinel.m.token')")
    home = api_json(system, "/api/dashboard", head)["buckets"]

    # the proving pass may start only 15 s after `start` (on AWS: 17 min): long enough to see it running
    monkeypatch.setenv("PERSON_KEY_SETTLE_SECONDS", "15")
    cli.begin(os.environ["PERSON_KEY_SECRET_ID"])

    console = browser.new_page(viewport=DESKTOP)
    console_login(console, system, "admin", ready="[data-test=enterprise-table]")
    console.goto(f"{system}/#/feeds")
    notice = console.locator("[data-test=key-rotation]")
    notice.wait_for()
    assert "人员密钥轮换进行中（版本 1 → 2）" in notice.inner_text()
    assert [row[:2] for row in _search(system, town, number)] == [row[:2] for row in searched]  # under either key
    console.wait_for_function("() => document.querySelector('[data-test=key-rotation]').innerText.includes('第 2 轮')",
                              timeout=120_000)  # the local worker moves ~10 people a second
    shot(console, "79-feeds-key-rotation-running")

    for _ in range(360):
        state = api_json(system, "/api/person-key", admin)
        if state["status"] != "running":
            break
        time.sleep(0.5)
    assert state["status"] == "done" and state["moved_total"] >= len(before), state
    console.reload()
    notice.wait_for()
    assert "已完成" in notice.inner_text() and "待运维删除旧密钥" in notice.inner_text()
    console.wait_for_function("() => !document.querySelector('[data-test=feeds-table] .el-loading-mask')")
    shot(console, "79-feeds-key-rotation-done")

    assert _ledger(system, town) == before  # every row, every health column, as before
    assert api_json(system, "/api/dashboard", head)["buckets"] == home  # the head's home: the same counts
    page.reload()
    page.locator("[data-test=bucket-h24]").wait_for()
    shot(page, "79-mobile-home-after-key-rotation")

    cli.finish(os.environ["PERSON_KEY_SECRET_ID"])
    time.sleep(1)
    console.reload()
    console.locator("[data-test=feeds-table]").wait_for()
    assert console.locator("[data-test=key-rotation]").count() == 0
    assert api_json(system, "/api/person-key", admin)["retired_at"]
    after = _search(system, town, number)
    assert [row[:2] for row in after] == [row[:2] for row in searched] and after[0][2] != searched[0][2]  # new key
    actions = {e["action"] for e in api_json(system, "/api/audit?page_size=100", admin)["items"]}
    assert {"开始人员密钥轮换", "完成人员密钥轮换"} <= actions
    assert rotation.header("2").status == "done"

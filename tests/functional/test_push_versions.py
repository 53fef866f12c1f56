"""The morning's lists can be trusted (issue 22): what was sent is what is kept, a re-run reaches the
recipients as corrections, no non-compliant person reaches nobody, every number is the caller's, a past
day is judged as it was, and recipients are checked before anyone relies on them.

The district is test_compliance.py's (快递物流 三天两检: 南沙街 3 of 5 non-compliant, 黄阁镇 1 of 2;
建筑工地 三天一检: 南沙街 2 of 4), its 粤政易 stand-in started first so every recipient saved is checked.
"""
from __future__ import annotations

import io
import json
import urllib.request
from datetime import time, timedelta

import openpyxl
import pytest

from chalicelib.integrations import storage, wecom
from chalicelib.services.compliance import night, push
from chalicelib.store.compliance import PushItem
from local.wecom import WeComStandIn
from tests.functional.importing import deliver
from tests.functional.test_compliance import HEAD, district, night_run, pid, utc_event  # noqa: F401 - fixture

MEMBERS = ("youzheng", "nanshajie", "zhujian", "zhuanban", "yunwei", "huangge")


@pytest.fixture
def server(monkeypatch):
    """Listed before `district` in each test, so the district's recipients are checked against it."""
    stand_in = WeComStandIn(members=MEMBERS)
    monkeypatch.setenv("WECOM_BASE_URL", stand_in.start(0))
    wecom._clients.clear()
    yield stand_in
    stand_in.stop()
    wecom._clients.clear()


def _morning(day):
    import app as application

    application.morning_push(utc_event(day, time(9, 0)), None)


def _book(key: str) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(storage.get(key))).active.iter_rows(values_only=True))


def _pushes(api, token, day):
    status, body = api.get(f"/api/alerts/pushes?day={day}", token=token)
    assert status == 200, body
    return body, {i["item"]: i for i in body["items"]}


def test_a_rerun_marks_changed_lists_and_corrections_go_once_per_recipient_and_version(server, api, aws, login,
                                                                                       district):
    day = district.isoformat()
    admin = login("admin")
    night_run(aws, district)
    _morning(district)
    first = PushItem.get(day, "express#youzheng")
    assert (first.status, first.rows) == ("sent", 4)
    sent_book = _book(first.attachment_key)

    # 运维 changes 快递物流 to 七天一检 after the push and runs the day again: 南沙街 3 → 0, 黄阁镇 1 → 1
    setting = api.get("/api/alerts/settings/express", token=admin)[1]
    assert api.put("/api/alerts/settings/express", token=admin, body={
        "rule": "7d1", "version": setting["version"], "recipients": setting["recipients"]})[0] == 200
    assert api.post(f"/api/alerts/runs/{day}/start", token=admin, body={})[0] == 202
    deliver(aws)
    deliver(aws)
    assert (night.header(day).generation, night.header(day).shortfalls) == (2, 3)

    body, items = _pushes(api, admin, day)
    assert body["changed"] == 3  # youzheng's and nanshajie's lists and the 专班 summary; 建筑工地 unchanged
    assert {k for k, v in items.items() if v["changed"]} == {"express#youzheng", "express#nanshajie", "summary#zhuanban"}
    assert items["express#youzheng"]["rows"] == 4 and items["express#youzheng"]["status_name"] == "已发送"
    detail = api.get(f"/api/alerts/runs/{day}", token=admin)[1]
    assert {c["category"]: c["changed"] for c in detail["categories"]} == {"express": True, "construction": False}

    # the old file is still what was sent, never rewritten by the re-run
    assert _book(PushItem.get(day, "express#youzheng").attachment_key) == sent_book and len(sent_book) == 7

    before = len(server.outbox)
    status, answer = api.post(f"/api/alerts/pushes/{day}/corrections", token=admin, body={})
    assert status == 202 and answer["changed"] == 3
    deliver(aws, times=2)  # redelivered: each recipient still gets each version once
    assert api.post(f"/api/alerts/pushes/{day}/corrections", token=admin, body={})[0] == 409  # nothing left to correct
    assert push.run_pass(day, corrections=True)["planned"] == 0
    new = [m for m in server.outbox[before:]]
    assert sorted((m["to"][0], m["msgtype"]) for m in new) == [
        ("nanshajie", "textcard"), ("youzheng", "file"), ("youzheng", "textcard"),
        ("zhuanban", "file"), ("zhuanban", "textcard")]  # nanshajie's town has nobody left to chase: no file
    card = next(m for m in new if m["to"] == ["youzheng"] and m["msgtype"] == "textcard")["body"]["textcard"]
    assert card["title"].startswith("【更正】") and "名单由 4 人变为 1 人（新增 0 人，移出 3 人）" in card["description"]
    summary = next(m for m in new if m["to"] == ["zhuanban"] and m["msgtype"] == "textcard")["body"]["textcard"]
    assert "由 6 人变为 3 人" in summary["description"]

    body, items = _pushes(api, admin, day)
    assert body["changed"] == 0 and not any(i["changed"] for i in items.values())
    fixed = items[f"express#youzheng#g2"]
    assert (fixed["correction"], fixed["rows"], fixed["card"]["title"]) == (True, 1, card["title"])
    assert len(_book(PushItem.get(day, "express#youzheng#g2").attachment_key)) == 4  # header, 1 row, blank, note
    # the audit records what was handed out: the old item's 4 rows
    assert api.get(f"/api/alerts/pushes/{day}/attachment?item=express%23youzheng", token=admin)[1]["rows"] == 4
    audit = [e for e in api.get("/api/audit", token=admin)[1]["items"] if e["action"] == "下载推送附件"]
    assert audit[0]["rows"] == 4
    assert "推送更正名单" in {e["action"] for e in api.get("/api/audit", token=admin)[1]["items"]}


def test_a_list_nobody_receives_is_recorded_counted_and_sent_to_operations(server, api, aws, login, district):
    day = district.isoformat()
    admin = login("admin")
    setting = api.get("/api/alerts/settings/express", token=admin)[1]
    only_town = [r for r in setting["recipients"] if r["town"] == "南沙街"]  # 黄阁镇's list now has nobody
    answer = api.put("/api/alerts/settings/express", token=admin, body={
        "rule": setting["rule"], "version": setting["version"], "recipients": only_town})[1]
    assert "黄阁镇" in answer["uncovered_towns"]  # 告警设置 warns before anything is lost
    assert api.put("/api/alerts/ops-recipients", token=admin, body={
        "version": 0, "recipients": [{"user_id": "yunwei", "name": "运维值班"}]})[0] == 200
    night_run(aws, district)
    detail = api.get(f"/api/alerts/runs/{day}", token=admin)[1]
    assert {c["category"]: c["unrouted_towns"] for c in detail["categories"]} == {"express": ["黄阁镇"],
                                                                                 "construction": []}
    _morning(district)

    _, items = _pushes(api, admin, day)
    lost = items["unrouted#express"]
    assert (lost["status_name"], lost["rows"], lost["towns"]) == ("未推送（无接收人）", 1, "黄阁镇")
    assert [m["msgtype"] for m in server.sent_to("yunwei")] == ["textcard", "file"]
    assert "黄阁镇未设置高级推送人员" in server.sent_to("yunwei")[0]["body"]["textcard"]["description"]
    ops_book = _book(items["ops#express#yunwei"] and PushItem.get(day, "ops#express#yunwei").attachment_key)
    assert [r[1] for r in ops_book[1:2]] == ["员工己"]
    summary = _book(PushItem.get(day, "summary#zhuanban").attachment_key)
    assert ("快递物流", "区邮政管理局", "三天两检", 7, 4, 1) in summary
    assert "其中 1 人所在类别或镇街未设置高级推送人员" in server.sent_to("zhuanban")[0]["body"]["textcard"]["description"]
    # a bureau sees its category's unrouted record; nobody can retry it (it was never a message)
    _, bureau = _pushes(api, login("youzheng"), day)
    assert "unrouted#express" in bureau
    assert api.post(f"/api/alerts/pushes/{day}/retry", token=admin, body={"item": "unrouted#express"})[0] == 409


def test_a_towns_numbers_labels_and_files_are_its_own(server, api, aws, login, district):
    day = district.isoformat()
    night_run(aws, district)
    town = login("nanshajie")
    runs = api.get("/api/alerts/runs", token=town)[1]
    detail = api.get(f"/api/alerts/runs/{day}", token=town)[1]
    assert (runs["items"][0]["people"], runs["items"][0]["shortfalls"]) == (9, 5)
    assert (detail["people"], detail["shortfalls"], detail["message"]) == (9, 5, "共 9 人，未按规定检测 5 人")
    assert detail["scope_label"] == "南沙街" and runs["scope_label"] == "南沙街"
    listed = api.get(f"/api/alerts/runs/{day}/people?category=express", token=town)[1]
    assert listed["where"] == "南沙街" and listed["total"] == 3
    assert api.get(f"/api/alerts/runs/{day}/people?category=express", token=login("admin"))[1]["where"] == "全区"
    whole = api.get(f"/api/alerts/runs/{day}", token=login("admin"))[1]
    assert (whole["people"], whole["shortfalls"], whole["scope_label"]) == (11, 6, "全区")
    bureau = api.get(f"/api/alerts/runs/{day}", token=login("youzheng"))[1]
    assert (bureau["people"], bureau["shortfalls"], bureau["scope_label"]) == (7, 4, "快递物流")


def test_a_past_days_rerun_judges_only_the_people_registered_by_that_day(server, api, aws, login, district,
                                                                        head_login):
    enterprise = next(e for e in api.get("/api/enterprises", token=login("admin"))[1]["items"] if e["name"] == "南沙速递")
    status, body = api.post("/api/staff", token=head_login(HEAD), body={
        "enterprise_id": enterprise["id"], "name": "新员工", "person_category": "一线人员", "phone": "13700000009",
        "id_number": pid(9), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})
    assert status == 201, body  # registered today, never tested
    yesterday = (district - timedelta(days=1)).isoformat()
    assert api.post(f"/api/alerts/runs/{yesterday}/start", token=login("admin"), body={})[0] == 202
    deliver(aws)
    deliver(aws)
    run = night.header(yesterday)
    assert (run.status, run.people) == ("done", 11)  # not 12: the new person was not registered that day
    people = api.get(f"/api/alerts/runs/{yesterday}/people?category=express&town=南沙街&page_size=50",
                     token=login("admin"))[1]["items"]
    assert "新员工" not in {p["name"] for p in people}
    # no latest sample after the day judged: p2's sample at 00:00 today is not shown for yesterday
    assert all(p["last_sampled"] < f"{district:%Y-%m-%d}" for p in people), people


def test_a_rerun_is_refused_where_the_kept_samples_no_longer_cover_a_window(server, api, aws, login, district):
    admin = login("admin")
    setting = api.get("/api/alerts/settings/school", token=admin)[1]
    assert api.put("/api/alerts/settings/school", token=admin, body={
        "rule": "14d1", "version": setting["version"], "recipients": []})[0] == 200
    assert api.get("/api/alerts/runs", token=admin)[1]["earliest_rerun"] == district.isoformat()
    status, body = api.post(f"/api/alerts/runs/{district - timedelta(days=1)}/start", token=admin, body={})
    assert status == 400 and "十四天一检" in body["message"] and district.isoformat() in body["message"]
    assert "day" in body["fields"]


def test_recipients_are_checked_on_save_tested_and_see_what_was_sent_to_them(server, api, aws, login, district):
    day = district.isoformat()
    admin = login("admin")
    setting = api.get("/api/alerts/settings/express", token=admin)[1]
    status, body = api.put("/api/alerts/settings/express", token=admin, body={
        "rule": setting["rule"], "version": setting["version"],
        "recipients": setting["recipients"] + [{"user_id": "wangxm", "name": "王小明"}]})
    assert status == 400 and "wangxm" in body["message"] and "不存在" in body["message"]
    assert "recipients[2].user_id" in body["fields"]
    assert api.get("/api/alerts/settings/express", token=admin)[1]["version"] == setting["version"]  # nothing saved

    # an account carries its 粤政易 userid, checked the same way; then it is offered as a recipient
    account = {"role": "town", "display_name": "南沙街", "town": "南沙街"}
    status, body = api.put("/api/accounts/nanshajie", token=admin, body=account | {"wecom_userid": "nobody"})
    assert status == 400 and "wecom_userid" in body["fields"]
    assert api.put("/api/accounts/nanshajie", token=admin, body=account | {"wecom_userid": "nanshajie"})[0] == 200
    options = api.get("/api/alerts/recipients/options", token=login("youzheng"))[1]["items"]
    assert {"user_id": "nanshajie", "name": "南沙街"}.items() <= next(o for o in options if o["user_id"] == "nanshajie").items()

    status, body = api.post("/api/alerts/recipients/test", token=admin, body={"user_id": "nanshajie"})
    assert status == 200 and body["ok"] and server.sent_to("nanshajie")[-1]["msgtype"] == "text"
    failed = api.post("/api/alerts/recipients/test", token=admin, body={"user_id": "ghost"})[1]
    assert failed["ok"] is False and "81013" in failed["message"]
    assert api.post("/api/alerts/recipients/test", token=login("nanshajie"), body={"user_id": "nanshajie"})[0] == 403

    night_run(aws, district)
    _morning(district)
    town = login("nanshajie")
    body, items = _pushes(api, town, day)
    assert body["linked"] and set(items) == {"express#nanshajie"}  # a 镇街 sees what was sent to it, nothing else
    card = items["express#nanshajie"]["card"]
    assert card["title"] == "哨点人员核酸检测告警：快递物流（南沙街）" and "3 人未按「三天两检」" in card["description"]
    assert api.get(f"/api/alerts/pushes/{day}/attachment?item=express%23nanshajie", token=town)[0] == 200
    assert api.get(f"/api/alerts/pushes/{day}/attachment?item=express%23youzheng", token=town)[0] == 404

    # the stand-in's outbox shows each message's body, as a person checking the stack by hand reads it
    with urllib.request.urlopen(f"{wecom.credentials().base_url}/_outbox") as answer:
        shown = json.loads(answer.read())["items"]
    assert any(m["body"].get("textcard", {}).get("title") == card["title"] for m in shown)


def test_a_towns_list_download_is_named_and_footed_with_its_town(server, api, aws, login, district):
    day = district.isoformat()
    night_run(aws, district)
    town = login("nanshajie")
    status, job = api.post(f"/api/alerts/runs/{day}/people/export", token=town, body={"category": "express"})
    assert status == 202, job
    deliver(aws)
    done = api.get(f"/api/exports/{job['id']}", token=town)[1]
    assert done["status"] == "done" and done["filename"] == f"快递物流未按规定检测人员名单（南沙街，{day}）.xlsx"
    from chalicelib.store.models import ImportJob

    rows = _book(ImportJob.get(job["id"]).result_key)
    assert rows[-1][0] == f"{day} 检查（南沙街），共 3 人" and len(rows) == 6

"""The overnight run and the 09:00 push (§2.6), end to end through the real paths: staff registered by
a head, a NAT feed dropped in S3, 告警设置 through the API, the schedule's handlers (UTC events), the
parts fanned out through the import queue, and a WeCom-protocol server on loopback receiving the push.

The district (run day D = today, Asia/Shanghai):
    快递物流 三天两检 (window D-3 00:00 … D-1 23:59:59)
      南沙街  p0 two samples (ok) · p1 one at D-1 23:59:59 · p2 one at D-3 00:00:00 and one at D 00:00:00
              · p3 none · p4 registered on D-1 with one sample (ok: judged from registration, 1 test)
      黄阁镇  p5 none · p6 two on one day (ok)
    建筑工地 三天一检, 南沙街: p7 none · p8 one at D-2 (ok) · p0 (in two enterprises, ok) · p3 (also here)
"""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, time, timedelta, timezone

import openpyxl
import pytest

from chalicelib.integrations import wecom
from chalicelib.rules.clock import SHANGHAI, local_day, now
from chalicelib.rules.idnumber import compose
from chalicelib.services.compliance import night, outbox, push
from chalicelib.store.compliance import ComplianceRun, PushItem
from chalicelib.store.models import Staff
from local.wecom import WeComStandIn
from tests.functional.importing import deliver
from tests.functional.test_feeds import NAT_HEADER, drop, feed

HEAD, OTHER_HEAD = "13800138000", "13900139000"
MEMBERS = ("youzheng", "nanshajie", "zhujian", "zhuanban")


def pid(n: int) -> str:
    return compose(date(1980, 1, 1) + timedelta(days=n), 100 + n)


def utc_event(day: date, clock: time) -> dict:
    """A scheduled event as EventBridge sends it: `time` in UTC."""
    instant = datetime.combine(day, clock, SHANGHAI).astimezone(timezone.utc)
    return {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
            "time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1", "resources": ["arn"], "detail": {}}


@pytest.fixture
def stand_in(monkeypatch):
    server = WeComStandIn(members=MEMBERS)
    server.lost_seconds = 1.2
    monkeypatch.setenv("WECOM_BASE_URL", server.start(0))
    wecom._clients.clear()
    yield server
    server.stop()
    wecom._clients.clear()


def quick_client(timeout: float = 0.6) -> tuple[wecom.Client, list]:
    pauses: list[float] = []
    return wecom.Client(wecom.credentials(), timeout=timeout, sleep=pauses.append), pauses


@pytest.fixture
def district(api, aws, login, make_enterprise, head_login):
    run_day = local_day(now())
    d = lambda n, clock: f"{run_day - timedelta(days=n):%Y-%m-%d} {clock}"  # noqa: E731
    ents = {"ns": make_enterprise(name="南沙速递", town="南沙街", category="express", head_phone=HEAD),
            "hg": make_enterprise(name="黄阁快运", town="黄阁镇", category="express", head_phone=OTHER_HEAD),
            "site": make_enterprise(name="南沙安置区项目部", town="南沙街", category="construction", head_phone=HEAD,
                                    extra={"project_name": "安置区工程"})}
    placed = {"ns": [0, 1, 2, 3, 4], "hg": [5, 6], "site": [7, 8, 0, 3]}
    tokens = {HEAD: head_login(HEAD), OTHER_HEAD: head_login(OTHER_HEAD)}
    for where, people in placed.items():
        phone = OTHER_HEAD if where == "hg" else HEAD
        for n in people:
            body = {"enterprise_id": ents[where]["id"], "name": f"员工{'甲乙丙丁戊己庚辛壬'[n]}", "person_category": "一线人员",
                    "phone": f"1370000000{n}", "id_number": pid(n), "residence_type": "自行租住",
                    "address": "广州市南沙区进港大道1号"}
            if where == "site":
                body["extra"] = {"project_name": "安置区工程"}
            status, answer = api.post("/api/staff", token=tokens[phone], body=body)
            assert status == 201, answer
    for person in Staff.scan():  # registered weeks ago, p4 the day before the run day
        back = timedelta(days=1) if person.name == "员工戊" else timedelta(days=20)
        person.update(actions=[Staff.created_at.set(person.created_at - back)])
    nat = [(0, d(1, "08:00:00")), (0, d(2, "08:00:00")), (1, d(1, "23:59:59")), (2, d(3, "00:00:00")),
           (2, d(0, "00:00:00")), (4, d(1, "10:00:00")), (6, d(1, "08:00:00")), (6, d(1, "17:00:00")),
           (8, d(2, "09:00:00")), (3, d(4, "23:59:59"))]  # p3's only sample is outside the window
    drop("feeds/nat/night.csv", (NAT_HEADER + "".join(f"{pid(n)},员工,{at},,阴性,南沙采样点\n" for n, at in nat)).encode())
    assert feed(aws) == 1
    admin = login("admin")
    assert api.put("/api/alerts/settings/express", token=admin, body={"rule": "3d2", "version": 0, "recipients": [
        {"user_id": "youzheng", "name": "邮政值班"}, {"user_id": "nanshajie", "name": "南沙街值班", "town": "南沙街"}]})[0] == 200
    assert api.put("/api/alerts/settings/construction", token=admin, body={
        "rule": "3d1", "version": 0, "recipients": [{"user_id": "zhujian", "name": "住建值班"}]})[0] == 200
    assert api.put("/api/alerts/taskforce", token=admin, body={
        "version": 0, "recipients": [{"user_id": "zhuanban", "name": "专班值班"}]})[0] == 200
    deliver(aws)
    return run_day


def night_run(aws, run_day: date, *, times: int = 1):
    import app as application

    application.overnight_matcher(utc_event(run_day, time(2, 0)), None)  # 18:00 UTC the day before
    drain(aws, times=times)  # the matcher's segments, then the parts the last of them starts
    return night.header(run_day.isoformat())


def drain(aws, *, times: int = 1) -> None:
    """Every queued mark, and the marks those start, until the import queue is empty."""
    while deliver(aws, times=times):
        pass


def test_the_night_judges_every_partition_once_and_the_push_sends_each_list_once(api, aws, login, district,
                                                                                stand_in, head_login):
    import app as application

    run = night_run(aws, district, times=2)  # every part's mark delivered twice: judged once
    assert (run.status, run.people, run.shortfalls, run.stale, run.parts) == ("done", 11, 6, False, 3)
    parts = {p.part: p for p in ComplianceRun.query(district.isoformat()) if p.part != "run"}
    assert {k: (p.people, p.shortfalls, p.attempts) for k, p in parts.items()} == {
        "express#南沙街": (5, 3, 1), "express#黄阁镇": (2, 1, 1), "construction#南沙街": (4, 2, 1)}

    admin = login("admin")
    people = api.get(f"/api/alerts/runs/{district}/people?category=express&town=南沙街", token=admin)[1]
    assert [(p["name"], p["reason"]) for p in people["items"]] == [
        ("员工丁", "近三天未检测，要求2次（三天两检）"), ("员工丙", "近三天仅检测1次，要求2次（三天两检）"),
        ("员工乙", "近三天仅检测1次，要求2次（三天两检）")]
    assert people["items"][0]["phone"] == "137****0003" and people["items"][2]["last_sampled"].endswith("23:59")
    town = api.get(f"/api/alerts/runs/{district}", token=login("nanshajie"))[1]
    assert {(p["category"], p["town"]) for p in town["parts"]} == {("express", "南沙街"), ("construction", "南沙街")}
    assert api.get(f"/api/alerts/runs/{district}/people?category=express&town=黄阁镇", token=login("nanshajie"))[1][
        "total"] == 0  # a town never lists another town's people
    assert api.get(f"/api/alerts/runs/{district}", token=login("zhujian"))[1]["categories"][0]["shortfalls"] == 2

    application.morning_push(utc_event(district, time(9, 0)), None)  # 01:00 UTC
    application.morning_push(utc_event(district, time(9, 0)), None)  # EventBridge fired twice
    sent = {user: [(m["msgtype"], m.get("filename")) for m in stand_in.sent_to(user)] for user in MEMBERS}
    day = district.isoformat()
    assert sent == {
        "youzheng": [("textcard", None), ("file", f"快递物流未按规定检测人员名单（{day}）.xlsx")],
        "nanshajie": [("textcard", None), ("file", f"快递物流未按规定检测人员名单（南沙街，{day}）.xlsx")],
        "zhujian": [("textcard", None), ("file", f"建筑工地未按规定检测人员名单（{day}）.xlsx")],
        "zhuanban": [("textcard", None), ("file", f"哨点人员核酸检测统计（{day}）.xlsx")]}
    files = {m["filename"]: m for m in stand_in.outbox if m["msgtype"] == "file"}
    media = {v["filename"]: v["data"] for v in stand_in.media.values()}
    sheet = openpyxl.load_workbook(io.BytesIO(media[f"快递物流未按规定检测人员名单（南沙街，{day}）.xlsx"])).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("企业名称", "姓名", "手机号码", "负责人姓名", "负责人电话", "最近一次核酸检测时间")
    assert [r[1] for r in rows[1:4]] == ["员工丁", "员工丙", "员工乙"] and rows[1][2] == "13700000003"
    summary = list(openpyxl.load_workbook(io.BytesIO(media[f"哨点人员核酸检测统计（{day}）.xlsx"])).active.iter_rows(values_only=True))
    assert summary[0] == ("哨点人员类别", "主管部门", "检测规则", "总人数", "未按规定检测人数", "其中无接收人未推送人数")
    # numbers, so a spreadsheet adds them up; every list had a recipient
    assert ("快递物流", "区邮政管理局", "三天两检", 7, 4, 0) in summary and ("合计", None, None, 11, 6, 0) in summary
    assert len(files) == 4 and stand_in.duplicates == 0

    record = api.get(f"/api/alerts/pushes?day={day}", token=admin)[1]
    assert record["counts"]["sent"] == 4 and {i["status"] for i in record["items"]} == {"sent"}
    link = api.get(f"/api/alerts/pushes/{day}/attachment?item=express%23nanshajie", token=admin)
    assert link[0] == 200 and link[1]["filename"].endswith(".xlsx")
    assert api.get(f"/api/alerts/pushes?day={day}", token=login("zhujian"))[1]["counts"]["sent"] == 1  # its category only
    town = api.get(f"/api/alerts/pushes?day={day}", token=login("nanshajie"))  # its account carries no 粤政易 userid
    assert town[0] == 200 and town[1]["items"] == [] and town[1]["linked"] is False

    mine = api.get("/api/dashboard/shortfalls", token=head_login(HEAD))[1]
    assert (mine["status"], mine["total"]) == ("done", 5)
    assert sorted((p["enterprise"], p["name"]) for p in mine["items"]) == [
        ("南沙安置区项目部", "员工丁"), ("南沙安置区项目部", "员工辛"),
        ("南沙速递", "员工丁"), ("南沙速递", "员工丙"), ("南沙速递", "员工乙")]  # p3 on both enterprises' lists
    assert {p["phone"] for p in mine["items"]} >= {"137****0003"}  # masked by the server
    other = api.get("/api/dashboard/shortfalls", token=head_login(OTHER_HEAD))[1]
    assert [p["name"] for p in other["items"]] == ["员工己"]
    assert api.get(f"/api/dashboard/shortfalls?enterprise_id={mine['items'][0]['enterprise_id']}",
                   token=head_login(OTHER_HEAD))[0] == 403

    events = {e["action"] for e in api.get("/api/audit", token=admin)[1]["items"]}
    assert {"修改专班推送人员", "下载推送附件"} <= events


def test_running_a_day_again_gives_the_same_run_and_old_marks_do_nothing(api, aws, login, district, monkeypatch):
    first = night_run(aws, district)
    reads, get = [], push.storage.get
    monkeypatch.setattr(push.storage, "get", lambda key, **kw: reads.append(key) or get(key, **kw))
    listed = lambda: [p["name"] for p in api.get(  # noqa: E731
        f"/api/alerts/runs/{district}/people?category=express&town=南沙街&page_size=2", token=login("admin"))[1]["items"]]
    assert listed() == listed() and len(reads) == 1  # paging reads the part's rows once
    before = {p.part: (p.people, p.shortfalls) for p in ComplianceRun.query(district.isoformat())}
    status, body = api.post(f"/api/alerts/runs/{district}/start", token=login("admin"), body={})
    assert status == 202 and body["status"] == "queued"
    # a second click (or a second 运维) while it is queued: one conditional write decides, no second run
    status, body = api.post(f"/api/alerts/runs/{district}/start", token=login("admin"), body={})
    assert status == 409 and body["message"] == "该日检查正在进行，请稍候", body
    assert night.request(district, by="另一位运维") is None  # even past a check that read the header first
    deliver(aws)  # the request's mark: the matcher, then a new generation and its parts' marks
    deliver(aws)
    again = night.header(district.isoformat())
    assert (again.status, again.generation) == ("done", first.generation + 1)
    assert {p.part: (p.people, p.shortfalls) for p in ComplianceRun.query(district.isoformat())} == before
    assert listed() == ["员工丁", "员工丙"] and len(reads) == 2  # the re-run's rows, not the cached ones
    assert night.handle_part(district.isoformat(), first.generation, "express", "南沙街").endswith("superseded")
    future = api.post(f"/api/alerts/runs/{district + timedelta(days=1)}/start", token=login("admin"), body={})
    assert future[0] == 400 and "14" in future[1]["message"]
    assert api.post(f"/api/alerts/runs/{district}/start", token=login("youzheng"), body={})[0] == 403


def test_late_data_holds_the_lists_and_says_so(api, aws, login, district, stand_in):
    later = district + timedelta(days=2)  # yesterday for that day has no samples at all
    run = night.start(later)
    deliver(aws)
    run = night.header(later.isoformat())
    assert run.status == "done" and run.stale and "未按时更新" in run.message
    counts = push.run_pass(later.isoformat(), client=quick_client()[0])
    assert counts["sent"] == 4 and stand_in.outbox and all(m["msgtype"] == "textcard" for m in stand_in.outbox)
    card = stand_in.sent_to("youzheng")[0]["body"]["textcard"]
    assert "暂缓" in card["title"] and "核酸检测数据未按时更新" in card["description"]
    assert {i.kind for i in PushItem.query(later.isoformat()) if i.item != "~pass"} == {"notice"}


@pytest.fixture
def judged(aws, district):
    night_run(aws, district)
    return district.isoformat()


def _state(day: str) -> dict:
    return {i.item: (i.status, i.errcode, i.message) for i in PushItem.query(day, consistent_read=True) if i.item != "~pass"}


@pytest.mark.once  # the client's errcode handling: the store's part runs in the tests around it
def test_busy_rate_limits_and_expired_tokens_are_retried_by_errcode(judged, stand_in):
    stand_in.fail_next("/cgi-bin/message/send", -1, 45009, 45033, 42001, 40014)
    client, pauses = quick_client()
    counts = push.run_pass(judged, client=client)
    assert counts["sent"] == 4 and len(pauses) == 3, (counts, pauses, _state(judged))  # −1 and the two rate limits paused; the tokens refetched
    assert pauses[1] > pauses[0]  # rate limits back off longer than a busy answer
    assert all(len(stand_in.sent_to(u)) == 2 for u in MEMBERS)


def test_each_failure_is_recorded_per_recipient_and_a_retry_sends_only_what_is_missing(api, login, judged, stand_in):
    stand_in.members.discard("zhujian")  # left 粤政易: 81013
    client, _ = quick_client()
    stand_in.fail_next("/cgi-bin/media/upload", 60020)  # the first upload: nanshajie's file (items go in key order)
    stand_in.fail_next("/cgi-bin/message/send", None, None, "invalid")  # zhujian's card (81013), nanshajie's, then youzheng's
    counts = push.run_pass(judged, client=client)
    state = _state(judged)
    assert state["express#youzheng"][:2] == ("failed", 81013)  # errcode 0, but named in invaliduser
    push.reopen(PushItem.get(judged, "express#youzheng"), by="test", allowed=("failed",), message="重试")
    push.run_pass(judged, client=client)
    state = _state(judged)
    assert state["construction#zhujian"][:2] == ("failed", 81013) and "81013" in state["construction#zhujian"][2]
    assert state["express#nanshajie"][:2] == ("failed", 60020) and "可信IP" in state["express#nanshajie"][2]
    assert "消息已送达，附件未发出" in state["express#nanshajie"][2]
    assert counts["failed"] == 3 and state["express#youzheng"][0] == "sent"  # once retried
    admin = login("admin")
    status, body = api.post(f"/api/alerts/pushes/{judged}/retry", token=admin, body={"item": "express#nanshajie"})
    assert status == 200 and body["status"] == "queued"
    assert api.post(f"/api/alerts/pushes/{judged}/retry", token=admin, body={"item": "express#youzheng"})[0] == 409
    push.run_pass(judged, client=client)
    assert [m["msgtype"] for m in stand_in.sent_to("nanshajie")] == ["textcard", "file"]  # the card not sent twice
    assert _state(judged)["express#nanshajie"][0] == "sent"


@pytest.mark.once  # the client's errcode handling: the store's part runs in the tests around it
def test_a_lost_answer_is_unknown_never_resent_until_a_person_decides(api, login, judged, stand_in):
    stand_in.fail_next("/cgi-bin/message/send", "lost")  # delivered, the answer never comes
    client, _ = quick_client()
    push.run_pass(judged, client=client)
    state = _state(judged)
    unknown = [k for k, v in state.items() if v[0] == "unknown"]
    assert len(unknown) == 1 and "可能已送达" in state[unknown[0]][2]
    before = len(stand_in.outbox)
    push.run_pass(judged, client=client)
    assert len(stand_in.outbox) == before  # not blindly repeated
    admin = login("admin")
    status, body = api.post(f"/api/alerts/pushes/{judged}/resolve", token=admin, body={"item": unknown[0], "outcome": "x"})
    assert status == 400 and "outcome" in body["fields"]
    assert api.post(f"/api/alerts/pushes/{judged}/resolve", token=admin,
                    body={"item": unknown[0], "outcome": "sent"})[1]["status"] == "sent"
    assert "核实告警推送" in {e["action"] for e in api.get("/api/audit", token=admin)[1]["items"]}


def test_a_sender_that_died_mid_send_leaves_unknown_and_one_that_died_before_sends_again(api, login, judged,
                                                                                         stand_in):
    outbox.plan(judged)
    stale = now() - timedelta(minutes=10)
    PushItem(judged, "express#youzheng").update(actions=[PushItem.status.set("running"), PushItem.inflight.set("card"),
                                                         PushItem.lease_until.set(stale)])
    PushItem(judged, "express#nanshajie").update(actions=[PushItem.status.set("running"), PushItem.lease_until.set(stale)])
    shown = {i["item"]: i["status"] for i in api.get(f"/api/alerts/pushes?day={judged}", token=login("admin"))[1]["items"]}
    assert (shown["express#youzheng"], shown["express#nanshajie"]) == ("unknown", "queued")  # never 发送中 for good
    push.run_pass(judged, client=quick_client()[0])
    state = _state(judged)
    assert state["express#youzheng"][0] == "unknown" and not stand_in.sent_to("youzheng")
    assert state["express#nanshajie"][0] == "sent" and len(stand_in.sent_to("nanshajie")) == 2


def test_two_triggers_at_once_send_every_message_once(judged, stand_in):
    client, _ = quick_client()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(push.run_pass(judged, client=client))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(stand_in.sent_to(u)) for u in MEMBERS) == [2, 2, 2, 2]
    assert stand_in.duplicates == 0 and {v[0] for v in _state(judged).values()} == {"sent"}


@pytest.mark.once  # the client's errcode handling: the store's part runs in the tests around it
def test_an_unreachable_server_fails_every_item_with_a_reason(judged, stand_in):
    stand_in.stop()
    counts = push.run_pass(judged, client=quick_client()[0])
    state = _state(judged)
    assert counts["failed"] == 4 and all(v[0] == "failed" and "无法连接粤政易" in v[2] for v in state.values()), state


def test_the_consoles_buttons_run_the_push_through_the_worker(api, aws, login, judged, stand_in, monkeypatch):
    """立即推送 answers at once; the pass runs from its mark in the import worker, for that day."""
    admin = login("admin")
    status, body = api.post(f"/api/alerts/pushes/{judged}/start", token=admin, body={})
    assert (status, body) == (202, {"day": judged, "queued": True})
    deliver(aws, times=2)  # redelivered: the second pass finds everything sent
    assert sorted(len(stand_in.sent_to(u)) for u in MEMBERS) == [2, 2, 2, 2]
    assert {i["kind"] for i in api.get(f"/api/alerts/pushes?day={judged}", token=admin)[1]["items"]} == {"list", "summary"}
    assert api.post(f"/api/alerts/pushes/{judged}/start", token=login("zhuanban"), body={})[0] == 403
    written = []
    monkeypatch.setattr(push.storage, "put", lambda key, *a, **kw: written.append(key))
    assert outbox.plan(judged) == 0 and written == []  # a planned day builds no workbook again


def test_a_run_that_ends_after_nine_sends_a_notice_first_and_its_lists_when_done(aws, district, stand_in):
    import app as application

    application.overnight_matcher(utc_event(district, time(2, 0)), None)  # the matcher's segments wait in the queue
    application.morning_push(utc_event(district, time(9, 0)), None)
    notice = stand_in.sent_to("youzheng")
    assert len(notice) == 1 and "尚未完成" in notice[0]["body"]["textcard"]["description"]
    drain(aws)  # the segments, the parts they start (the last completes the run and asks for the push), the push
    assert [m["msgtype"] for m in stand_in.sent_to("youzheng")] == ["textcard", "textcard", "file"]
    assert len(stand_in.sent_to("zhuanban")) == 3


@pytest.mark.once  # the client's errcode handling: the store's part runs in the tests around it
def test_the_credentials_come_from_the_stages_secret(aws, monkeypatch):
    import json as _json

    import boto3

    boto3.client("secretsmanager").create_secret(Name="sentinel-test-wecom", SecretString=_json.dumps(
        {"base_url": "https://gze.example.gov.cn", "corpid": "ww1", "secret": "s3cr3t", "agentid": "1000009"}))
    monkeypatch.setenv("WECOM_SECRET_ID", "sentinel-test-wecom")
    monkeypatch.delenv("WECOM_BASE_URL", raising=False)
    assert wecom.credentials() == wecom.Credentials("https://gze.example.gov.cn", "ww1", "s3cr3t", 1000009)
    boto3.client("secretsmanager").create_secret(Name="sentinel-test-empty", SecretString=_json.dumps(
        {"base_url": "", "corpid": "", "secret": "", "agentid": "0"}))  # as the template creates it
    monkeypatch.setenv("WECOM_SECRET_ID", "sentinel-test-empty")
    with pytest.raises(wecom.WeComError, match="尚未填写完整"):
        wecom.credentials()
    monkeypatch.setenv("WECOM_SECRET_ID", "sentinel-test-missing")
    with pytest.raises(wecom.WeComError, match="无法读取粤政易凭据"):
        wecom.credentials()

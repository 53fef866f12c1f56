"""Provincial feeds (§2.4) through the real path: an object under feeds/ → S3 notification → SQS → on_feed."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import boto3
import openpyxl
import pytest

from chalicelib.rules.clock import SHANGHAI, now
from tests.functional.importing import deliver, start_upload
from tests.functional.test_staff import HEAD, district, id_number, person  # noqa: F401 - fixture

NAT_HEADER = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点\n"


def drop(key: str, data: bytes) -> None:
    from chalicelib.config import settings

    boto3.client("s3").put_object(Bucket=settings().files_bucket, Key=key, Body=data)


def feed(aws, times=1):
    return deliver(aws, times=times, queue="FeedQueue", handler="on_feed")


def stamp(hours_ago: float) -> str:
    return (now() - timedelta(hours=hours_ago)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def people(api, district, head_login):
    token = head_login(HEAD)
    made = [api.post("/api/staff", token=token, body=person(district["express"]["id"], n, name=name))[1]
            for n, name in ((1, "甲"), (2, "乙"), (3, "丙"))]
    return token, made


def feed_files(api, login, kind="nat"):
    status, body = api.get(f"/api/feeds?kind={kind}", token=login("admin"))
    assert status == 200, body
    return body["items"]


def test_gbk_nat_csv_is_matched_and_reported_with_line_numbers(api, aws, login, people):
    token, made = people
    text = NAT_HEADER + "".join([
        f"{id_number(1)},甲,{stamp(5)},{stamp(3)},阴性,南沙街采样点\n",
        f"{id_number(1)},甲,{stamp(30)},{stamp(28)},阴性,南沙街采样点\n",  # older sample of the same person
        f"{id_number(2).lower()},乙,{stamp(50)},,未出结果,黄阁采样点\n",
        f"{id_number(500)},路人,{stamp(2)},{stamp(1)},阴性,某采样点\n",  # nobody registered
        "440115199001011234,坏,2026-11-20 10:00:00,,阴性,x\n",  # bad check digit
        f"{id_number(3)},丙,不是时间,,阴性,x\n",
        f"{id_number(3)},丙,{stamp(1)},,弱阳,x\n",
        f"{id_number(3)},丙,{stamp(24 * 15)},,阴性,x\n",  # older than 14 days: not kept
    ])
    drop("feeds/nat/20261125.csv", text.encode("gbk"))
    assert feed(aws) == 1
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"], report["matched"], report["unmatched"], report["rejected"],
            report["too_old"]) == ("done", 8, 3, 1, 3, 1), report
    assert report["message"].endswith("，超过14天 1")
    detail = api.get(f"/api/feeds/{report['id']}", token=login("admin"))[1]
    assert [p["line"] for p in detail["problems"]] == [6, 7, 8]
    assert "校验位错误" in detail["problems"][0]["reason"] and "不是有效的时间" in detail["problems"][1]["reason"]
    assert "无法识别" in detail["problems"][2]["reason"]

    home = api.get("/api/dashboard", token=token)[1]
    counts = {b["key"]: b["count"] for b in home["buckets"]}
    assert home["total"] == 3 and counts == {"h24": 1, "h48": 0, "h72": 1, "over72": 0, "unmatched": 1}
    assert home["freshness"]["nat"]["data_until"] and home["freshness"]["nat"]["late"] is False
    names = [i["name"] for i in api.get("/api/dashboard/people?bucket=h72", token=token)[1]["items"]]
    assert names == ["乙"]
    row = next(i for i in api.get("/api/ledger?category=express", token=login("nanshajie"))[1]["items"] if i["name"] == "甲")
    assert row["health"]["last_result"] == "阴性" and row["health"]["last_sampled_at"].startswith(stamp(5)[:10])
    records = api.get(f"/api/health/{made[0]['id']}", token=token)[1]
    assert [r["site"] for r in records["nat"]] == ["南沙街采样点", "南沙街采样点"]  # last 7 days, newest first


def test_same_file_twice_and_overlapping_files_never_double_count(api, aws, login, people):
    from chalicelib.services.registry.staff import person_key
    from chalicelib.store.models import HealthRecord

    rows = f"{id_number(1)},甲,{stamp(5)},,阴性,A点\n{id_number(2)},乙,{stamp(6)},,阴性,A点\n"
    drop("feeds/nat/a.csv", (NAT_HEADER + rows).encode("utf-8-sig"))
    feed(aws, times=3)  # the same event redelivered
    drop("feeds/nat/b.csv", (NAT_HEADER + rows + f"{id_number(3)},丙,{stamp(7)},,阴性,A点\n").encode())
    feed(aws)
    assert sum(1 for _ in HealthRecord.query(person_key(id_number(1)))) == 1
    assert [f["rows_read"] for f in feed_files(api, login)] == [3, 2]  # two files, each handled once


def test_vaccination_xlsx_and_implied_doses(api, aws, login, people):
    token, made = people
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号码", "剂次", "接种日期", "疫苗产品/厂家", "接种单位"])
    sheet.append(["甲", id_number(1), "第一针", "2021-05-01", "北京生物", "南沙区疾控"])
    sheet.append(["甲", id_number(1), 2, datetime(2021, 6, 1), "北京生物", "南沙区疾控"])
    sheet.append(["乙", id_number(2), "加强针", "2022-03-01", "智飞龙科马", "黄阁卫生院"])
    sheet.append(["丙", id_number(3), "第四针", "2022-03-01", "x", "x"])
    buffer = io.BytesIO()
    book.save(buffer)
    drop("feeds/vaccine/2026.xlsx", buffer.getvalue())
    feed(aws)
    report = feed_files(api, login, "vaccine")[0]
    assert (report["matched"], report["rejected"]) == (3, 1)
    assert "超过14天" not in report["message"]  # a NAT notion: doses are kept whatever their date
    rows = {i["name"]: i["health"] for i in api.get("/api/ledger?category=express", token=login("admin"))[1]["items"]}
    assert (rows["甲"]["dose1_at"], rows["甲"]["dose2_at"], rows["甲"]["dose3_at"]) == ("2021-05-01", "2021-06-01", None)
    assert rows["乙"]["dose3_at"] == "2022-03-01" and rows["乙"]["dose1_at"] == rows["乙"]["dose2_at"] == "已接种（日期不详）"
    doses = api.get(f"/api/health/{made[1]['id']}", token=token)[1]["vaccine"]
    assert [d["dose"] for d in doses] == [1, 2, 3]
    # the register is as current as its delivery, not as its newest dose (2022)
    freshness = api.get("/api/dashboard", token=token)[1]["freshness"]["vaccine"]
    assert freshness["data_until"] == now().astimezone(SHANGHAI).date().isoformat()


@pytest.mark.parametrize("name,data,reason", [
    ("broken.xlsx", b"PK\x03\x04 not really", "已损坏"),
    ("noheader.csv", "甲,乙,丙\n1,2,3\n".encode(), "表头缺少列"),
    ("binary.csv", b"\xff\xfe\x00\x81\x30\x89\x38" * 50 + b"\n\xc3\x28\xa0\xa1", "编码无法识别（第 1 行，表头）"),
    ("feed.pdf", b"%PDF-1.4", "只接受"),
])
def test_unreadable_files_are_quarantined_and_later_files_go_on(api, aws, login, people, name, data, reason):
    from chalicelib.config import settings

    drop(f"feeds/nat/{name}", data)
    feed(aws)
    report = feed_files(api, login)[0]
    assert report["status"] == "quarantined" and reason in report["message"], report
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=settings().files_bucket).get("Contents", [])]
    assert f"quarantine/feeds/nat/{name}" in keys and f"feeds/nat/{name}" not in keys
    drop("feeds/nat/next.csv", (NAT_HEADER + f"{id_number(1)},甲,{stamp(1)},,阴性,A\n").encode())
    feed(aws)
    assert feed_files(api, login)[0]["matched"] == 1


def test_late_registration_is_matched_at_once(api, aws, login, district, head_login):
    drop("feeds/nat/early.csv", (NAT_HEADER + f"{id_number(9)},后来者,{stamp(10)},,阴性,A点\n").encode())
    feed(aws)
    assert feed_files(api, login)[0]["unmatched"] == 1
    token = head_login(HEAD)
    created = api.post("/api/staff", token=token, body=person(district["express"]["id"], 9, name="后来者"))[1]
    detail = api.get(f"/api/staff/{created['id']}", token=token)[1]
    listed = api.get("/api/staff", token=token)[1]["items"][0]
    assert listed["health"]["last_result"] == "阴性" and detail["name"] == "后来者"
    assert {b["key"]: b["count"] for b in api.get("/api/dashboard", token=token)[1]["buckets"]}["h24"] == 1


def test_only_the_operator_reads_feeds_and_heads_only_their_dashboard(api, login, people, head_login):
    assert api.get("/api/feeds", token=login("nanshajie"))[0] == 403
    assert api.get("/api/dashboard", token=login("admin"))[0] == 403
    other = head_login("13900139000")
    assert api.get("/api/dashboard", token=other)[1]["total"] == 0
    assert api.get(f"/api/health/{people[1][0]['id']}", token=other)[0] == 404
    assert api.get(f"/api/health/{people[1][0]['id']}", token=login("huangge"))[0] == 404  # another town
    assert api.get(f"/api/health/{people[1][0]['id']}", token=login("nanshajie"))[0] == 200


def test_parallel_writers_store_everything_once(api, aws, login, people, monkeypatch):
    """With several writers (as on AWS) records, state updates and the stranger index go out in parallel;
    a row of someone nobody registered costs no write of its own (issue 24): the 600 strangers are a few
    stranger-index items, found again by a lookup."""
    from chalicelib.services.health import strangers
    from chalicelib.services.registry.staff import person_key
    from chalicelib.store.feeds import StrangerShard
    from chalicelib.store.models import HealthRecord, PersonHealth

    monkeypatch.setenv("IMPORT_WRITERS", "4")
    rows = "".join(f"{id_number(n, born='19800101')},路人,{stamp(3 + n / 100)},,阴性,B点\n" for n in range(600))
    rows += f"{id_number(1)},甲,{stamp(2)},,阳性,B点\n"
    drop("feeds/nat/parallel.csv", (NAT_HEADER + rows).encode())
    feed(aws)
    report = feed_files(api, login)[0]
    assert (report["rows_read"], report["matched"], report["unmatched"]) == (601, 1, 600)
    keys = [person_key(id_number(n, born="19800101")) for n in range(600)]
    assert sum(PersonHealth.count(k) for k in keys) == 0 and sum(HealthRecord.count(k) for k in keys) == 0
    shards = {strangers.shard_of("nat", k) for k in keys}
    assert sum(1 for _ in StrangerShard.scan()) == len(shards) < 600  # one item per shard the file touched
    found = strangers.lookup(keys)
    assert len(found) == 600 and all(len(found[k]["nat"]) == 1 for k in keys)
    token = people[0]
    listed = api.get("/api/staff?page_size=100", token=token)[1]["items"]
    assert next(p for p in listed if p["name"] == "甲")["health"]["last_result"] == "阳性"


def test_operator_upload_lands_where_providers_drop_and_bad_uploads_are_named(api, aws, login, people):
    """数据接入's upload: the API signs a form for a new key under feeds/<kind>/ and the file goes to S3 itself;
    its event is the one a provider's drop raises. What the name and size tell is refused at once."""
    admin = login("admin")

    def upload(kind, name, data):
        return start_upload(api, "/api/feeds/upload", admin, data, name, kind=kind)

    status, body = upload("nat", "报告.pdf", b"%PDF")
    assert status == 400 and "只接受 .csv 或 .xlsx" in body["message"]
    assert upload("blood", "a.csv", b"x")[1]["message"] == "数据类型只能是核酸检测或疫苗接种"
    assert upload("nat", "a.csv", b"")[1]["message"] == "文件为空"
    status, body = api.post("/api/feeds/upload", token=admin, body={"kind": "nat", "filename": "a.xlsx", "size": 11 << 20})
    assert status == 413 and "请导出为 CSV 后再上传" in body["message"], body
    status, body = api.post("/api/feeds/upload", token=admin, body={"kind": "nat", "filename": "a.csv", "size": 201 << 20})
    assert status == 413 and "feeds/nat/" in body["message"], body
    status, body = upload("nat", "核酸.csv", (NAT_HEADER + f"{id_number(1)},甲,{stamp(1)},,阴性,A\n").encode("gbk"))
    assert status == 202 and body["object_key"].startswith("feeds/nat/") and body["object_key"].endswith("核酸.csv")
    assert body["upload"]["fields"]["key"] == body["object_key"] and body["upload"]["max_bytes"] == 200 << 20
    feed(aws)
    assert feed_files(api, login)[0]["matched"] == 1
    assert api.post("/api/feeds/upload", token=login("nanshajie"),
                    body={"kind": "nat", "filename": "a.csv", "size": 1})[0] == 403


def test_a_feed_form_carries_only_the_file_it_was_signed_for(api, aws, login):
    """As S3 checks a form (tests/s3_post.py): past its size, under another key or of another type, refused."""
    import requests

    admin = login("admin")
    status, body = api.post("/api/feeds/upload", token=admin, body={"kind": "vaccine", "filename": "疫苗.xlsx", "size": 100})
    form = body["upload"]
    too_big = requests.post(form["url"], data=form["fields"], files={"file": ("x.xlsx", b"\0" * ((10 << 20) + 1))})
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    elsewhere = requests.post(form["url"], data={**form["fields"], "key": "feeds/nat/别处.csv"}, files={"file": b"x"})
    assert elsewhere.status_code == 403 and "AccessDenied" in elsewhere.text
    retyped = requests.post(form["url"], data={**form["fields"], "Content-Type": "text/html"}, files={"file": b"x"})
    assert retyped.status_code == 403
    assert feed(aws) == 0  # nothing was stored


def test_a_file_that_breaks_halfway_is_quarantined_with_what_was_applied_before(api, aws, login, people):
    rows = f"{id_number(1)},甲,{stamp(5)},,阴性,A点\n{id_number(2)},乙,{stamp(6)},,阴性,A点\n"
    broken = f'{id_number(3)},"{"丙" * 200_000}",{stamp(7)},,阴性,A点\n'  # a quoted cell beyond the csv limit
    drop("feeds/nat/half.csv", (NAT_HEADER + rows + broken).encode())
    feed(aws)
    report = feed_files(api, login)[0]
    assert report["status"] == "quarantined" and (report["rows_read"], report["matched"]) == (2, 2), report
    assert "CSV 格式错误（第 4 行）" in report["message"] and "此前的 2 行已按规则处理" in report["message"]
    counts = {b["key"]: b["count"] for b in api.get("/api/dashboard", token=people[0])[1]["buckets"]}
    assert counts["h24"] == 2  # the rows before the break count, once


def test_the_demo_district_arrives_with_feeds_the_worker_ingests(api, aws, login, head_login):
    from local import demo

    counts = demo.seed()
    assert feed(aws) == 2
    nat, vaccine = feed_files(api, login, "nat")[0], feed_files(api, login, "vaccine")[0]
    assert nat["status"] == vaccine["status"] == "done"
    assert (nat["unmatched"], nat["rejected"]) == (40, 2) and nat["matched"] > counts["staff"]
    assert vaccine["rejected"] == 0 and vaccine["matched"] > counts["staff"]
    home = api.get("/api/dashboard", token=head_login(demo.DEMO_HEAD_PHONE))[1]
    buckets = {b["key"]: b["count"] for b in home["buckets"]}
    assert sum(buckets.values()) == home["total"] and buckets["h24"] > home["total"] / 2


def test_a_workbook_too_large_to_read_whole_is_quarantined_asking_for_csv(api, aws, login, people, monkeypatch):
    from chalicelib.services.feeds import ingest as feeds

    monkeypatch.setattr(feeds, "MAX_XLSX_BYTES", 1000)
    book = openpyxl.Workbook()
    book.active.append(["身份证号码", "剂次", "接种日期"])
    for n in range(200):
        book.active.append([id_number(1), 1, "2021-05-01"])
    buffer = io.BytesIO()
    book.save(buffer)
    drop("feeds/vaccine/big.xlsx", buffer.getvalue())
    feed(aws)
    report = feed_files(api, login, "vaccine")[0]
    assert report["status"] == "quarantined" and "请导出为 CSV" in report["message"], report


def test_the_ledger_and_its_export_give_the_sampling_time_as_the_nat_time(api, aws, login, people):
    """Issue 22 (one time): 最近一次核酸检测时间 is when the sample was taken, as the statistics count it
    ("核酸检测统计以核酸采样时间为准") and the head's list and the pushed Excel print it; the ledger's
    export printed the result time, hours later."""
    from tests.functional.importing import export

    sampled, tested = stamp(30), stamp(20)
    drop("feeds/nat/one-time.csv", (NAT_HEADER + f"{id_number(1)},甲,{sampled},{tested},阴性,A点\n").encode())
    feed(aws)
    job, data = export(api, aws, login("nanshajie"), "/api/ledger/export?category=express")
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    column = rows[0].index("最近一次核酸检测时间")
    assert next(r for r in rows if r[1] == "甲")[column] == sampled[:16]
    staff = list(openpyxl.load_workbook(io.BytesIO(api.get("/api/staff/export", token=people[0])[1])).active
                 .iter_rows(values_only=True))
    assert next(r for r in staff if r[1] == "甲")[staff[0].index("最近一次核酸采样时间")] == sampled[:16]


def test_a_feed_upload_is_logged_with_its_kind_in_words_and_old_entries_read_so_too(api, aws, login, people):
    """Issue 22: 操作日志's 范围 showed the code `nat` for an upload (and `imports` for a retried dead letter)."""
    from chalicelib.services.identity import audit

    admin = login("admin")
    status, _ = api.post("/api/feeds/upload", token=admin, body={"kind": "vaccine", "filename": "疫苗.csv", "size": 1})
    assert status == 202
    audit.record(None, actor="admin", role="admin", action="上传数据文件", target="old.csv", scope="nat")  # as stored before
    audit.record(None, actor="admin", role="admin", action="重试失败消息", target="m1", scope="imports")
    entries = api.get("/api/audit", token=admin)[1]["items"]
    scopes = {(e["action"], e["target"]): e["scope"] for e in entries}
    assert next(e["scope"] for e in entries if e["target"].endswith("疫苗.csv")) == "疫苗接种"
    assert scopes[("上传数据文件", "old.csv")] == "核酸检测"
    assert scopes[("重试失败消息", "m1")] == "工作簿导入"

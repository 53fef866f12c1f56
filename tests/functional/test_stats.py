"""核酸数据统计 and 疫苗数据统计 (§2.4.1) from the seed's own tables, through the real paths: enterprises by
the form, staff by the head's workbook, NAT and vaccination feeds dropped in S3, the roster rebuilt by
the S3 events its marks raise — then the numbers as two kinds of official see them."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from chalicelib.rules.clock import SHANGHAI, local_day, now
from chalicelib.rules.idnumber import compose
from tests.functional.importing import deliver, export, start_upload, workbook
from tests.functional.test_feeds import NAT_HEADER, drop, feed

HEAD = "13800138000"
STAFF_HEADER = ["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"]
VACCINE_HEADER = "身份证号码,姓名,剂次,接种日期,疫苗产品,接种单位\n"
NANSHA, ZHUJIANG = 4479, 668  # 南沙街 and 珠江街 in the seed's tables


def seed_id(n: int) -> str:
    """A distinct valid ID number per person (900 sequence numbers per birth day, born from 1985)."""
    return compose(date(1985, 1, 1) + timedelta(days=n // 900), n % 900 + 1)


def cn(n: int) -> str:
    """A name for person n (names hold no digits)."""
    return "员工" + "".join("零一二三四五六七八九"[int(c)] for c in str(n))


def _day() -> date:
    return local_day(now()) - timedelta(days=1)  # the statistics' day: yesterday, wholly in the past


def _at(day: date, clock: str) -> str:
    return f"{day:%Y-%m-%d} {clock}"


def _ago(days: int) -> str:
    return f"{local_day(now()) - timedelta(days=days):%Y-%m-%d}"


@pytest.fixture
def seeded(api, aws, login, make_enterprise, head_login):
    """The seed's 南沙街 (69 enterprises, 4,479 staff) and 珠江街 (10, 668), all 快递物流."""
    names = {"南沙街": [f"南沙快递{k:02d}" for k in range(69)], "珠江街": [f"珠江快递{k:02d}" for k in range(10)]}
    for town, enterprises in names.items():
        for name in enterprises:
            make_enterprise(name=name, town=town, category="express", head_phone=HEAD)
    rows, n = [], 0
    for town, count in (("南沙街", NANSHA), ("珠江街", ZHUJIANG)):
        for k in range(count):
            rows.append([cn(n), seed_id(n), f"137{n:08d}", names[town][k % len(names[town])],
                         "一线人员" if k % 2 else "管理人员", "自行租住", "广州市南沙区进港大道1号"])
            n += 1
    token = head_login(HEAD)
    status, job = start_upload(api, "/api/staff/import", token, workbook(rows, header=STAFF_HEADER), "staff.xlsx")
    assert status == 202, job
    deliver(aws)
    assert api.get(f"/api/imports/{job['id']}", token=token)[1]["created"] == NANSHA + ZHUJIANG

    day = _day()
    nat = []
    for i in range(1685):  # 南沙街: 1,685 tested ...
        clock = "00:00:00" if i == 0 else "23:59:59" if i == 1 else f"{8 + i % 10:02d}:{i % 60:02d}:00"
        result = "阳性" if 10 <= i < 13 else "未出结果" if 13 <= i < 15 else "阴性"
        nat.append(f"{seed_id(i)},员工{i},{_at(day, clock)},,{result},南沙采样点\n")
    for i in range(10):  # ... ten of them twice: 1,695 samples
        nat.append(f"{seed_id(i)},员工{i},{_at(day, f'12:{i:02d}:00')},,阴性,另一采样点\n")
    nat.append(f"{seed_id(4000)},员工4000,{_at(day - timedelta(days=1), '23:59:59')},,阴性,南沙采样点\n")  # the day before
    nat.append(f"{seed_id(4001)},员工4001,{_at(day + timedelta(days=1), '00:00:00')},,阴性,南沙采样点\n")  # the day after
    for i in range(NANSHA, NANSHA + 247):  # 珠江街: 247 tested, one of them twice
        nat.append(f"{seed_id(i)},员工{i},{_at(day, '09:30:00')},,阴性,珠江采样点\n")
    nat.append(f"{seed_id(NANSHA)},员工{NANSHA},{_at(day, '15:00:00')},,阴性,珠江采样点\n")
    for i in range(20_000, 20_005):  # people in the feed whom nobody registered
        nat.append(f"{seed_id(i)},路人,{_at(day, '10:00:00')},,阴性,南沙采样点\n")
    drop("feeds/nat/seed.csv", (NAT_HEADER + "".join(nat)).encode("utf-8"))

    vax = []
    def dose(i, d, days_ago, product="北京科兴"):
        vax.append(f"{seed_id(i)},员工{i},{d},{_ago(days_ago)},{product},南沙接种点\n")
    for i in range(3543):  # dose 3 recorded alone: implies doses 1 and 2 (as the province reports a booster)
        dose(i, 3, 190)
    for i in range(3543, 3643):  # all three recorded
        dose(i, 1, 400), dose(i, 2, 370), dose(i, 3, 190)
    for i in range(3643, 3964):  # dose 2 recorded alone: 261 past the booster's 6 months, 60 not yet
        product = "某某生物" if i < 3653 else "北京科兴"  # unknown to the schedules: counted, and named
        dose(i, 2, 200 if i < 3904 else 30, product)
    for i in range(3964, 4005):  # dose 1 only: 31 past the 3 weeks, 10 not yet
        dose(i, 1, 60 if i < 3995 else 5)
    drop("feeds/vaccine/seed.csv", (VACCINE_HEADER + "".join(vax)).encode("utf-8"))
    assert feed(aws) == 2
    deliver(aws)  # the roster marks the feeds raised
    return day


def _nat(api, token, day, category="express"):
    status, table = api.get(f"/api/stats/nat?category={category}&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59",
                            token=token)
    assert status == 200, table
    return table


def _cells(row):
    return row["people"], row["untested"], row["samples"], row["tested"], row["coverage"]


def _nat_rows(api, login, seeded):
    town = _nat(api, login("nanshajie"), seeded)
    assert [r["town"] for r in town["rows"]] == ["南沙街"]
    nansha = town["rows"][0]
    assert _cells(nansha) == (4479, 2794, 1695, 1685, "37.62%")  # the seed's row, exactly
    assert (nansha["positive"], nansha["pending"], nansha["negative"]) == (3, 2, 1680)
    assert {c["person_category"]: c["people"] for c in nansha["children"]} == {"管理人员": 2240, "一线人员": 2239}
    assert sum(c["tested"] for c in nansha["children"]) == 1685
    assert _cells(town["total"]) == _cells(nansha)

    bureau = _nat(api, login("youzheng"), seeded)  # the same period, another role: the whole district
    rows = {r["town"]: r for r in bureau["rows"]}
    assert len(rows) == 10 and _cells(rows["南沙街"]) == _cells(nansha)
    assert _cells(rows["珠江街"]) == (668, 421, 248, 247, "36.98%")  # the seed's row, exactly
    assert _cells(rows["龙穴街"]) == (0, 0, 0, 0, "0.00%")
    assert _cells(bureau["total"]) == (5147, 3215, 1943, 1932, "37.54%")
    assert len(bureau["daily"]) == 14 and bureau["daily"][-2]["tested"] == 1932
    assert bureau["definitions"] and "采样时间" in bureau["definitions"][0]


def _period(api, login, seeded):
    token = login("nanshajie")
    day = seeded
    evening = api.get(f"/api/stats/nat?category=express&start={day:%Y-%m-%d}T23:59&end={day:%Y-%m-%d}T23:59", token=token)[1]
    assert evening["rows"][0]["tested"] == 1  # 23:59:59 is in the day's last minute
    after = day + timedelta(days=1)
    midnight = api.get(f"/api/stats/nat?category=express&start={after:%Y-%m-%d}T00:00&end={after:%Y-%m-%d}T00:00", token=token)[1]
    assert midnight["rows"][0]["tested"] == 1  # 00:00:00 of the next day belongs to the next day
    status, body = api.get("/api/stats/nat?category=express&start=2022-06-07T00:00&end=2022-06-07T23:59", token=token)
    assert status == 400 and "近14天" in body["message"] and "start" in body["fields"]
    status, body = api.get("/api/stats/nat?category=express&start=昨天", token=token)
    assert status == 400 and "开始时间" in body["message"]
    assert api.get("/api/stats/nat?category=all", token=token)[0] == 404  # 全部类别: 运维 and 专班 only
    assert api.get("/api/stats/nat?category=construction", token=login("youzheng"))[0] == 404


def _vaccine_row(api, login, seeded):
    status, table = api.get("/api/stats/vaccine?category=express", token=login("nanshajie"))
    assert status == 200, table
    row = table["rows"][0]
    assert (row["town"], row["enterprises"], row["staff"]) == ("南沙街", 69, 4479)
    doses = [(d["eligible"], d["vaccinated"], d["rate"]) for d in row["doses"]]
    # By the seed's own definition dose 1's eligible are the unvaccinated: 4479 − 4005 = 474 (it prints 476).
    assert doses == [(474, 4005, "89.42%"), (31, 3964, "88.50%"), (261, 3643, "81.34%")]
    assert table["unknown_products"] == [{"product": "某某生物", "people": 10}]
    assert table["as_of"] and len(table["definitions"]) >= 4


def _drill_down(api, aws, login, seeded):
    token, day = login("nanshajie"), seeded
    period = f"category=express&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59"
    for measure, expected in (("untested", 2794), ("tested", 1685), ("positive", 3), ("pending", 2), ("people", 4479)):
        status, page = api.get(f"/api/stats/nat/people?{period}&town=南沙街&measure={measure}&page_size=5", token=token)
        assert status == 200 and page["total"] == expected, (measure, page.get("total"))
    managers = [api.get(f"/api/stats/nat/people?{period}&town=南沙街&person_category=管理人员&measure=tested"
                        f"&page_size=500&page={page}", token=token)[1] for page in (1, 2)]
    items = managers[0]["items"] + managers[1]["items"]
    assert managers[0]["total"] == len(items) == 843 and all(i["person_category"] == "管理人员" for i in items)
    assert len({i["id"] for i in items}) == 843 and sum(i["samples"] for i in items) == 843 + 5  # 0, 2, 4, 6, 8 twice
    item = items[0]
    assert "*" in item["id_number"] and "*" in item["phone"]  # masked as in the ledger
    eligible = api.get("/api/stats/vaccine/people?category=express&town=南沙街&measure=dose2_eligible", token=token)[1]
    assert eligible["total"] == 31
    firms = api.get("/api/stats/vaccine/people?category=express&measure=enterprises&page_size=100", token=token)[1]
    assert firms["total"] == 69 and "*" in firms["items"][0]["head_phone"]

    job, data = export(api, aws, token, f"/api/stats/nat/people/export?{period}&town=南沙街&measure=positive")
    assert job["rows"] == 3
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert len(rows) == 4 and all("*" not in r[4] for r in rows[1:])  # full ID numbers
    events = api.get("/api/audit", token=login("admin"))[1]["items"]
    assert any(e["action"] == "导出核酸统计人员明细" and e["rows"] == 3 and e["actor"] == "nanshajie" for e in events)


def _table_exports(api, login, seeded):
    token, day = login("youzheng"), seeded
    status, data = api.get(f"/api/stats/nat/export?category=express&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59",
                           token=token)
    assert status == 200
    sheet = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert sheet[0][0] == "核酸检测情况" and f"{day:%Y-%m-%d} 00:00" in sheet[1][0]
    assert sheet[3][:7] == ("所属镇街", "人员类别", "人员数量", "未核酸检测人数", "核酸检测人次", "核酸检测人数", "覆盖率")
    nansha = next(r for r in sheet if r[0] == "南沙街" and not r[1])
    assert nansha[2:7] == (4479, 2794, 1695, 1685, "37.62%")
    assert any(r[0] == "合计" and r[2] == 5147 for r in sheet)
    status, data = api.get("/api/stats/vaccine/export?category=express", token=token)
    sheet = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert sheet[3][3:6] == ("第一针可接种人数", "第一针接种人数", "完成第一针接种率")
    assert any(r[0] == "南沙街" and r[1:6] == (69, 4479, 474, 4005, "89.42%") for r in sheet)
    assert any(str(r[0]).startswith("统计时间") for r in sheet if r[0])
    actions = [e["action"] for e in api.get("/api/audit", token=login("admin"))[1]["items"]]
    assert "导出核酸数据统计" in actions and "导出疫苗数据统计" in actions


def _registration(api, aws, login, seeded, sms):
    token = login("nanshajie")
    before = _nat(api, token, seeded)["rows"][0]["people"]
    head = api.post("/api/auth/sms-login", body={"phone": HEAD, "code": sms.code_for(HEAD)})[1]["token"]  # the code again
    ent = next(e for e in api.get("/api/staff/options", token=head)[1]["enterprises"] if e["town"] == "南沙街")
    api.post("/api/staff", token=head, body={
        "enterprise_id": ent["id"], "name": "新来的", "person_category": "一线人员", "phone": "13799990000",
        "id_number": seed_id(30_000), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})
    deliver(aws, times=2)  # the mark's event, delivered twice: one rebuild
    assert _nat(api, token, seeded)["rows"][0]["people"] == before + 1


@pytest.mark.heavy  # 5,147 staff and 9,000 feed rows, once (the small test below walks the same code on both stores)
def test_the_seeds_tables_exactly_and_the_people_behind_every_number(api, aws, login, seeded, sms):
    _nat_rows(api, login, seeded)
    _period(api, login, seeded)
    _vaccine_row(api, login, seeded)
    _table_exports(api, login, seeded)
    _drill_down(api, aws, login, seeded)
    _registration(api, aws, login, seeded, sms)


def test_statistics_on_a_small_district_and_who_sees_what(api, aws, login, make_enterprise, head_login):
    """The same code path on each store: a few people, a feed, the marks, two roles, a drill-down."""
    ents = {town: make_enterprise(name=f"{town}快递", town=town, category="express", head_phone=HEAD)
            for town in ("南沙街", "黄阁镇")}
    token = head_login(HEAD)
    for n, town in enumerate(["南沙街", "南沙街", "南沙街", "黄阁镇"]):
        status, _ = api.post("/api/staff", token=token, body={
            "enterprise_id": ents[town]["id"], "name": cn(n), "person_category": "一线人员", "phone": f"1370000000{n}",
            "id_number": seed_id(n), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})
        assert status == 201
    day = _day()
    drop("feeds/nat/small.csv", (NAT_HEADER + f"{seed_id(0)},甲,{_at(day, '08:00:00')},,阴性,A\n"
                                 f"{seed_id(0)},甲,{_at(day, '18:00:00')},,阳性,A\n"
                                 f"{seed_id(3)},丁,{_at(day, '09:00:00')},,未出结果,B\n"
                                 f"{seed_id(99)},路人,{_at(day, '09:00:00')},,阴性,B\n").encode())
    drop("feeds/vaccine/small.csv", (VACCINE_HEADER + f"{seed_id(1)},乙,3,{_ago(200)},北京科兴,X\n").encode())
    feed(aws)
    deliver(aws, times=2)
    town = _nat(api, login("nanshajie"), day)
    assert [(r["town"], _cells(r), r["positive"]) for r in town["rows"]] == [("南沙街", (3, 2, 2, 1, "33.33%"), 1)]
    bureau = {r["town"]: r for r in _nat(api, login("youzheng"), day)["rows"]}
    assert _cells(bureau["黄阁镇"]) == (1, 0, 1, 1, "100.00%") and bureau["黄阁镇"]["pending"] == 1
    assert api.get(f"/api/stats/nat?category=express&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59",
                   token=login("zhujian"))[0] == 404  # another bureau's category
    vaccine = api.get("/api/stats/vaccine?category=express", token=login("nanshajie"))[1]["rows"][0]
    assert [(d["eligible"], d["vaccinated"]) for d in vaccine["doses"]] == [(2, 1), (0, 1), (0, 1)]
    people = api.get(f"/api/stats/nat/people?category=express&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59"
                     f"&town=黄阁镇&measure=tested", token=login("nanshajie"))
    assert people[0] == 404  # a town never lists another town's people
    every = api.get("/api/stats/nat?category=all", token=login("zhuanban"))[1]
    assert every["category_name"] == "全部类别" and every["total"]["people"] == 4


def test_the_enterprises_behind_a_number_download_as_the_enterprise_list(api, aws, login, make_enterprise):
    make_enterprise(name="南沙快递一号", town="南沙街", category="express", head_phone=HEAD)
    make_enterprise(name="黄阁快递一号", town="黄阁镇", category="express", head_phone=HEAD)
    deliver(aws)
    job, data = export(api, aws, login("nanshajie"), "/api/stats/vaccine/people/export?category=express&measure=enterprises")
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert job["rows"] == 1 and any("南沙快递一号" in r for r in rows[1:]) and HEAD in str(rows[1])
    assert not any("黄阁快递一号" in r for r in rows)  # another town's


NAT_PEOPLE = ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "人员类别", "最近一次核酸检测结果",
              "最近一次核酸采样时间", "期间检测次数")
VACCINE_PEOPLE = ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "人员类别", "第一针疫苗接种时间",
                  "第二针疫苗接种时间", "第三针疫苗接种时间")


def test_a_drill_down_downloads_what_its_screen_shows_named_by_scope_and_day(api, aws, login, make_enterprise,
                                                                           head_login):
    """Issue 22: the download had the ledger's 13 columns (no 人员类别, no 期间检测次数, the result time where
    the screen shows the sampling time) and every file was 核酸统计人员明细.xlsx."""
    from tests.functional.test_staff import disposition, download, today

    ent = make_enterprise(name="南沙快递", town="南沙街", category="express", head_phone=HEAD)
    token = head_login(HEAD)
    assert api.post("/api/staff", token=token, body={
        "enterprise_id": ent["id"], "name": cn(0), "person_category": "管理人员", "phone": "13700000000",
        "id_number": seed_id(0), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})[0] == 201
    day = _day()
    drop("feeds/nat/twice.csv", (NAT_HEADER + f"{seed_id(0)},甲,{_at(day, '08:00:00')},{_at(day, '20:00:00')},阴性,A\n"
                                 f"{seed_id(0)},甲,{_at(day, '09:30:00')},{_at(day, '21:00:00')},阴性,B\n").encode())
    drop("feeds/vaccine/one.csv", (VACCINE_HEADER + f"{seed_id(0)},甲,2,{_ago(200)},北京科兴,X\n").encode())
    feed(aws)
    deliver(aws)
    officer = login("nanshajie")
    period = f"category=express&start={day:%Y-%m-%d}T00:00&end={day:%Y-%m-%d}T23:59"
    shown = api.get(f"/api/stats/nat/people?{period}&measure=tested", token=officer)[1]["items"][0]
    assert shown["samples"] == 2 and shown["person_category"] == "管理人员"

    job, data = export(api, aws, officer, f"/api/stats/nat/people/export?{period}&town=南沙街&measure=tested")
    assert job["filename"] == f"快递物流核酸检测人数明细（南沙街，{today()}）.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == NAT_PEOPLE
    assert rows[1] == ("南沙快递", cn(0), "南沙街", "13700000000", seed_id(0), "管理人员", "阴性",
                       _at(day, "09:30"), 2)  # the latest sample's time, full values, the count a number
    assert sheet.cell(2, 9).data_type == "n"

    job, data = export(api, aws, officer, "/api/stats/vaccine/people/export?category=express&measure=dose2_vaccinated")
    assert job["filename"] == f"快递物流第二针接种人数明细（南沙街，{today()}）.xlsx"
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0] == VACCINE_PEOPLE
    assert rows[1][5:] == ("管理人员", "已接种（日期不详）", _ago(200), None)
    job, _ = export(api, aws, login("admin"), "/api/stats/vaccine/people/export?category=express&measure=enterprises")
    assert job["filename"] == f"快递物流主体数量明细（全区，{today()}）.xlsx"

    for path, name in ((f"/api/stats/nat/export?{period}", "快递物流核酸检测情况"),
                       ("/api/stats/vaccine/export?category=express", "快递物流疫苗接种情况")):
        assert disposition(download(api, path, officer)) == f"{name}（南沙街，{today()}）.xlsx"


def test_the_statistics_time_is_that_of_the_newest_data_the_table_shows(api, aws, login, make_enterprise, head_login):
    """Issue 22: 统计时间 stayed put after a registration changed the table. The table is computed from one
    roster file per town; a registration rebuilds its town's file only, and as_of was the OLDEST file's
    time — the unchanged towns' — so the number moved and its time did not."""
    import time
    from datetime import datetime

    ents = {town: make_enterprise(name=f"{town}快递", town=town, category="express", head_phone=HEAD)
            for town in ("南沙街", "黄阁镇")}
    deliver(aws)
    bureau = login("youzheng")
    before = api.get("/api/stats/vaccine?category=express", token=bureau)[1]
    time.sleep(1.1)  # the roster's times are to the second
    assert api.post("/api/staff", token=head_login(HEAD), body={
        "enterprise_id": ents["南沙街"]["id"], "name": cn(1), "person_category": "一线人员", "phone": "13700000001",
        "id_number": seed_id(1), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})[0] == 201
    deliver(aws)
    after = api.get("/api/stats/vaccine?category=express", token=bureau)[1]
    assert after["total"]["staff"] == before["total"]["staff"] + 1
    assert datetime.fromisoformat(after["as_of"]) > datetime.fromisoformat(before["as_of"])
    nat = _nat(api, bureau, local_day(now()))
    assert nat["as_of"] == after["as_of"]

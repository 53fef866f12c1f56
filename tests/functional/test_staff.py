"""员工管理 (§2.2) for heads and the ledger (§2.3) for officials: every route, with refusals by scope."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.functional.importing import deliver, export

from chalicelib.rules.idnumber import check_character, compose

HEAD = "13800138000"
OTHER_HEAD = "13900139000"


def today() -> str:
    """The Asia/Shanghai day export file names carry."""
    from chalicelib.rules.clock import local_day, now

    return local_day(now()).isoformat()


def download(api, path, token):
    """A direct download as the page asks for it (its type in Accept)."""
    return api.client.http.get(path, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


def disposition(response) -> str:
    """The file name a download's Content-Disposition gives the browser."""
    from urllib.parse import unquote

    assert response.status_code == 200, response.body
    header = {k.lower(): v for k, v in response.headers.items()}["content-disposition"]
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def id_number(seq: int, born: str = "19900101", area: str = "440115") -> str:
    return compose(born, seq, area)


def person(ent_id, n=1, **overrides):
    body = {"enterprise_id": ent_id, "name": "陈志强", "person_category": "一线人员",
            "phone": f"1371234{n:04d}", "id_number": id_number(n), "residence_type": "自行租住",
            "address": "广州市南沙区进港大道1号"}
    body.update(overrides)
    return body


@pytest.fixture
def district(make_enterprise):
    """Two heads; the first heads an express company in 南沙街 and a construction site in 黄阁镇."""
    return {
        "express": make_enterprise(name="南沙速递营业部", town="南沙街", category="express", head_phone=HEAD),
        "site": make_enterprise(name="黄阁某工地", town="黄阁镇", category="construction", head_phone=HEAD,
                                extra={"project_name": "黄阁大道改造"}),
        "other": make_enterprise(name="别家物流", town="南沙街", category="express", head_phone=OTHER_HEAD),
    }


def test_head_adds_staff_and_a_duplicate_names_the_existing_record(api, district, head_login):
    token = head_login(HEAD)
    status, body = api.post("/api/staff", token=token, body=person(district["express"]["id"], id_number=id_number(1).lower()[:-1] + id_number(1)[-1].lower()))
    assert status == 201, body
    assert body["id_number"] == id_number(1) and body["enterprise_name"] == "南沙速递营业部"
    status, dup = api.post("/api/staff", token=token, body=person(district["express"]["id"], name="别人"))
    assert status == 409 and dup["code"] == "DUPLICATE" and dup["existing_id"] == body["id"]
    assert "陈志强" in dup["message"] and id_number(1)[-4:] in dup["message"]
    # the same person may work at a second enterprise
    assert api.post("/api/staff", token=token, body=person(district["site"]["id"]))[0] == 201
    listed = api.get("/api/staff", token=token)[1]
    assert listed["total"] == 2
    assert listed["items"][0]["phone"] == "137****0001" and "*" in listed["items"][0]["id_number"]
    counts = {e["name"]: e["staff_count"] for e in api.get("/api/enterprises", token=token)[1]["items"]}
    assert counts == {"南沙速递营业部": 1, "黄阁某工地": 1}


@pytest.mark.parametrize("field,value,message", [
    ("id_number", "440115199001011234", "校验位错误"),
    ("id_number", "44011519900230123X", "出生日期19900230不存在"),
    ("id_number", id_number(5, born="20991231"), "晚于今天"),
    ("id_number", "4.40115E+17", "被存为数字"),
    ("id_number", "", "不能为空"),
    ("phone", "1371234", "手机号码"),
    ("person_category", "临时工", "不在可选范围内"),
    ("residence_type", "酒店", "不在可选范围内"),
    ("name", "", "不能为空"),
    ("address", "", "不能为空"),
    ("enterprise_id", "", "您管理多家企业，请选择主体名称（南沙速递营业部、黄阁某工地）"),
    ("enterprise_id", "not-mine", "不是您负责的企业"),
])
def test_each_field_is_checked_and_named(api, district, head_login, field, value, message):
    status, body = api.post("/api/staff", token=head_login(HEAD), body=person(district["express"]["id"], **{field: value}))
    assert status == 400 and body["code"] == "VALIDATION"
    assert message in body["fields"][field], body


def test_a_head_of_one_enterprise_may_leave_it_blank(api, make_enterprise, head_login):
    ent = make_enterprise(name="独家物流", head_phone="13600136000")
    status, body = api.post("/api/staff", token=head_login("13600136000"), body=person(""))
    assert status == 201 and body["enterprise_id"] == ent["id"] and body["enterprise_name"] == "独家物流"


def test_id_variants_are_normalized(api, district, head_login):
    token = head_login(HEAD)
    eid = district["express"]["id"]
    cases = {"610104620927690": "610104196209276908",  # 15-digit legacy
             "９３２６８２１９８５０１０１００１７": "932682198501010017",  # foreigner's, full-width
             " 810000199001010018 ": None}  # HK permit, spaces (check digit computed below)
    hk = "81000019900101001"
    cases[" " + hk + check_character(hk) + " "] = hk + check_character(hk)
    cases.pop(" 810000199001010018 ")
    for n, (raw, expected) in enumerate(cases.items()):
        status, body = api.post("/api/staff", token=token, body=person(eid, n, id_number=raw))
        assert status == 201 and body["id_number"] == expected, body


def test_head_cannot_reach_another_enterprises_staff(api, district, head_login):
    other = head_login(OTHER_HEAD)
    status, created = api.post("/api/staff", token=other, body=person(district["other"]["id"]))
    assert status == 201
    mine = head_login(HEAD)
    assert api.get(f"/api/staff/{created['id']}", token=mine)[0] == 404
    assert api.put(f"/api/staff/{created['id']}", token=mine, body=person(district["express"]["id"]))[0] == 404
    assert api.post("/api/staff/batch-delete", token=mine, body={"ids": [created["id"]]})[0] == 404
    assert api.get(f"/api/staff?enterprise_id={district['other']['id']}", token=mine)[0] == 404
    status, body = api.post("/api/staff", token=mine, body=person(district["other"]["id"], n=2))
    assert status == 400 and body["fields"]["enterprise_id"] == "不是您负责的企业"
    assert api.get("/api/staff", token=mine)[1]["total"] == 0
    assert api.get(f"/api/staff/{created['id']}", token=other)[1]["phone"] == "13712340001"


@pytest.mark.parametrize("username", ["admin", "youzheng", "nanshajie", "zhuanban"])
def test_officials_do_not_use_the_head_routes(api, login, username):
    assert api.get("/api/staff", token=login(username))[0] == 403
    assert api.post("/api/staff", token=login(username), body={})[0] == 403


def test_edit_with_stale_check_and_a_new_id_number(api, district, head_login):
    token = head_login(HEAD)
    created = api.post("/api/staff", token=token, body=person(district["express"]["id"]))[1]
    body = person(district["express"]["id"], name="陈志强改", updated_at=created["updated_at"])
    status, edited = api.put(f"/api/staff/{created['id']}", token=token, body=body)
    assert status == 200 and edited["name"] == "陈志强改"
    assert api.put(f"/api/staff/{created['id']}", token=token, body=body)[1]["code"] == "STALE"
    # a corrected ID number is a new key; the old record goes, the count stays
    moved = person(district["express"]["id"], n=7, name="陈志强改", updated_at=edited["updated_at"])
    status, after = api.put(f"/api/staff/{created['id']}", token=token, body=moved)
    assert status == 200 and after["id"] != created["id"] and after["id_number"] == id_number(7)
    assert [i["id"] for i in api.get("/api/staff", token=token)[1]["items"]] == [after["id"]]
    assert api.get(f"/api/staff/{created['id']}", token=token)[0] == 404


def test_search_filter_pages_and_batch_delete(api, district, head_login):
    token = head_login(HEAD)
    ids = []
    for n in range(1, 8):
        eid = district["express"]["id"] if n <= 5 else district["site"]["id"]
        extra = {"extra": {"project_name": "二期"}} if n > 5 else {}
        ids.append(api.post("/api/staff", token=token, body=person(eid, n, name=f"员工{'甲乙丙丁戊己庚'[n - 1]}", **extra))[1]["id"])
    assert api.get("/api/staff?q=员工丙", token=token)[1]["total"] == 1
    assert api.get("/api/staff?q=13712340004", token=token)[1]["items"][0]["name"] == "员工丁"
    assert api.get(f"/api/staff?q={id_number(2)}", token=token)[1]["items"][0]["name"] == "员工乙"
    assert api.get(f"/api/staff?q={id_number(3)[-4:]}", token=token)[1]["items"][0]["name"] == "员工丙"
    assert api.get(f"/api/staff?enterprise_id={district['site']['id']}", token=token)[1]["total"] == 2
    page = api.get("/api/staff?page=2&page_size=3", token=token)[1]
    assert page["total"] == 7 and len(page["items"]) == 3
    assert api.get("/api/staff?page_size=500", token=token)[1]["page_size"] == 500
    status, body = api.post("/api/staff/batch-delete", token=token, body={"ids": ids[:6]})
    assert status == 200 and body == {"deleted": 6}
    assert api.get("/api/staff", token=token)[1]["total"] == 1
    counts = {e["name"]: e["staff_count"] for e in api.get("/api/enterprises", token=token)[1]["items"]}
    assert counts == {"南沙速递营业部": 0, "黄阁某工地": 1}
    assert api.post("/api/staff/batch-delete", token=token, body={"ids": []})[0] == 400


def test_export_all_has_the_seed_columns_in_full_and_is_audited(api, district, head_login, login):
    token = head_login(HEAD)
    api.post("/api/staff", token=token, body=person(district["site"]["id"], name="=HYPERLINK(\"x\")",
                                                  extra={"project_name": "黄阁大道改造"}))
    status, data = api.get("/api/staff/export", token=token)
    assert status == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0] == ("项目名称", "姓名", "身份证号码", "手机号码", "人员类别", "居住地址", "居住类型",
                       "最近一次核酸采样时间", "最近一次核酸检测结果", "第一针疫苗接种时间", "第二针疫苗接种时间",
                       "第三针疫苗接种时间", "企业名称")
    assert rows[1][:4] == ("黄阁大道改造", "=HYPERLINK(\"x\")", id_number(1), "13712340001")  # text, not a formula
    events = api.get("/api/audit", token=login("admin"))[1]["items"]
    assert any(e["action"] == "导出员工信息" and e["rows"] == 1 and e["actor"] == "138****8000" for e in events)


def test_the_staff_export_is_named_by_enterprise_and_day_and_logged_with_its_name(api, district, head_login, login):
    """Issue 22: every head's export was 员工信息.xlsx, and 操作日志 showed the enterprise's internal id."""
    token = head_login(HEAD)
    api.post("/api/staff", token=token, body=person(district["express"]["id"]))
    response = download(api, f"/api/staff/export?enterprise_id={district['express']['id']}", token)
    assert disposition(response) == f"快递物流员工信息（南沙速递营业部，{today()}）.xlsx"
    response = download(api, "/api/staff/export", token)
    assert disposition(response) == f"员工信息（全部企业，{today()}）.xlsx"  # two enterprises of two categories
    scopes = [e["scope"] for e in api.get("/api/audit?action=导出员工信息", token=login("admin"))[1]["items"]]
    assert scopes == ["本人负责的全部企业", "南沙速递营业部"]


def test_template_is_text_formatted_with_the_heads_enterprises(api, district, head_login):
    status, data = api.get("/api/staff/template", token=head_login(HEAD))
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["员工信息"]
    assert [c.value for c in sheet[1]][:7] == ["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"]
    assert sheet.column_dimensions["B"].number_format == "@" or sheet["B2"].number_format == "@"
    assert sorted(r[0] for r in book["可选企业"].iter_rows(values_only=True)) == ["南沙速递营业部", "黄阁某工地"]


# --- the ledger (§2.3) -------------------------------------------------------------------------------


@pytest.fixture
def registered(api, district, head_login):
    token = head_login(HEAD)
    api.post("/api/staff", token=token, body=person(district["express"]["id"], 1, name="南沙快递员"))
    api.post("/api/staff", token=token, body=person(district["site"]["id"], 2, name="黄阁工人",
                                                  extra={"project_name": "二期"}))
    api.post("/api/staff", token=head_login(OTHER_HEAD), body=person(district["other"]["id"], 3, name="别家快递员"))
    return district


def test_ledger_by_scope(api, login, registered):
    names = lambda token, category, extra="": sorted(  # noqa: E731
        i["name"] for i in api.get(f"/api/ledger?category={category}{extra}", token=token)[1]["items"])
    assert names(login("admin"), "express") == ["别家快递员", "南沙快递员"]
    assert names(login("zhuanban"), "construction") == ["黄阁工人"]
    assert names(login("youzheng"), "express") == ["别家快递员", "南沙快递员"]
    assert api.get("/api/ledger?category=construction", token=login("youzheng"))[0] == 404  # not its category
    assert names(login("nanshajie"), "express") == ["别家快递员", "南沙快递员"]
    assert names(login("nanshajie"), "construction") == []  # the site is in 黄阁镇
    assert names(login("huangge"), "construction") == ["黄阁工人"]
    assert names(login("nanshajie"), "express", "&town=黄阁镇") == []  # cannot widen by parameter
    assert [c["code"] for c in api.get("/api/ledger/categories", token=login("youzheng"))[1]] == ["express"]
    assert api.get("/api/ledger?category=express", token=login("nanshajie"))[0] == 200
    # search by person, phone, or enterprise name
    assert names(login("admin"), "express", "&q=别家物流") == ["别家快递员"]
    assert names(login("admin"), "express", "&q=13712340001") == ["南沙快递员"]


def test_ledger_masks_lists_and_shows_full_detail_audited(api, login, registered):
    token = login("nanshajie")
    row = api.get("/api/ledger?category=express&q=南沙快递员", token=token)[1]["items"][0]
    assert row["phone"] == "137****0001" and row["id_number"].startswith("440") and "*" in row["id_number"]
    assert row["head_name"] and "*" in row["head_phone"] and row["enterprise_name"] == "南沙速递营业部"
    status, detail = api.get(f"/api/ledger/{row['id']}", token=token)
    assert status == 200 and detail["id_number"] == id_number(1) and detail["head_phone"] == HEAD
    huangge_row = api.get("/api/ledger?category=construction", token=login("huangge"))[1]["items"][0]
    assert api.get(f"/api/ledger/{huangge_row['id']}", token=token)[0] == 404  # another town's person
    assert api.get(f"/api/ledger/{row['id']}", token=login("zhujian"))[0] == 404  # another bureau's
    events = api.get("/api/audit", token=login("admin"))[1]["items"]
    assert any(e["action"] == "查看人员详情" and e["actor"] == "nanshajie" for e in events)


def test_ledger_export_is_full_and_audited_with_scope_and_rows(api, aws, login, registered):
    token = login("nanshajie")
    job, data = export(api, aws, token, "/api/ledger/export?category=express")
    # named by what, whose and which day (issue 22), not 哨点人员台账.xlsx for every category and scope
    assert (job["status"], job["rows"], job["filename"]) == ("done", 2, f"快递物流台账（南沙街，{today()}）.xlsx"), job
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0][:8] == ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "负责人姓名", "负责人电话", "居住地址")
    assert len(rows) == 3 and {r[4] for r in rows[1:]} == {id_number(1), id_number(3)}
    events = api.get("/api/audit", token=login("admin"))[1]["items"]
    exported = [e for e in events if e["action"] == "导出哨点人员台账"]
    assert exported and exported[0]["rows"] == 2 and "南沙街" in exported[0]["scope"] and exported[0]["actor"] == "nanshajie"
    status, body = api.post("/api/ledger/export?category=express", token=login("zhujian"))
    assert status == 404 and "管理范围" in body["message"]  # refused at once, no job


def test_an_export_runs_once_however_often_its_event_comes_and_only_its_requester_sees_it(api, aws, login, registered):
    from chalicelib.store.models import ImportJob

    token = login("nanshajie")
    job, data = export(api, aws, token, "/api/ledger/export?category=express&q=" + id_number(1), times=3)
    assert job["status"] == "done" and job["rows"] == 1 and data[:2] == b"PK"
    assert ImportJob.get(job["id"]).attempts == 1
    for other in ("huangge", "admin", "youzheng"):
        status, body = api.get(f"/api/exports/{job['id']}", token=login(other))
        assert status == 404 and body["message"] == "导出任务不存在或已过期", other
    assert api.get("/api/exports/nosuchjob", token=token)[0] == 404


def test_an_export_whose_requester_was_disabled_meanwhile_fails_with_the_reason(api, aws, login, registered):
    from chalicelib.store.models import Account

    token = login("nanshajie")
    status, job = api.post("/api/ledger/export?category=express", token=token)
    assert status == 202
    account = Account.get("nanshajie")
    account.update(actions=[Account.disabled.set(True)])
    deliver(aws)
    account.update(actions=[Account.disabled.set(False)])
    job = api.get(f"/api/exports/{job['id']}", token=login("nanshajie"))[1]
    assert (job["status"], job["status_label"], job["url"]) == ("failed", "失败", None)
    assert job["message"] == "发起该任务的账号已停用"


def test_ledger_pages_newest_first_across_towns(api, login, make_enterprise, head_login):
    ents = [make_enterprise(name=f"物流{t}", town=t, category="express", head_phone=HEAD) for t in ("南沙街", "黄阁镇", "珠江街")]
    token = head_login(HEAD)
    made = []
    for n in range(1, 10):
        made.append(api.post("/api/staff", token=token, body=person(ents[n % 3]["id"], n, name=f"人{'一二三四五六七八九'[n - 1]}"))[1]["name"])
    admin = login("admin")
    first = api.get("/api/ledger?category=express&page=1&page_size=4", token=admin)[1]
    second = api.get("/api/ledger?category=express&page=3&page_size=4", token=admin)[1]
    assert first["total"] == 9 and [i["name"] for i in first["items"]] == ["人九", "人八", "人七", "人六"]
    assert [i["name"] for i in second["items"]] == ["人一"]


def test_moving_an_enterprise_moves_its_staff_in_the_ledger(api, login, district, head_login):
    api.post("/api/staff", token=head_login(HEAD), body=person(district["express"]["id"]))
    admin = login("admin")
    ent = api.get(f"/api/enterprises/{district['express']['id']}", token=admin)[1]
    body = {k: ent[k] for k in ("category", "name", "grid", "head_name", "head_phone", "address", "version")}
    assert api.put(f"/api/enterprises/{ent['id']}", token=admin, body={**body, "town": "黄阁镇"})[0] == 200
    assert api.get("/api/ledger?category=express", token=login("nanshajie"))[1]["total"] == 0
    assert [i["name"] for i in api.get("/api/ledger?category=express", token=login("huangge"))[1]["items"]] == ["陈志强"]

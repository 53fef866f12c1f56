"""The enterprise registry (§2.1), route by role, with the refusals."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.conftest import enterprise_body


def test_bureau_adds_an_enterprise_of_its_category(api, login):
    status, body = api.post("/api/enterprises", token=login("youzheng"), body=enterprise_body())
    assert status == 201
    assert body["head_phone"] == "13800138000" and body["category_name"] == "快递物流"
    status, page = api.get("/api/enterprises", token=login("youzheng"))
    assert page["total"] == 1 and page["items"][0]["head_phone"] == "138****8000"  # masked in lists


@pytest.mark.parametrize("username,overrides,status", [
    ("admin", {}, 201),
    ("youzheng", {}, 201),
    ("zhujian", {}, 403),  # construction bureau, express enterprise
    ("nanshajie", {}, 201),
    ("huangge", {}, 403),  # another town
    ("zhuanban", {}, 403),  # the task force changes nothing
])
def test_who_may_add(api, login, username, overrides, status):
    assert api.post("/api/enterprises", token=login(username), body=enterprise_body(**overrides))[0] == status


def test_head_may_not_add(api, make_enterprise, head_login):
    make_enterprise()
    token = head_login("13800138000")
    assert api.post("/api/enterprises", token=token, body=enterprise_body(name="另一家"))[0] == 403


def test_required_fields_and_phone_are_named(api, login):
    status, body = api.post("/api/enterprises", token=login("admin"), body=enterprise_body(
        name=" ", head_phone="12345", town="火星镇", category="construction", extra={}))
    assert status == 400
    assert body["fields"] == {"name": "不能为空", "town": "不是南沙区的镇街", "head_phone": "请输入正确的11位手机号码"}
    status, body = api.post("/api/enterprises", token=login("admin"), body=enterprise_body(category="construction"))
    assert status == 400 and body["fields"] == {"extra.project_name": "不能为空"}
    assert "项目名称" in body["message"]


def test_same_name_in_a_town_is_one_enterprise(api, login, make_enterprise):
    make_enterprise(name="南沙速递营业部")
    status, body = api.post("/api/enterprises", token=login("admin"), body=enterprise_body(name="南沙速递 营业部"))
    assert status == 409 and body["fields"]["name"] == "该镇街已有同名企业"
    assert api.post("/api/enterprises", token=login("admin"), body=enterprise_body(town="黄阁镇"))[0] == 201


def test_scoped_lists(api, login, make_enterprise, head_login):
    make_enterprise(name="甲", town="南沙街", head_phone="13900000001")
    make_enterprise(name="乙", town="黄阁镇", head_phone="13900000002")
    make_enterprise(name="丙", town="南沙街", category="hotel", head_phone="13900000001")

    def names(token, query=""):
        return sorted(i["name"] for i in api.get("/api/enterprises" + query, token=token)[1]["items"])

    assert names(login("nanshajie")) == ["丙", "甲"]
    assert names(login("huangge")) == ["乙"]
    assert names(login("youzheng")) == ["乙", "甲"]
    assert names(login("zhuanban")) == ["丙", "乙", "甲"]
    assert names(login("admin"), "?town=黄阁镇") == ["乙"]
    assert names(login("admin"), "?category=hotel") == ["丙"]
    assert names(login("admin"), "?q=丙") == ["丙"]
    assert names(head_login("13900000001")) == ["丙", "甲"]


def test_other_scopes_read_as_not_found(api, login, make_enterprise, head_login):
    other = make_enterprise(name="乙", town="黄阁镇", head_phone="13900000002")
    make_enterprise(name="甲", town="南沙街", head_phone="13900000001")
    assert api.get(f"/api/enterprises/{other['id']}", token=login("nanshajie"))[0] == 404
    assert api.get(f"/api/enterprises/{other['id']}", token=head_login("13900000001"))[0] == 404
    assert api.put(f"/api/enterprises/{other['id']}", token=login("nanshajie"),
                   body=enterprise_body(name="乙", town="黄阁镇"))[0] == 404
    assert api.post("/api/enterprises/batch-delete", token=login("nanshajie"),
                    body={"ids": [other["id"]], "confirm_staff": True})[0] == 404
    assert api.get(f"/api/enterprises/{other['id']}", token=login("huangge"))[0] == 200


def test_town_cannot_move_an_enterprise_out_of_its_town(api, login, make_enterprise):
    ent = make_enterprise(name="甲", town="南沙街")
    status, body = api.put(f"/api/enterprises/{ent['id']}", token=login("nanshajie"),
                           body=enterprise_body(name="甲", town="黄阁镇", version=ent["version"]))
    assert status == 403


def test_edit_with_optimistic_lock(api, login, make_enterprise):
    ent = make_enterprise()
    token = login("admin")
    status, body = api.put(f"/api/enterprises/{ent['id']}", token=token,
                           body=enterprise_body(name="改名后", version=ent["version"]))
    assert status == 200 and body["name"] == "改名后"
    status, body = api.put(f"/api/enterprises/{ent['id']}", token=token,
                           body=enterprise_body(name="再改", version=ent["version"]))
    assert status == 409 and body["code"] == "STALE"
    # the old name is free again, the new one is taken
    assert api.post("/api/enterprises", token=token, body=enterprise_body())[0] == 201
    assert api.post("/api/enterprises", token=token, body=enterprise_body(name="改名后"))[0] == 409


def test_changing_the_head_phone_moves_the_login(api, login, make_enterprise, head_login, sms):
    ent = make_enterprise(head_phone="13900000001")
    old_token = head_login("13900000001")
    api.put(f"/api/enterprises/{ent['id']}", token=login("admin"),
            body=enterprise_body(head_phone="13900000009", version=ent["version"]))
    assert api.get("/api/enterprises", token=old_token)[1]["total"] == 0
    assert api.get("/api/enterprises", token=head_login("13900000009"))[1]["total"] == 1


def test_delete_asks_before_taking_staff_with_it(api, login, make_enterprise):
    from chalicelib.rules.clock import now
    from chalicelib.store.models import Staff

    ent = make_enterprise()
    empty = make_enterprise(name="空企业")
    for n in range(3):
        Staff(ent["id"], f"person-{n}", name="张三", id_number="x", phone="13900000000", town="南沙街",
              category="express", scope="express#南沙街", created_at=now(), updated_at=now()).save()
    token = login("admin")
    status, body = api.post("/api/enterprises/delete-preview", token=token, body={"ids": [ent["id"], empty["id"]]})
    assert body == {"count": 2, "staff_count": 3}
    status, body = api.post("/api/enterprises/batch-delete", token=token, body={"ids": [ent["id"], empty["id"]]})
    assert status == 409 and body["code"] == "HAS_STAFF" and body["staff_count"] == 3
    assert api.get("/api/enterprises", token=token)[1]["total"] == 2  # nothing deleted
    status, body = api.post("/api/enterprises/batch-delete", token=token,
                            body={"ids": [ent["id"], empty["id"]], "confirm_staff": True})
    assert body == {"deleted": 2, "staff_deleted": 3}
    assert Staff.count(ent["id"]) == 0
    assert api.get("/api/enterprises", token=token)[1]["total"] == 0
    assert api.post("/api/enterprises", token=token, body=enterprise_body())[0] == 201  # name released


def test_pagination(api, login, make_enterprise):
    for n in range(25):
        make_enterprise(name=f"企业{n:02d}")
    status, body = api.get("/api/enterprises?page=3&page_size=10", token=login("admin"))
    assert body["total"] == 25 and len(body["items"]) == 5
    assert api.get("/api/enterprises?page=abc", token=login("admin"))[0] == 400


def test_export_is_full_and_audited(api, login, make_enterprise):
    make_enterprise(name="=HYPERLINK(\"x\")")
    make_enterprise(name="乙", town="黄阁镇")
    status, data = api.get("/api/enterprises/export", token=login("nanshajie"))
    assert status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址")
    assert len(rows) == 2 and rows[1][5] == "13800138000"
    assert sheet.cell(2, 2).data_type == "s"  # written as text, not a formula
    status, audit = api.get("/api/audit?action=导出企业信息", token=login("admin"))
    assert [(e["actor"], e["action"], e["rows"], e["scope"]) for e in audit["items"]] == [
        ("nanshajie", "导出企业信息", 1, "南沙街")]
    assert api.get("/api/enterprises/export", token=login("youzheng"))[0] == 200
    assert api.get("/api/audit", token=login("nanshajie"))[0] == 403


def test_the_export_writes_counts_as_numbers_and_is_named_by_scope_and_day(api, login, make_enterprise, head_login):
    """Issue 22: 员工人数 was text, so Excel's SUM gave 0; every export was 企业信息.xlsx."""
    from tests.functional.test_staff import disposition, download, person, today

    first = make_enterprise(name="=1+1")
    make_enterprise(name="乙")
    token = head_login("13800138000")
    for n in (1, 2):
        assert api.post("/api/staff", token=token, body=person(first["id"], n))[0] == 201
    response = download(api, "/api/enterprises/export", login("nanshajie"))
    assert disposition(response) == f"企业信息（南沙街，{today()}）.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(response.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    counted = rows[0].index("员工人数") + 1
    assert sorted(sheet.cell(r, counted).value for r in (2, 3)) == [0, 2]
    assert {sheet.cell(r, counted).data_type for r in (2, 3)} == {"n"}  # numbers: SUM adds them
    assert {sheet.cell(r, 2).data_type for r in (2, 3)} == {"s"}  # what a person typed stays text, never a formula
    response = download(api, "/api/enterprises/export?category=express&town=黄阁镇", login("admin"))
    assert disposition(response) == f"快递物流企业信息（黄阁镇，{today()}）.xlsx"
    response = download(api, "/api/enterprises/export", login("youzheng"))
    assert disposition(response) == f"快递物流企业信息（全区，{today()}）.xlsx"


def test_detail_view_is_audited(api, login, make_enterprise):
    ent = make_enterprise()
    api.get(f"/api/enterprises/{ent['id']}", token=login("zhuanban"))
    items = api.get("/api/audit", token=login("admin"))[1]["items"]
    assert items[0]["action"] == "查看企业详情" and items[0]["actor"] == "zhuanban"


def test_template_lists_the_callers_choices(api, login):
    status, data = api.get("/api/enterprises/template", token=login("youzheng"))
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in book["企业信息"][1]][:7] == ["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名",
                                                      "负责人电话", "主体地址"]
    assert "快递物流" in book["填写说明"]["A2"].value and "建筑工地" not in book["填写说明"]["A2"].value
    assert api.get("/api/enterprises/template", token=login("zhuanban"))[0] == 403


def test_malformed_bodies_are_400(api, login):
    token = login("admin")
    status, body = api.call("POST", "/api/enterprises", token=token, raw="{not json")
    assert status == 400 and body["message"] == "请求内容不是有效的 JSON"
    assert api.call("POST", "/api/enterprises", token=token, raw="[1,2]")[0] == 400
    assert api.post("/api/enterprises/batch-delete", token=token, body={"ids": "x"})[0] == 400
    assert api.post("/api/enterprises", token=token, body=enterprise_body(extra="x"))[0] == 400


def test_a_claim_left_by_a_crash_does_not_block_the_name(api, login, make_enterprise):
    """The name is claimed before the enterprise is written; a claim whose enterprise never got written
    (the process died in between) is taken over, while a live one still refuses the duplicate."""
    from chalicelib.services.registry.enterprises import identity_key
    from chalicelib.store.models import UniqueKey

    UniqueKey(identity_key("南沙街", "孤儿物流有限公司"), owner="never-written").save()
    created = make_enterprise(name="孤儿物流有限公司", town="南沙街")
    assert UniqueKey.get(identity_key("南沙街", "孤儿物流有限公司")).owner == created["id"]
    status, body = api.post("/api/enterprises", token=login("admin"),
                            body=enterprise_body(name="孤儿物流有限公司", town="南沙街"))
    assert status == 409 and "已登记" in body["message"]


def test_pages_are_newest_first_across_towns_and_filters_still_apply(api, login, make_enterprise):
    for n, town in enumerate(["南沙街", "黄阁镇", "珠江街", "南沙街", "黄阁镇"]):
        make_enterprise(name=f"跨镇企业{n}", town=town)
    admin = login("admin")
    names = lambda query: [i["name"] for i in api.get(f"/api/enterprises?{query}", token=admin)[1]["items"]]  # noqa: E731
    assert names("page=1&page_size=2") == ["跨镇企业4", "跨镇企业3"]
    assert names("page=3&page_size=2") == ["跨镇企业0"]
    assert names("town=黄阁镇") == ["跨镇企业4", "跨镇企业1"]
    assert names("category=express&town=南沙街") == ["跨镇企业3", "跨镇企业0"]
    assert names("q=企业2") == ["跨镇企业2"]
    assert [i["name"] for i in api.get("/api/enterprises?page_size=50", token=login("nanshajie"))[1]["items"]] == \
        ["跨镇企业3", "跨镇企业0"]

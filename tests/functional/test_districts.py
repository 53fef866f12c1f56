"""Districts and towns as data (issue 24, item 5): a deployment serving a whole city — here 11 districts
and 170 towns from a districts file of its own — where a 区 official (a district's bureau or 专班) reaches
its district and nothing else, and a ledger page costs the same DynamoDB requests at 170 towns as at 10."""
from __future__ import annotations

import json

import pytest

from chalicelib.rules import geography
from tests.functional.test_staff import HEAD, OTHER_HEAD, person
from tests.functional.test_staff_search import dynamodb_calls

NANSHA = ["南沙街", "珠江街", "龙穴街", "黄阁镇", "横沥镇", "万顷沙镇", "大岗镇", "榄核镇", "东涌镇", "其他"]


def serve_city(tmp_path, monkeypatch):
    """A city of 南沙区 and ten more districts of 16 towns each: 170 towns."""
    districts = [{"name": "南沙区", "towns": NANSHA}] + [
        {"name": f"第{d:02d}区", "towns": [f"第{d:02d}区第{t:02d}街" for t in range(1, 17)]} for d in range(1, 11)]
    source = tmp_path / "city.json"
    source.write_text(json.dumps({"city": "测试市", "districts": districts}, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("DISTRICTS_FILE", str(source))
    monkeypatch.setenv("DISTRICTS", "*")
    assert len(geography.towns()) == 170 and len(geography.districts()) == 11
    return districts


@pytest.fixture
def city(tmp_path, monkeypatch):
    return serve_city(tmp_path, monkeypatch)


def _account(username, role, **fields):
    from chalicelib.rules.clock import now
    from chalicelib.services.common import security
    from chalicelib.store.models import Account
    from tests.conftest import PASSWORD

    stamp = now()
    Account(username, display_name=username, role=role, password_hash=security.hash_password(PASSWORD),
            created_at=stamp, updated_at=stamp, **fields).save()


def _ledger(api, token, category="express", extra=""):
    status, body = api.get(f"/api/ledger?category={category}&page_size=20{extra}", token=token)
    assert status == 200, body
    return sorted(i["enterprise_name"] for i in body["items"]), body["total"]


def test_a_district_official_reaches_its_district_and_nothing_else(api, login, make_enterprise, head_login, city):
    _account("d1-youzheng", "bureau", categories=["express"], district="第01区")
    _account("d1-zhuanban", "taskforce", district="第01区")
    here = make_enterprise(name="第一区快递", town="第01区第03街", category="express", head_phone=HEAD)
    there = make_enterprise(name="南沙快递", town="南沙街", category="express", head_phone=HEAD)
    elsewhere = make_enterprise(name="第二区快递", town="第02区第01街", category="express", head_phone=OTHER_HEAD)
    site = make_enterprise(name="第一区工地", town="第01区第09街", category="construction", head_phone=OTHER_HEAD,
                           extra={"project_name": "安置房"})
    head, other = head_login(HEAD), head_login(OTHER_HEAD)
    people = {}
    for n, (token, ent) in enumerate([(head, here), (head, there), (other, elsewhere), (other, site)], start=1):
        status, body = api.post("/api/staff", token=token, body=person(ent["id"], n))
        assert status == 201, body
        people[ent["name"]] = body["id"]

    bureau, taskforce = login("d1-youzheng"), login("d1-zhuanban")
    assert _ledger(api, bureau) == (["第一区快递"], 1)
    assert _ledger(api, taskforce) == (["第一区快递"], 1)
    assert _ledger(api, taskforce, "construction") == (["第一区工地"], 1)
    assert _ledger(api, login("youzheng")) == (["南沙快递", "第一区快递", "第二区快递"], 3)  # a 市局: every district
    assert _ledger(api, login("nanshajie")) == (["南沙快递"], 1)
    # another district's person, enterprise and town are not there for them
    assert api.get(f"/api/ledger/{people['南沙快递']}", token=bureau)[0] == 404
    assert api.get(f"/api/enterprises/{there['id']}", token=taskforce)[0] == 404
    status, body = api.get("/api/enterprises?page_size=50", token=taskforce)
    assert status == 200 and sorted(e["name"] for e in body["items"]) == ["第一区工地", "第一区快递"], body
    assert api.get("/api/ledger?category=express&town=南沙街", token=bureau)[1]["total"] == 0
    status, body = api.post("/api/enterprises", token=bureau, body={
        "category": "express", "name": "越界快递", "town": "南沙街", "grid": "", "head_name": "陈志强",
        "head_phone": "13500135000", "address": "南沙区某路1号", "extra": {}})
    assert status == 403 and "只能登记第01区的企业" in body["message"], body
    # what it downloads is named by its district, not 全市
    status, job = api.post("/api/ledger/export?category=express", token=bureau, body={})
    assert status == 202 and job["filename"].startswith("快递物流台账（第01区，"), job
    # a category's 告警设置 holds for the whole city: the 区局 reads it, and may not change it
    status, body = api.get("/api/alerts/settings/express", token=bureau)
    assert status == 200 and body["editable"] is False, body
    status, body = api.put("/api/alerts/settings/express", token=bureau, body={"rule": "1d1", "version": 0})
    assert status == 403 and body["message"] == "告警设置对所有区生效，仅运维和市级主管部门可修改", body
    # the statistics: its district's towns only
    status, body = api.get("/api/stats/nat?category=express", token=bureau)
    assert status == 200, body
    assert {r["town"] for r in body["rows"]} <= set(geography.towns_of("第01区")), body["rows"]
    # an account's district is one of the served ones, named in the refusal
    status, body = api.post("/api/accounts", token=login("admin"), body={
        "username": "wrong-district", "password": "Nansha2026!x", "role": "bureau", "display_name": "某局",
        "categories": ["express"], "district": "火星区"})
    assert status == 400 and "所属区" in body["message"], body


def _page_cost(api, token, category="express", q=""):
    with dynamodb_calls() as calls:
        status, body = api.get(f"/api/ledger?category={category}&page_size=20&q={q}", token=token)
    assert status == 200, body
    return dict(calls), body["total"]


def test_a_ledger_page_costs_the_same_requests_at_10_towns_as_at_170(api, login, make_enterprise, head_login,
                                                                       monkeypatch, tmp_path):
    for n, town in enumerate(NANSHA[:9]):
        ent = make_enterprise(name=f"快递{n}", town=town, category="express", head_phone=HEAD)
        head = head_login(HEAD)
        assert api.post("/api/staff", token=head, body=person(ent["id"], n + 1))[0] == 201
    # one district of 10 towns: a bureau, 专班 and a town
    district = {name: _page_cost(api, login(name)) for name in ("youzheng", "zhuanban", "nanshajie")}
    assert district["youzheng"][1] == 9 and district["youzheng"][0]["Query"] == 2  # staff, the enterprises' counts
    search_at_10 = {name: _page_cost(api, login(name), q="志强")[0] for name in ("youzheng", "nanshajie")}

    serve_city(tmp_path, monkeypatch)
    _account("ns-youzheng", "bureau", categories=["express"], district="南沙区")
    _account("ns-zhuanban", "taskforce", district="南沙区")
    for d in range(1, 11):  # people in other districts too
        ent = make_enterprise(name=f"外区快递{d}", town=f"第{d:02d}区第05街", category="express", head_phone=HEAD)
        assert api.post("/api/staff", token=head, body=person(ent["id"], 100 + d))[0] == 201
    at_170 = {"youzheng": _page_cost(api, login("ns-youzheng")), "zhuanban": _page_cost(api, login("ns-zhuanban")),
              "nanshajie": _page_cost(api, login("nanshajie"))}
    assert at_170 == district, (at_170, district)
    # a search by name: one Query of the search index (and one of the category's enterprises) either way
    search_at_170 = {"youzheng": _page_cost(api, login("ns-youzheng"), q="志强")[0],
                     "nanshajie": _page_cost(api, login("nanshajie"), q="志强")[0]}
    assert search_at_170 == search_at_10 and search_at_10["youzheng"]["Query"] == 2, (search_at_170, search_at_10)
    # the city-wide 运维: one partition per district (11 staff, 11 enterprise Query), not one per town (170)
    calls, total = _page_cost(api, login("admin"))
    assert total == 19 and calls["Query"] == 2 * 11, calls



def test_records_from_before_districts_get_theirs_from_the_command(api, login, make_enterprise, head_login,
                                                                     monkeypatch, tmp_path):
    """Enterprises and staff written before `reach` existed are missing from a district official's
    unsearched list until the backfill; `python -m infra.reach backfill` sets them, once."""
    from chalicelib.store.models import Enterprise, Staff
    from infra import reach as command

    ent = make_enterprise(name="旧数据快递", town="黄阁镇", category="express", head_phone=HEAD)
    assert api.post("/api/staff", token=head_login(HEAD), body=person(ent["id"], 1))[0] == 201
    for model in (Enterprise, Staff):  # as written before
        for item in model.scan():
            item.update(actions=[model.reach.remove()])
    serve_city(tmp_path, monkeypatch)
    _account("ns-youzheng", "bureau", categories=["express"], district="南沙区")
    bureau = login("ns-youzheng")
    assert _ledger(api, bureau) == ([], 0)

    monkeypatch.setattr("os.environ", dict(__import__("os").environ))  # the command sets STAGE for itself
    assert command.main(["backfill", "--stage", "local", "--segments", "2"]) == 0
    assert _ledger(api, bureau) == (["旧数据快递"], 1)
    assert command.run(segments=2) == {"enterprises_read": 1, "enterprises_set": 0, "staff_read": 1, "staff_set": 0}

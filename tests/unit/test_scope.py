"""The one access model: each kind of caller reaches exactly its own part of the district."""
from __future__ import annotations

import pytest

from chalicelib.access.scope import Scope
from chalicelib.rules import geography

ADMIN = Scope("admin", "admin")
TASKFORCE = Scope("taskforce", "zhuanban")
BUREAU = Scope("bureau", "youzheng", categories=frozenset({"express"}))
TOWN = Scope("town", "nanshajie", town="南沙街")
HEAD = Scope("head", "13800138000")


def test_reads_and_writes():
    ent = dict(category="express", town="南沙街", head_phone="13800138000")
    other = dict(category="market", town="黄阁镇", head_phone="13900000000")
    assert [s.reads(**ent) for s in (ADMIN, TASKFORCE, BUREAU, TOWN, HEAD)] == [True] * 5
    assert [s.reads(**other) for s in (ADMIN, TASKFORCE, BUREAU, TOWN, HEAD)] == [True, True, False, False, False]
    writes = [s.writes(category="express", town="黄阁镇") for s in (ADMIN, TASKFORCE, BUREAU, TOWN, HEAD)]
    assert writes == [True, False, True, False, False]
    assert TOWN.write_refusal(category="express", town="黄阁镇") == "只能登记南沙街的企业"


def test_partitions_a_list_reads():
    assert BUREAU.ledger_partitions("market") is None and HEAD.ledger_partitions("express") is None
    assert TOWN.ledger_partitions("market") == [("market", "南沙街")]
    assert TOWN.ledger_partitions("market", "黄阁镇") == []
    assert len(ADMIN.ledger_partitions("express")) == len(geography.towns())
    assert BUREAU.enterprise_partitions() == ("category", ["express"])
    assert ADMIN.enterprise_partitions() == ("category", [c.code for c in ADMIN.visible_categories()])
    assert TOWN.enterprise_partitions(town="黄阁镇") == ("town", [])
    assert HEAD.enterprise_partitions() == ("head", ["13800138000"])
    assert TASKFORCE.enterprise_partitions(category="market") == ("category", ["market"])


def test_a_subject_is_its_role_and_name_together():
    assert not Scope("bureau", "13800138000").is_subject(role="head", subject="13800138000")
    assert HEAD.is_subject(role="head", subject="13800138000")


@pytest.fixture
def two_districts(monkeypatch):
    monkeypatch.setenv("DISTRICTS", "南沙区,番禺区")


def test_a_district_official_reaches_its_district_and_nothing_else(two_districts):
    bureau = Scope("bureau", "py-youzheng", categories=frozenset({"express"}), district="番禺区")
    taskforce = Scope("taskforce", "py-zhuanban", district="番禺区")
    city = Scope("taskforce", "shi-zhuanban")
    panyu = dict(category="express", town="市桥街", head_phone="")
    nansha = dict(category="express", town="南沙街", head_phone="")
    assert [s.reads(**panyu) for s in (bureau, taskforce, city, ADMIN, TOWN)] == [True, True, True, True, False]
    assert [s.reads(**nansha) for s in (bureau, taskforce, city, ADMIN, TOWN)] == [False, False, True, True, True]
    assert bureau.writes(category="express", town="市桥街") and not bureau.writes(category="express", town="南沙街")
    assert bureau.write_refusal(category="express", town="南沙街") == "只能登记番禺区的企业"
    assert taskforce.visible_towns() == list(geography.towns_of("番禺区")) and TOWN.area == "南沙区"
    assert set(city.visible_towns()) == set(geography.towns()) and city.area is None
    # a page reads one partition per district covered, never one per town
    assert bureau.ledger_reads("express") == ("district", ["番禺区"])
    assert city.ledger_reads("express") == ("district", ["南沙区", "番禺区"])
    assert TOWN.ledger_reads("express") == ("town", ["南沙街"])
    assert taskforce.enterprise_partitions() == ("reach", [f"番禺区#{c.code}" for c in taskforce.visible_categories()])
    assert bureau.enterprise_partitions(town="南沙街") == ("town", [])
    # pushes: the lists of its district's towns, and whatever was sent to itself
    assert taskforce.sees_push("express", "u1", "市桥街") and not taskforce.sees_push("express", "u1", "南沙街")
    assert not taskforce.sees_push("express", "u1", None)  # a category's whole list names every district
    assert Scope("taskforce", "x", wecom_user="u1", district="番禺区").sees_push("express", "u1", None)
    assert (bureau.label(), taskforce.label(), city.label()) == ("番禺区 快递物流", "番禺区", "全市")
    # a category's 告警设置 holds for every district: a 区局 reads it, a 市局 changes it
    city_bureau = Scope("bureau", "shi-youzheng", categories=frozenset({"express"}))
    assert not bureau.configures("express") and city_bureau.configures("express") and BUREAU.configures("express")


def test_towns_and_districts_are_data(two_districts):
    assert geography.district_of("市桥街") == "番禺区" and geography.district_of("南沙街") == "南沙区"
    assert geography.order("南沙街") < geography.order("其他") < geography.order("市桥街")
    assert geography.current().area == "全市"


def test_one_district_by_default_and_a_wrong_setting_named(monkeypatch):
    monkeypatch.delenv("DISTRICTS", raising=False)
    assert geography.districts() == ("南沙区",) and len(geography.towns()) == 10 and geography.current().area == "全区"
    monkeypatch.setenv("DISTRICTS", "南沙区,火星区")
    with pytest.raises(geography.GeographyError, match="火星区"):
        geography.towns()

"""The one access model: each kind of caller reaches exactly its own part of the district."""
from __future__ import annotations

from chalicelib.access.scope import Scope
from chalicelib.rules import catalog

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
    assert len(ADMIN.ledger_partitions("express")) == len(catalog.TOWNS)
    assert BUREAU.enterprise_partitions() == ("category", ["express"])
    assert TOWN.enterprise_partitions(town="黄阁镇") == ("town", [])
    assert HEAD.enterprise_partitions() == ("head", ["13800138000"])
    assert TASKFORCE.enterprise_partitions(category="market") == ("category", ["market"])


def test_a_subject_is_its_role_and_name_together():
    assert not Scope("bureau", "13800138000").is_subject(role="head", subject="13800138000")
    assert HEAD.is_subject(role="head", subject="13800138000")

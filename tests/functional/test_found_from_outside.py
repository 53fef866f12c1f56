"""The findings of the outside test (issue 10), one test each: every one failed on the code before it."""
from __future__ import annotations

from tests.functional.importing import deliver, workbook
from tests.functional.test_enterprise_import import HEADER, upload
from tests.functional.test_staff import HEAD, district, id_number, person  # noqa: F401 - fixture


def _import(api, aws, token, rows):
    status, job = upload(api, token, workbook(rows, header=HEADER))
    assert status == 202, job
    deliver(aws)
    return api.get(f"/api/imports/{job['id']}", token=token)[1]


def test_an_import_that_changes_the_category_moves_the_staff_with_the_enterprise(api, aws, login, district,
                                                                               head_login, accounts):
    """Finding 1: 主体类型 changed by a workbook left the staff in the old category's ledger, where the old
    bureau could still export their full ID numbers."""
    from chalicelib.services import security  # noqa: F401
    from chalicelib.store.models import Account

    Account("shijian", role="bureau", display_name="区市场监督管理局", categories=["market"],
            password_hash=Account.get("admin").password_hash, created_at=Account.get("admin").created_at,
            updated_at=Account.get("admin").updated_at).save()
    number = id_number(1)
    api.post("/api/staff", token=head_login(HEAD), body=person(district["express"]["id"]))
    job = _import(api, aws, login("nanshajie"), [
        ["农贸市场", "南沙速递营业部", "南沙街", "", "陈志强", HEAD, "广州市南沙区进港大道1号", ""]])
    assert (job["status"], job["updated"]) == ("done", 1), job
    express = login("youzheng")
    assert api.get("/api/ledger?category=express", token=express)[1]["total"] == 0
    status, body = api.get(f"/api/ledger/export?category=express&q={number}", token=express,
                           headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert number.encode() not in (body if isinstance(body, bytes) else str(body).encode())
    market = api.get("/api/ledger?category=market", token=login("shijian"))[1]
    assert [i["name"] for i in market["items"]] == ["陈志强"]


def test_a_bureau_cannot_move_its_enterprise_into_a_category_it_does_not_supervise(api, aws, login, district):
    job = _import(api, aws, login("youzheng"), [
        ["农贸市场", "南沙速递营业部", "南沙街", "", "陈志强", HEAD, "广州市南沙区进港大道1号", ""]])
    assert (job["updated"], job["failed"]) == (0, 1), job
    ent = api.get(f"/api/enterprises/{district['express']['id']}", token=login("admin"))[1]
    assert ent["category"] == "express"


def test_an_account_named_like_a_heads_phone_does_not_own_the_heads_jobs(api, aws, login, district, head_login):
    """Finding 2: import jobs belonged to a bare subject string, so an account whose username was a head's
    phone read that head's jobs and their failure workbook (full ID numbers)."""
    from tests.functional.test_staff_import import run_import, row, HEADER as STAFF_HEADER

    job = run_import(api, aws, head_login(HEAD), workbook([row(1, "甲", enterprise="南沙速递营业部"),
                                                           row(2, "乙", enterprise="不存在的公司")],
                                                          header=STAFF_HEADER))
    assert job["has_failures"], job
    status, _ = api.post("/api/accounts", token=login("admin"), body={
        "username": HEAD, "password": "Nansha#2026x", "role": "bureau", "display_name": "冒名",
        "categories": ["express"]})
    assert status == 201
    status, body = api.post("/api/auth/login", body={"username": HEAD, "password": "Nansha#2026x"})
    twin = body["token"]
    assert api.get(f"/api/imports/{job['id']}", token=twin)[0] == 404
    assert api.get(f"/api/imports/{job['id']}/failures", token=twin)[0] == 404

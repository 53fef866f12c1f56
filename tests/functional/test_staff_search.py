"""Search by name or phone through the search index (issue 24, item 6): the right people in the caller's
scope only, kept current by every write (form, edit, delete, import, an enterprise's move, a person-key
rotation), existing data backfilled, and the same DynamoDB requests per search page for a scope of one
town as for ten."""
from __future__ import annotations

import contextlib
import json
import re
from collections import Counter

import pytest

from chalicelib.rules import geography
from tests.functional.importing import deliver, workbook
from tests.functional.test_staff import HEAD, OTHER_HEAD, id_number, person
from tests.functional.test_staff_import import HEADER as IMPORT_HEADER, row, run_import, upload

THIRD_HEAD = "13600136000"


@pytest.fixture
def places(make_enterprise):
    """HEAD: an express office in 南沙街 and a site in 黄阁镇; OTHER_HEAD: an express office in 黄阁镇."""
    return {
        "ns": make_enterprise(name="南沙速递营业部", town="南沙街", category="express", head_phone=HEAD),
        "site": make_enterprise(name="黄阁某工地", town="黄阁镇", category="construction", head_phone=HEAD,
                                extra={"project_name": "黄阁大道改造"}),
        "hg": make_enterprise(name="黄阁快运", town="黄阁镇", category="express", head_phone=OTHER_HEAD),
    }


def add(api, token, ent, n, name, **extra):
    status, body = api.post("/api/staff", token=token, body=person(ent["id"], n, name=name, **extra))
    assert status == 201, body
    return body


def ledger(api, token, q, extra=""):
    status, body = api.get(f"/api/ledger?category=express&q={q}{extra}", token=token)
    assert status == 200, body
    return sorted(i["name"] for i in body["items"]), body["total"]


def mine(api, token, q, extra=""):
    status, body = api.get(f"/api/staff?q={q}{extra}", token=token)
    assert status == 200, body
    return sorted(i["name"] for i in body["items"]), body["total"]


def test_a_part_of_a_name_or_a_phone_finds_the_right_people_in_scope_only(api, login, head_login, places):
    head, other = head_login(HEAD), head_login(OTHER_HEAD)
    add(api, head, places["ns"], 1, "陈志强")
    add(api, head, places["site"], 2, "李志强", extra={"project_name": "二期"})
    add(api, other, places["hg"], 3, "陈志明")
    town, huangge, bureau = login("nanshajie"), login("huangge"), login("youzheng")
    # a 镇街 never sees another town's people, whatever part of the name it types
    assert ledger(api, town, "志强") == (["陈志强"], 1)
    assert ledger(api, town, "陈志") == (["陈志强"], 1)
    assert ledger(api, huangge, "陈志") == (["陈志明"], 1)
    assert ledger(api, town, "志明") == ([], 0)
    # a bureau its categories in every town; narrowed to one town, that town's
    assert ledger(api, bureau, "陈志") == (["陈志强", "陈志明"], 2)
    assert ledger(api, login("admin"), "陈志", "&town=黄阁镇") == (["陈志明"], 1)
    assert ledger(api, town, "陈志", "&town=黄阁镇") == ([], 0)  # cannot widen by parameter
    # phones: whole or the last four; an ID number's last four or six
    assert ledger(api, town, "13712340001") == (["陈志强"], 1)
    assert ledger(api, town, "0003") == ([], 0) and ledger(api, huangge, "0003") == (["陈志明"], 1)
    assert ledger(api, bureau, id_number(3)[-6:]) == (["陈志明"], 1)
    # a head only its own enterprises' people, in all of them or the one chosen
    assert mine(api, head, "志强") == (["李志强", "陈志强"], 2)
    assert mine(api, head, "志强", f"&enterprise_id={places['site']['id']}") == (["李志强"], 1)
    assert mine(api, head, "陈志明") == ([], 0) and mine(api, head, "13712340003") == ([], 0)
    # text that is no term says what can be searched, in the page's words
    status, body = api.get("/api/staff?q=陈", token=other)
    assert status == 400 and "两个字" in body["message"] and "q" in body["fields"]
    assert api.get("/api/staff/export?q=陈", token=other)[0] == 400  # not an empty file
    assert api.post("/api/ledger/export?category=express&q=陈", token=town)[0] == 400
    status, body = api.get("/api/ledger?category=express&q=1234567", token=town)
    assert status == 400 and "后4位" in body["message"]
    # the ledger still finds the people of the enterprises whose name contains the text (one character too)
    assert ledger(api, bureau, "快运") == (["陈志明"], 1)
    assert ledger(api, bureau, "运") == (["陈志明"], 1)
    # lists show masked values, as without a search
    item = api.get("/api/ledger?category=express&q=志强", token=town)[1]["items"][0]
    assert item["phone"] == "137****0001" and "*" in item["id_number"]


def test_an_edit_and_a_delete_update_the_index(api, head_login, login, places):
    from chalicelib.store.search import MANIFEST_AT, SearchEntry

    head, town = head_login(HEAD), login("nanshajie")
    created = add(api, head, places["ns"], 1, "陈志强")
    body = person(places["ns"]["id"], 1, name="王建国", phone="13912345678", updated_at=created["updated_at"])
    status, edited = api.put(f"/api/staff/{created['id']}", token=head, body=body)
    assert status == 200, edited
    assert ledger(api, town, "志强") == ([], 0) and ledger(api, town, "0001") == ([], 0)
    assert ledger(api, town, "建国") == (["王建国"], 1) and ledger(api, town, "5678") == (["王建国"], 1)
    # a corrected ID number is a new record: the search finds the new one, never the old
    moved = person(places["ns"]["id"], 7, name="王建国", phone="13912345678", updated_at=edited["updated_at"])
    status, after = api.put(f"/api/staff/{created['id']}", token=head, body=moved)
    assert status == 200 and after["id"] != created["id"]
    found = api.get("/api/staff?q=王建国", token=head)[1]
    assert [i["id"] for i in found["items"]] == [after["id"]] and found["total"] == 1
    assert mine(api, head, id_number(1)[-4:]) == ([], 0) and mine(api, head, id_number(7)[-4:]) == (["王建国"], 1)
    status, _ = api.post("/api/staff/batch-delete", token=head, body={"ids": [after["id"]]})
    assert status == 200
    assert mine(api, head, "建国") == ([], 0) and ledger(api, town, "13912345678") == ([], 0)
    assert not list(SearchEntry.scan())  # nothing of the person is left in the index
    assert MANIFEST_AT == "~"


def test_an_imports_people_are_searchable_and_a_retried_import_leaves_no_stale_term(
        api, aws, head_login, login, places, monkeypatch):
    import boto3

    import app as application
    from chalicelib.services.search import index

    head, town = head_login(HEAD), login("nanshajie")
    job = run_import(api, aws, head, workbook([row(1, "赵海燕"), row(2, "钱丽华")], header=IMPORT_HEADER))
    assert job["status"] == "done" and job["created"] == 2, job
    assert mine(api, head, "海燕") == (["赵海燕"], 1) and ledger(api, town, "0002") == (["钱丽华"], 1)

    # the file again with a new name; the first delivery dies after the records were written
    real, calls = index.sync, []

    def dies_once(records, **kw):
        calls.append(len(records))
        if len(calls) == 1:
            raise RuntimeError("the function died here")
        return real(records, **kw)

    monkeypatch.setattr(index, "sync", dies_once)
    status, job = upload(api, head, workbook([row(1, "赵晓玲"), row(2, "钱丽华")], header=IMPORT_HEADER))
    assert status == 202
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queues["ImportQueue"], MaxNumberOfMessages=10)["Messages"]
    body = next(m["Body"] for m in messages if job["id"] in m["Body"])
    for delivery in (1, 2):
        record = {"messageId": f"m{delivery}", "receiptHandle": "r", "body": body, "eventSource": "aws:sqs",
                  "attributes": {"ApproximateReceiveCount": str(delivery)}, "messageAttributes": {},
                  "eventSourceARN": "arn", "awsRegion": "us-east-1"}
        with contextlib.suppress(RuntimeError):
            application.on_upload({"Records": [record]}, None)
    assert api.get(f"/api/imports/{job['id']}", token=head)[1]["status"] == "done"
    assert mine(api, head, "海燕") == ([], 0)  # the earlier name left with the retry
    assert mine(api, head, "晓玲") == (["赵晓玲"], 1) and ledger(api, town, "钱丽") == (["钱丽华"], 1)
    assert _items_beyond_manifests() == 0


def _items_beyond_manifests() -> int:
    """Term items no manifest names (stale ones), counted over the whole index table."""
    from chalicelib.store.search import MANIFEST_AT, SearchEntry

    named, terms = set(), set()
    for item in SearchEntry.scan():
        if item.at == MANIFEST_AT:
            named |= {(f"{h}#{item.category}", item.created) for h in item.hashes or ()}
        else:
            terms.add((item.term, item.at))
    assert named <= terms, "a manifest names an item that is not there"
    return len(terms - named)


def test_an_enterprise_that_moves_or_changes_its_head_takes_its_people_along(api, head_login, login, places):
    from tests.conftest import enterprise_body

    add(api, head_login(HEAD), places["ns"], 1, "陈志强")
    town, huangge = login("nanshajie"), login("huangge")
    body = enterprise_body(name="南沙速递营业部", town="黄阁镇", head_phone=THIRD_HEAD, version=places["ns"]["version"])
    status, answer = api.put(f"/api/enterprises/{places['ns']['id']}", token=login("admin"), body=body)
    assert status == 200, answer
    assert ledger(api, town, "志强") == ([], 0) and ledger(api, huangge, "志强") == (["陈志强"], 1)
    assert mine(api, head_login(THIRD_HEAD), "志强") == (["陈志强"], 1)
    assert mine(api, head_login(HEAD), "志强") == ([], 0)
    assert _items_beyond_manifests() == 0


@contextlib.contextmanager
def dynamodb_calls():
    """Every DynamoDB call of this process by operation, as bench/pages.py `_counting_calls` counts them."""
    import botocore.client

    calls: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            calls[operation] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counted
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original


def test_a_search_page_costs_the_same_requests_for_one_town_as_for_ten(api, login, head_login, make_enterprise):
    towns = list(geography.towns())
    ents = [make_enterprise(name=f"测试物流{n}", town=town, category="express", head_phone=HEAD)
            for n, town in enumerate(towns)]
    token = head_login(HEAD)
    for n, ent in enumerate(ents):
        add(api, token, ent, 2 * n + 1, "陈志强")
        add(api, token, ent, 2 * n + 2, f"{'王李张刘杨黄赵周吴孙'[n]}{'伟芳敏静丽强磊军洋勇'[n]}")
    one_town, ten_towns = login("nanshajie"), login("youzheng")
    assert ledger(api, one_town, "志强")[1] == 1 and ledger(api, ten_towns, "志强")[1] == len(towns) == 10

    def cost(token_, q="志强"):
        with dynamodb_calls() as calls:
            status, body = api.get(f"/api/ledger?category=express&q={q}&page_size=20", token=token_)
        assert status == 200, body
        return dict(calls)

    town_cost, bureau_cost = cost(one_town), cost(ten_towns)
    assert town_cost == bureau_cost, (town_cost, bureau_cost)
    assert town_cost["Query"] == 2 and "Scan" not in town_cost  # the category's enterprises, the index
    assert cost(one_town, "0001") == cost(ten_towns, "0001")  # a phone's last four the same
    # a head of one enterprise and a head of ten: the same
    only = make_enterprise(name="独家快递", town="南沙街", category="express", head_phone=OTHER_HEAD)
    single = head_login(OTHER_HEAD)
    add(api, single, only, 99, "陈志强")
    with dynamodb_calls() as few:
        assert mine(api, single, "志强") == (["陈志强"], 1)
    with dynamodb_calls() as many:
        assert mine(api, token, "志强")[1] == 10
    assert dict(few) == dict(many)


def test_existing_data_is_backfilled_and_stale_items_pruned_by_the_command(api, head_login, login, places,
                                                                            monkeypatch):
    import os

    from chalicelib.store.models import Staff
    from chalicelib.store.search import SearchEntry
    from infra import search_index as command

    head, town = head_login(HEAD), login("nanshajie")
    first = add(api, head, places["ns"], 1, "陈志强")
    add(api, head, places["ns"], 2, "李志强")
    with SearchEntry.batch_write() as batch:  # data written before the index existed
        for item in SearchEntry.scan():
            batch.delete(item)
    assert ledger(api, town, "志强") == ([], 0)
    for name in ("STAGE", "TABLE_PREFIX", "SMS_SENDER"):
        monkeypatch.setenv(name, os.environ.get(name, {"STAGE": "local", "TABLE_PREFIX": "sentinel-local-"}.get(name, "console")))
    monkeypatch.setenv("APP_SECRET", os.environ.get("APP_SECRET", ""))
    monkeypatch.setenv("PERSON_KEY_SECRET_ID", os.environ.get("PERSON_KEY_SECRET_ID", ""))
    assert command.main(["backfill", "--stage", "local", "--segments", "2"]) == 0
    assert ledger(api, town, "志强") == (["李志强", "陈志强"], 2)
    assert command.main(["backfill", "--stage", "local", "--segments", "2"]) == 0  # again: nothing to write
    assert command.run("backfill", segments=2) == {"scanned": 2, "items_written": 0}
    # a record deleted while its index step never ran: found no more, and pruned
    Staff(places["ns"]["id"], first["id"].split(".", 1)[1]).delete()
    assert ledger(api, town, "志强") == (["李志强"], 2)  # the stale hit is never shown
    assert command.run("prune", segments=2) == {"manifests": 2, "items_removed": 7}
    assert ledger(api, town, "志强") == (["李志强"], 1)
    assert _items_beyond_manifests() == 0


def test_a_person_key_rotation_moves_the_index_with_the_people(api, aws, login, head_login, make_enterprise,
                                                               monkeypatch):
    import json

    import boto3

    from chalicelib.services.common import keyring
    from chalicelib.services.operations import rotation
    from chalicelib.store.search import MANIFEST_AT, SearchEntry
    from infra import person_key as cli

    secret = "sentinel-local-person-key"
    boto3.client("secretsmanager").create_secret(Name=secret, SecretString=json.dumps({"current": "1", "key1": "k" * 64}))
    monkeypatch.setenv("PERSON_KEY_SECRET_ID", secret)
    monkeypatch.setenv("PERSON_KEY_SETTLE_SECONDS", "0")
    keyring.forget()
    ent = make_enterprise(name="南沙速递营业部", town="南沙街", category="express", head_phone=HEAD)
    head, town = head_login(HEAD), login("nanshajie")
    add(api, head, ent, 1, "陈志强")
    add(api, head, ent, 2, "李志强")
    versions = lambda: sorted(i.version for i in SearchEntry.scan() if i.at == MANIFEST_AT)  # noqa: E731
    assert versions() == ["1", "1"]

    cli.begin(secret)  # version 2 current, 1 replaced: a search asks under both
    with dynamodb_calls() as calls:
        assert ledger(api, town, "志强") == (["李志强", "陈志强"], 2)
    assert calls["Query"] == 3  # the category's enterprises, then the index under each version
    add(api, head, ent, 3, "王志强")  # registered under the new key, indexed under it
    assert ledger(api, town, "志强") == (["李志强", "王志强", "陈志强"], 3) and versions() == ["1", "1", "2"]
    for _ in range(6):  # the job's pieces and passes, and the rosters they mark
        deliver(aws)
        if rotation.header("2").status == "done":
            break
    assert rotation.header("2").status == "done"
    assert versions() == ["2", "2", "2"] and _items_beyond_manifests() == 0
    cli.finish(secret)  # the replaced key gone: one Query, and everyone still found
    with dynamodb_calls() as calls:
        assert ledger(api, town, "志强") == (["李志强", "王志强", "陈志强"], 3)
    assert calls["Query"] == 2
    assert mine(api, head, "0001") == (["陈志强"], 1)
    keyring.forget()


def test_a_search_past_its_bound_lists_the_newest_and_says_so(api, login, head_login, places, monkeypatch):
    from chalicelib.services.search import index

    head = head_login(HEAD)
    for n in range(1, 4):
        add(api, head, places["ns"], n, f"陈志{'强明华'[n - 1]}")
    monkeypatch.setattr(index, "LIMIT", 2)  # 2,000 on a real district: one request of the index
    status, body = api.get("/api/ledger?category=express&q=陈志", token=login("nanshajie"))
    assert status == 200 and body["total"] == 2 and [i["name"] for i in body["items"]] == ["陈志华", "陈志明"]
    assert body["notice"] == "符合条件的人员超过2人，仅列出最新登记的2人，请输入更完整的姓名或手机号码"
    status, body = api.get("/api/staff?q=陈志", token=head)
    assert body["total"] == 2 and body["notice"].startswith("符合条件的人员超过2人")
    assert api.get("/api/staff?q=陈志强", token=head)[1]["notice"] is None


def test_the_index_holds_no_name_phone_or_id_number_in_the_clear(api, head_login, places):
    import boto3

    from chalicelib.rules import search
    from chalicelib.store.search import SearchEntry

    add(api, head_login(HEAD), places["ns"], 1, "陈志强")
    raw = boto3.client("dynamodb").scan(TableName=SearchEntry.Meta.table_name)["Items"]
    assert len(raw) == 7 + 1  # the person's 7 terms and the manifest
    stored = json.dumps(raw, ensure_ascii=False)
    assert not [ch for ch in "陈志强" if ch in stored]  # no character of the name, in any attribute
    digits = {t.split(":", 1)[1] for t in search.person_terms("陈志强", "13712340001", id_number(1)) if t[0] == "d"}
    words = set(re.split(r"[^0-9A-Za-z]+", stored))  # hashes, times and keys are words of their own
    assert len(digits) == 4 and not digits & words and id_number(1) not in words
    assert "南沙街" in stored and "express" in stored  # where it is kept, not who

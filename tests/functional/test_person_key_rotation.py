"""Rotating the person-key secret keeps every match (issue 13): the ring in Secrets Manager, the CLI's
start / finish, the re-key job through the real path (S3 mark → SQS → on_upload), lookups by ID number
meanwhile, and what heads, towns and feeds see before, during and after."""
from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.services.common import keyring
from chalicelib.services.operations import rotation
from chalicelib.store.compliance import ShortfallItem
from chalicelib.store.models import HealthRecord, PersonHealth, Staff
from chalicelib.store.operations import KeyRotation
from infra import person_key as cli
from tests.functional.importing import deliver
from tests.functional.test_compliance import HEAD, district, night_run, pid  # noqa: F401 - fixture
from tests.functional.test_feeds import NAT_HEADER, drop, feed, stamp

SECRET = "sentinel-local-person-key"


@pytest.fixture
def ring(aws, monkeypatch):
    """The stage's ring as a deployed stage has it ({"current": "1", "key1": …}), not APP_SECRET."""
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps({"current": "1", "key1": "k" * 64}))
    monkeypatch.setenv("PERSON_KEY_SECRET_ID", SECRET)
    monkeypatch.setenv("PERSON_KEY_SETTLE_SECONDS", "0")  # no function here still holds the old ring
    keyring.forget()
    yield SECRET
    keyring.forget()


def key(version: str, n: int) -> str:
    value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"])
    return keyring.parse({"current": version, f"key{version}": value[f"key{version}"]}).digests()([pid(n).encode()])[0]


def seen(api, login, head_login) -> dict:
    """What the system shows of everyone: the town's ledger rows with their health, the head's home."""
    rows = api.get("/api/ledger?category=express&page_size=100", token=login("nanshajie"))[1]["items"]
    home = api.get("/api/dashboard", token=head_login(HEAD))[1]
    return {"ledger": sorted((r["name"], r["enterprise_name"], json.dumps(r["health"], sort_keys=True)) for r in rows),
            "home": {b["key"]: b["count"] for b in home["buckets"]}, "total": home["total"]}


def test_a_rotation_moves_everyone_to_the_new_key_and_loses_no_match(api, aws, login, head_login, ring, district):
    # the fixture's district registered and matched under version 1; a stranger is pending under it
    drop("feeds/nat/stranger.csv", (NAT_HEADER + f"{pid(20)},路人,{stamp(5)},,阴性,南沙采样点\n").encode())
    feed(aws)
    assert night_run(aws, district).status == "done"
    before = seen(api, login, head_login)
    shortfalls = api.get("/api/dashboard/shortfalls", token=head_login(HEAD))[1]["items"]
    assert len(shortfalls) == 5 and before["home"]["h24"] >= 1

    run = cli.begin(ring)
    assert (run.status, run.pass_no, run.replacing) == ("running", 1, "1")
    assert keyring.ring().current == "2" and keyring.ring().replacing == "1"

    # while the job is queued: a search by ID number finds a person still under the replaced key, a feed
    # matches them, and the stranger registering now brings their earlier sample along
    town = login("nanshajie")
    found = api.get(f"/api/ledger?category=express&q={pid(0)}", token=town)[1]
    assert [r["name"] for r in found["items"]] == ["员工甲"]
    drop("feeds/nat/during.csv", (NAT_HEADER + f"{pid(1)},员工乙,{stamp(1)},,阴性,南沙采样点\n").encode())
    feed(aws)
    assert api.get("/api/feeds?kind=nat", token=login("admin"))[1]["items"][0]["matched"] == 1
    ns = {"id": next(s.enterprise_id for s in Staff.scan() if s.name == "员工乙")}  # 南沙速递
    status, body = api.post("/api/staff", token=head_login(HEAD), body={
        "enterprise_id": ns["id"], "name": "路人", "person_category": "一线人员", "phone": "13700000020",
        "id_number": pid(20), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})
    assert status == 201, body
    assert [r["site"] for r in api.get(f"/api/health/{body['id']}", token=head_login(HEAD))[1]["nat"]] == ["南沙采样点"]
    status, body = api.post("/api/staff", token=head_login(HEAD), body={  # 员工甲 again: still one record
        "enterprise_id": ns["id"], "name": "员工甲", "person_category": "一线人员", "phone": "13700000000",
        "id_number": pid(0), "residence_type": "自行租住", "address": "广州市南沙区进港大道1号"})
    assert status == 409, body

    assert deliver(aws, times=2) >= rotation.SEGMENTS  # every piece's mark delivered twice: run once
    deliver(aws)  # the rosters the job marked
    run = rotation.header("2")
    assert run.status == "done" and "finish" in run.message, run.message
    assert int(run.moved_total) == 8  # the fixture's 9 people but 员工甲, moved by the second registration; 路人 likewise

    staff = list(Staff.scan())
    assert staff and all(s.person_key == key("2", _n(s.id_number)) for s in staff)
    old_keys = {key("1", n) for n in range(21)}
    assert not [h for h in PersonHealth.scan() if h.person_key in old_keys]
    assert not [r for r in HealthRecord.scan() if r.person_key in old_keys]
    assert not [i for i in ShortfallItem.scan() if i.person_key in old_keys]

    after = seen(api, login, head_login)
    unchanged = lambda rows: [r for r in rows if r[0] not in ("路人", "员工乙")]  # noqa: E731
    assert unchanged(after["ledger"]) == unchanged(before["ledger"]) and after["total"] == before["total"] + 1
    newer = {r[0]: json.loads(r[2]) for r in after["ledger"]}
    assert newer["路人"]["last_result"] == "阴性" and newer["员工乙"]["last_sampled_at"] > json.loads(
        next(r[2] for r in before["ledger"] if r[0] == "员工乙"))["last_sampled_at"]
    for item in api.get("/api/dashboard/shortfalls", token=head_login(HEAD))[1]["items"]:  # the heads' links open
        assert api.get(f"/api/staff/{item['staff_id']}", token=head_login(HEAD))[0] == 200, item

    cli.finish(ring)
    assert keyring.ring().replacing is None and "key1" not in json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"])
    drop("feeds/nat/after.csv", (NAT_HEADER + f"{pid(2)},员工丙,{stamp(1)},,阴性,南沙采样点\n").encode())
    feed(aws)
    assert api.get("/api/feeds?kind=nat", token=login("admin"))[1]["items"][0]["matched"] == 1
    assert [r["name"] for r in api.get(f"/api/ledger?category=express&q={pid(0)}", token=town)[1]["items"]] == ["员工甲"]
    actions = [e["action"] for e in api.get("/api/audit", token=login("admin"))[1]["items"]]
    assert "开始人员密钥轮换" in actions and "完成人员密钥轮换" in actions


def _n(id_number: str) -> int:
    return next(n for n in range(21) if pid(n) == id_number)


def test_a_pass_hands_on_before_its_time_runs_out_and_a_late_write_is_caught_by_the_second_pass(
        api, aws, login, head_login, ring, district, monkeypatch):
    monkeypatch.setattr(rotation, "PAGE", 2)
    monkeypatch.setenv("ROTATION_PIECE_SECONDS", "0")  # every page of 2 records is a piece of its own
    monkeypatch.setenv("PERSON_KEY_FRESH_SECONDS", "0")  # pass 1 moves people 5 s after start
    monkeypatch.setenv("PERSON_KEY_SETTLE_SECONDS", "6")  # only a pass from a second later proves the end
    cli.begin(ring)
    for _ in range(300):  # each piece marks the next one (or, while it may not scan yet, itself again)
        if rotation.header("2").pass_no == 2:
            break
        deliver(aws)
    run = rotation.header("2")
    assert (run.status, run.pass_no, int(run.moved_total)) == ("running", 2, 9), run.message
    assert "第 2 轮核对将于" in run.message
    # what a function still holding the old ring (an import started before) writes between the passes
    late = HealthRecord(key("1", 5), "nat#late#-", kind="nat", feed_id="late", result="阴性", site="晚到点",
                        sampled_at=run.not_before)
    late.save()
    for _ in range(300):
        if rotation.header("2").status != "running":
            break
        deliver(aws)
    run = rotation.header("2")
    assert (run.status, run.pass_no, int(run.moved)) == ("done", 2, 1), run.message
    pieces = [p for p in KeyRotation.query(run.rotation) if p.part != "~"]
    assert {p.status for p in pieces} == {"done"} and max(int(p.piece) for p in pieces) >= 1
    # every record read in pass 1; a moved copy that lands ahead of the cursor is read again, harmlessly
    # (DynamoDB Local: 13 of 11; moto restarts a segment whose cursor item was deleted: more)
    assert sum(int(p.scanned) for p in pieces if int(p.pass_no) == 1) >= 11
    assert not list(HealthRecord.query(key("1", 5)))
    assert "晚到点" in {r.site for r in HealthRecord.query(key("2", 5))}


def test_finish_is_refused_until_the_job_is_done_and_a_failed_piece_fails_the_rotation_with_a_reason(
        api, aws, login, head_login, ring, district, monkeypatch):
    from chalicelib.config import settings
    from chalicelib.services.jobs.lifecycle import MAX_DELIVERIES

    cli.begin(ring)
    with pytest.raises(cli.Refused, match="完成前不能删除旧密钥"):
        cli.finish(ring)
    with pytest.raises(cli.Refused, match="进行中"):
        cli.begin(ring)  # a second start while it runs

    def broken(*args, **kwargs):
        raise RuntimeError("DynamoDB unavailable")

    bucket = settings().files_bucket
    marks = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=rotation.MARKS)["Contents"]]
    with monkeypatch.context() as broken_moves:
        broken_moves.setattr(rotation, "_move", broken)
        for delivery in range(1, MAX_DELIVERIES + 1):  # SQS hands the mark out again until the dead-letter queue
            with pytest.raises(RuntimeError):
                rotation.handle_object(bucket, marks[0], delivery=delivery)
    run = rotation.header("2")
    assert run.status == "failed" and "多次处理失败" in run.message and "start" in run.message
    with pytest.raises(cli.Refused, match="失败"):
        cli.finish(ring)

    run = cli.begin(ring)  # resumes, with a new pass over everything
    assert (run.status, run.pass_no) == ("running", 2)
    deliver(aws)  # pass 1's marks find the pass moved on; pass 2's do the work
    assert rotation.header("2").status == "done"
    assert all(s.person_key == key("2", _n(s.id_number)) for s in Staff.scan())
    assert "继续人员密钥轮换" in {e["action"] for e in api.get("/api/audit", token=login("admin"))[1]["items"]}


def test_a_copy_left_by_a_crash_is_finished_and_a_second_registration_is_counted_once(
        api, aws, login, head_login, ring, district):
    from chalicelib.services.common.counts import adjust_count
    from chalicelib.store.models import Enterprise

    cli.begin(ring)
    rows = {s.name: s for s in Staff.scan()}
    crashed, raced = rows["员工乙"], rows["员工己"]  # in 南沙速递 and in 黄阁快运
    counts = {e.enterprise_id: int(e.staff_count) for e in Enterprise.scan()}
    # a move that died between its copy and its delete
    values = dict(crashed.attribute_values) | {"person_key": key("2", _n(crashed.id_number)),
                                                "moved_from": crashed.person_key}
    Staff(**values).save()
    # a registration under the new key that raced the move (its own record, its own count)
    values = dict(raced.attribute_values) | {"person_key": key("2", _n(raced.id_number))}
    Staff(**values).save()
    adjust_count(raced.enterprise_id, +1)

    deliver(aws)
    assert rotation.header("2").status == "done"
    names = {e.enterprise_id: e.name for e in Enterprise.scan()}
    assert {names[e.enterprise_id]: int(e.staff_count) for e in Enterprise.scan()} == {names[k]: v for k, v in counts.items()}
    for person in (crashed, raced):
        held = [s.person_key for s in Staff.query(person.enterprise_id) if s.id_number == person.id_number]
        assert held == [key("2", _n(person.id_number))], held

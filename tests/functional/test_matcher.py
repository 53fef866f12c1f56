"""The overnight matcher (ARCHITECTURE.md flow 4): person-health agrees with the registry and the kept
records after every night, whatever a race or a failed write left behind."""
from __future__ import annotations

from datetime import time, timedelta

from chalicelib.rules.clock import now
from chalicelib.rules.feeds import kept_until
from chalicelib.services.health import matcher
from chalicelib.services.registry.staff import person_key
from chalicelib.store.models import HealthRecord, PersonHealth
from tests.functional.test_feeds import NAT_HEADER, drop, feed, people, stamp  # noqa: F401 - fixture
from tests.functional.test_staff import district, id_number  # noqa: F401 - fixture


def home(api, token) -> dict:
    return {b["key"]: b["count"] for b in api.get("/api/dashboard", token=token)[1]["buckets"]}


def test_a_registration_that_raced_a_feed_is_healed_overnight(api, aws, people):
    token, _ = people
    drop("feeds/nat/a.csv", (NAT_HEADER + f"{id_number(1)},甲,{stamp(3)},,阴性,A点\n").encode())
    feed(aws)
    assert home(api, token)["h24"] == 1
    # what a feed's batch put does to someone registered between its lookup and its write
    PersonHealth(person_key(id_number(1)), registered=False, pending=True, expires_at=now() + timedelta(days=14)).save()
    assert home(api, token)["h24"] == 0

    assert _counts(matcher.reconcile()) == {"rebuilt": 3, "released": 0, "failed": 0}
    assert home(api, token)["h24"] == 1
    state = PersonHealth.get(person_key(id_number(1)))
    assert state.registered and not state.pending and state.expires_at is None


def test_a_sample_whose_state_update_failed_is_picked_up(api, aws, people):
    token, _ = people
    key = person_key(id_number(2))
    sampled = now() - timedelta(hours=30)
    HealthRecord(key, f"nat#{sampled.isoformat()}#B点", kind="nat", sampled_at=sampled, result="阴性", site="B点",
                 feed_id="x", expires_at=sampled + timedelta(days=14)).save()  # the record landed, the state did not
    assert home(api, token)["h48"] == 0
    matcher.reconcile()
    assert home(api, token)["h48"] == 1


def test_people_no_enterprise_registers_any_more_are_released(api, aws, people):
    token, made = people
    book = f"{id_number(3)},丙,{stamp(2)},,阴性,C点\n"
    drop("feeds/nat/c.csv", (NAT_HEADER + book).encode())
    feed(aws)
    HealthRecord(person_key(id_number(3)), "vax#1", kind="vaccine", dose=1, vaccinated_on="2021-05-01", feed_id="x").save()
    api.post("/api/staff/batch-delete", token=token, body={"ids": [made[2]["id"]]})

    assert _counts(matcher.reconcile()) == {"rebuilt": 2, "released": 1, "failed": 0}
    state = PersonHealth.get(person_key(id_number(3)))
    assert not state.registered and state.pending and state.expires_at is not None
    assert all(r.expires_at is not None and r.expires_at <= kept_until(now())  # kept as a stranger's are
               for r in HealthRecord.query(person_key(id_number(3))))  # the dose, too, is no longer kept for good

    again = api.post("/api/staff", token=token, body={**_body(made[2]), "id_number": id_number(3)})
    assert again[0] == 201, again
    assert home(api, token)["h24"] == 1  # registering again finds what is left


def test_a_sample_applied_while_the_rebuild_ran_is_not_overwritten(api, aws, people):
    token, _ = people
    key = person_key(id_number(1))
    older = now() - timedelta(hours=30)
    HealthRecord(key, f"nat#{older.isoformat()}#A点", kind="nat", sampled_at=older, result="阴性", site="A点",
                 feed_id="x", expires_at=older + timedelta(days=14)).save()
    # a feed moved the state forward after the rebuild read the records (its record is not visible here)
    PersonHealth(key).update(actions=[PersonHealth.last_sampled_at.set(now() - timedelta(hours=1)),
                                      PersonHealth.last_result.set("阴性")])
    matcher.reconcile()
    assert home(api, token)["h24"] == 1 and home(api, token)["h48"] == 0


def test_one_person_failing_does_not_end_the_night(api, aws, people, monkeypatch):
    from chalicelib.services.health import state as health

    token, made = people
    rebuild, broken = health.rebuild, person_key(id_number(2))

    def flaky(key):
        if key == broken:
            raise RuntimeError("throttled")
        return rebuild(key)

    monkeypatch.setattr(health, "rebuild", flaky)
    api.post("/api/staff/batch-delete", token=token, body={"ids": [made[2]["id"]]})
    assert _counts(matcher.reconcile()) == {"rebuilt": 2, "released": 1, "failed": 1}
    assert not PersonHealth.get(person_key(id_number(3))).registered  # the release still ran


def test_the_app_runs_it_at_two_in_the_morning_shanghai_time():
    from datetime import datetime, timezone

    import app as application
    from local.scheduler import Scheduler

    scheduler = Scheduler(application.app).bind(application)
    # 02:00 on the 27th (the ops watch runs every half hour besides)
    assert scheduler.due(datetime(2026, 11, 26, 18, 0, tzinfo=timezone.utc)) == ["overnight_matcher", "ops_watch"]
    assert scheduler.due(datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)) == ["ops_watch"]


def _body(record: dict) -> dict:
    keys = ("enterprise_id", "name", "person_category", "phone", "residence_type", "address")
    return {k: record[k] for k in keys if k in record} | {"phone": "13712340003"}


def _counts(result: dict) -> dict:
    """The people counts of a night's run (the roster files are rebuilt by the compliance run's parts)."""
    return {k: result[k] for k in ("rebuilt", "released", "failed")}


def test_the_nights_segments_run_once_each_and_the_last_starts_the_compliance_run_once(api, aws, people,
                                                                                      monkeypatch):
    """Issue 24: the matcher in parts. The schedule only plans (EventBridge firing twice plans once); each
    segment is a queue message (delivered twice: run once); whoever ends the last segment starts the
    day's run, once."""
    import app as application
    from chalicelib.rules.clock import local_day
    from chalicelib.services.compliance import night
    from chalicelib.store.compliance import MatcherRun
    from tests.functional.importing import deliver
    from tests.functional.test_compliance import utc_event

    monkeypatch.setenv("MATCHER_SEGMENTS", "4")
    day = local_day(now())
    starts = []
    real = night.start
    monkeypatch.setattr(night, "start", lambda *a, **kw: starts.append(kw) or real(*a, **kw))
    for _ in range(2):
        application.overnight_matcher(utc_event(day, time(2, 0)), None)
    [header] = [r for r in MatcherRun.scan() if r.part == "run"]
    assert (header.segments, header.status, night.header(day.isoformat()).status) == (4, "running", "queued")
    deliver(aws, times=2)  # every segment's mark twice
    segments = [r for r in MatcherRun.query(header.run_id) if r.part != "run"]
    assert len(segments) == 4 and all((s.status, int(s.attempts)) == ("done", 1) for s in segments)
    assert sum(int(s.rebuilt) for s in segments) == 3  # the three registered people, each in one segment
    assert len(starts) == 1 and MatcherRun.get(header.run_id, "run").status == "done"
    while deliver(aws):
        pass
    assert night.header(day.isoformat()).status == "done"

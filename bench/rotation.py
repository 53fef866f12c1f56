"""What a person-key rotation costs (issue 13), for docs/deploy.md and docs/performance.md:

    rotation_costs_per_person   in-process moto, 1,000 registered staff with one kept record each: the
                                re-key job's request items per person moved (`bench.costs._units`)
    rotation_2k_embedded,       the embedded stack (DynamoDB Local, one local worker): 2,000 or 15,000
    rotation_15k_embedded       staff with a sample each, `infra.person_key start` until the job is done
    nat_parse_match_1m_rotating the 1,000,000-row NAT parse and match, steady ring against a ring in
                                rotation (two keys per row), alternated in one process: the ratio
"""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta

from bench.run import MEASUREMENTS, _enterprise, _id_number, _seed_staff, embedded_stack, nat_csv

SECRET = "sentinel-local-person-key"
RING = {"current": "1", "key1": "bench-person-key-version-1-" + "0" * 40}


def _ring_secret() -> None:
    import boto3

    from chalicelib.services.common import keyring

    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps(RING))
    keyring.forget()


def _district(count: int, per_enterprise: int = 100):
    """`count` registered staff in enterprises of `per_enterprise`, each with one NAT record and state."""
    from chalicelib.rules.clock import now
    from chalicelib.services.health import state as health
    from chalicelib.services.registry import staff
    from chalicelib.services.search import index as search_index
    from chalicelib.store.models import HealthRecord

    enterprises = [_enterprise(f"轮换企业{i}", town=("南沙街", "黄阁镇")[i % 2]) for i in range(count // per_enterprise)]
    seconds = _seed_staff(lambda n: enterprises[n // per_enterprise], count)
    search_index.backfill()  # searchable by name and phone, as every registration leaves them (issue 24)
    keys = [staff.person_key(_id_number(n)) for n in range(count)]
    health.register(keys)
    sampled = now() - timedelta(hours=5)
    with HealthRecord.batch_write() as batch:
        for key in keys:
            batch.save(HealthRecord(key, f"nat#{sampled.isoformat()}#-", kind="nat", feed_id="bench", result="阴性",
                                    site="南沙采样点", sampled_at=sampled, expires_at=sampled + timedelta(days=14)))
    return keys, seconds


def rotation_costs_per_person() -> dict:
    from moto import mock_aws

    from bench.costs import _units
    from infra import person_key as cli
    from infra.provision import provision
    from tests.functional.importing import deliver

    from chalicelib.integrations import storage
    from local.stack import stage_environment

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ.update(stage_environment("local"))
    os.environ.update({"PERSON_KEY_SECRET_ID": SECRET, "PERSON_KEY_SETTLE_SECONDS": "0", "IMPORT_WRITERS": "1"})
    with mock_aws():
        storage.reset_client()
        resources = provision("local")
        os.environ["FILES_BUCKET"] = resources.buckets["FilesBucket"]
        _ring_secret()
        _district(1_000)
        with _units() as counts:
            cli.begin(SECRET)
            while deliver(resources):
                pass
        from chalicelib.services.operations import rotation

        run = rotation.header("2")
        moved = int(run.moved_total)
        assert run.status == "done" and moved == 1_000, (run.status, run.message)
        # billed units as bench/costs.py counts them since issue 23 (write units include each index's entry)
        per = {k: round(v / moved, 2) for k, v in counts.items() if k in ("wru", "rru", "scan_rru", "keys_requested")}
        return {"people": 1_000, "moved": moved, "per_person_moved": per,
                "requests_per_person": round(counts.get("dynamodb_requests", 0) / moved, 1),
                "does": "1,000 staff in 10 enterprises, each with its state and one kept record; every piece "
                        "of the job through the import queue"}


def _rotation_embedded(staff: int) -> dict:
    import boto3

    from chalicelib.config import settings
    from chalicelib.services.operations import rotation
    from infra import person_key as cli

    os.environ.update({"PERSON_KEY_SECRET_ID": SECRET, "PERSON_KEY_SETTLE_SECONDS": "0"})
    with embedded_stack():
        _ring_secret()
        keys, seeded = _district(staff, per_enterprise=100)
        started = time.perf_counter()
        cli.begin(SECRET)
        while (run := rotation.header("2")).status == "running":
            time.sleep(0.5)
        seconds = round(time.perf_counter() - started, 1)
        assert run.status == "done", run.message
        left = boto3.client("dynamodb").scan(TableName=settings().table_prefix + "person-health", Select="COUNT",
                                             ScanFilter={"person_key": {"AttributeValueList": [{"S": keys[0]}],
                                                                        "ComparisonOperator": "EQ"}})["Count"]
        return {"staff": staff, "moved": int(run.moved_total), "seconds": seconds,
                "people_per_second": round(int(run.moved_total) / seconds), "old_key_left": left,
                "segments": int(run.segments), "seed_seconds": seeded,
                "does": "start → 8 segment pieces through S3 → SQS → the local worker → every person's staff "
                        "record, state and kept record moved → done"}


def rotation_2k_embedded() -> dict:
    return _rotation_embedded(2_000)


def rotation_15k_embedded() -> dict:
    return _rotation_embedded(15_000)


def nat_parse_match_1m_rotating() -> dict:
    os.environ.setdefault("STAGE", "local")
    from chalicelib.rules.clock import now
    from chalicelib.services.common import keyring
    from chalicelib.services.feeds import ingest as feeds
    from chalicelib.services.feeds.reader import csv_blocks
    from bench.run import _registered_ids

    steady = keyring.parse(RING)
    rotating = keyring.parse({"current": "2", "key2": "bench-person-key-version-2-" + "0" * 40, "replacing": "1",
                              "key1": RING["key1"]})
    person_key = steady.digests()
    registered = set(person_key([i.encode() for i in _registered_ids()]))  # everyone under the replaced key
    path = nat_csv()
    times = {"steady": [], "rotating": []}
    matched = {}
    for _ in range(2):
        for name, ring in (("steady", steady), ("rotating", rotating)):
            keyring.ring = lambda ring=ring: ring  # this process only: the ring the parse sees
            started = time.perf_counter()
            with open(path, "rb") as stream:
                report = feeds.ingest("nat", "bench", csv_blocks(stream, *feeds.KINDS["nat"]), now(),
                                      registered=registered.intersection, write=False)
            times[name].append(round(time.perf_counter() - started, 2))
            matched[name] = report.matched
    assert matched["steady"] == matched["rotating"], matched  # the replaced key still matches everyone
    best = {name: min(values) for name, values in times.items()}
    return {"rows": 1_000_000, "matched": matched, "seconds": times,
            "rotating_vs_steady": round(best["rotating"] / best["steady"], 2),
            "does": "the same file, matched against 100,000 people registered under the replaced key: with a "
                    "steady ring (one key per row) and during a rotation (both keys per row, the registered "
                    "one chosen), best of two each, alternated"}


MEASUREMENTS.update({f.__name__: f for f in (rotation_costs_per_person, rotation_2k_embedded, rotation_15k_embedded,
                                             nat_parse_match_1m_rotating)})

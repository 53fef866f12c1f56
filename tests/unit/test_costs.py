"""The cost model bills what DynamoDB bills (bench/costs.py; issue 23: it counted the items BatchGetItem
returned, though every key asked for is billed; a roster rebuild follows every matched feed file, not "5 a
day"; retries and log storage were not costed)."""
from __future__ import annotations

from bench import costs

S = lambda text: {"S": text}  # noqa: E731
PAGE = {"mean_page": {"rru": 40.0, "wru": 0.5, "s3_get": 0.2}}


def _per_op(feed_rru=0.5, rebuild_rru=0.5) -> dict:
    zero = dict.fromkeys(costs.KEYS, 0.0)
    return {"feed_per_row": {**zero, "rru": feed_rru, "wru": 2.0}, "roster_rebuild_per_person": {**zero, "rru": rebuild_rru},
            "matcher_per_person": {**zero, "rru": 1.0, "wru": 1.0, "scan_rru": 0.1},
            "night_per_person": {**zero, "rru": 0.05, "wru": 0.05}, "feed_redelivered_per_file": {**zero, "rru": 1.0},
            "raw": {"rebuild": {"s3_put": 1, "s3_get": 1}}}


def test_batch_get_item_is_billed_per_key_requested_not_per_item_returned():
    keys = [{"person_key": S(f"p{n}")} for n in range(100)]
    found = [{"person_key": S(f"p{n}"), "recent": {"SS": ["2026-12-01T10:00"]}} for n in range(10)]
    eventual = costs.billed("dynamodb", "BatchGetItem", {"RequestItems": {"sentinel-prod-person-health": {"Keys": keys}}},
                            {"Responses": {"sentinel-prod-person-health": found}})
    assert eventual["rru"] == 50.0  # 100 keys × 0.5, though 10 items came back (the old model said 5)
    assert (eventual["keys_requested"], eventual["items_returned"]) == (100, 10)
    strong = costs.billed("dynamodb", "BatchGetItem", {"RequestItems": {"sentinel-prod-person-health": {
        "Keys": keys, "ConsistentRead": True}}}, {"Responses": {"sentinel-prod-person-health": found}})
    assert strong["rru"] == 100.0
    unprocessed = costs.billed("dynamodb", "BatchGetItem", {"RequestItems": {"t": {"Keys": keys}}}, {
        "Responses": {"t": found}, "UnprocessedKeys": {"t": {"Keys": keys[:20]}}})
    assert unprocessed["rru"] == 40.0  # handed back unread: billed when asked again, as its own call
    large = costs.billed("dynamodb", "BatchGetItem", {"RequestItems": {"t": {"Keys": keys[:1]}}},
                         {"Responses": {"t": [{"person_key": S("p0"), "blob": S("x" * 9000)}]}})
    assert large["rru"] == 1.5  # 9 KB: three 4 KB blocks, eventually consistent


def test_a_missing_item_still_costs_a_read_and_a_query_is_billed_by_the_bytes_it_read():
    assert costs.billed("dynamodb", "GetItem", {"TableName": "t", "Key": {}}, {})["rru"] == 0.5
    assert costs.billed("dynamodb", "GetItem", {"TableName": "t", "Key": {}, "ConsistentRead": True}, {})["rru"] == 1.0
    fourteen = [{"scope": S("express#南沙街"), "created_at": S("2026-12-01T00:00:00"), "staff_id": S(f"s{n}")}
                for n in range(14)]
    query = costs.billed("dynamodb", "Query", {"TableName": "t", "IndexName": "by-scope"},
                         {"Items": fourteen, "Count": 14, "ScannedCount": 14})
    assert query["rru"] == 0.5  # 14 keys-only items in one 4 KB block, not 14 reads
    assert costs.billed("dynamodb", "Query", {"TableName": "t"}, {"Items": [], "Count": 0, "ScannedCount": 0})["rru"] == 0.5
    filtered = costs.billed("dynamodb", "Query", {"TableName": "t"}, {"Items": [{"k": S("x" * 2000)}], "Count": 1,
                                                                    "ScannedCount": 10})
    assert filtered["rru"] == 2.5  # 10 × 2 KB read, 1 returned


def test_writes_are_billed_per_kilobyte_with_an_index_entry_per_index_the_item_is_in():
    known = costs.indexes()
    assert {i.name for i in known["staff"]} == {"by-person", "by-scope", "by-reach", "by-enterprise"}
    staff = {"staff_id": S("s1"), "person_key": S("k"), "scope": S("express#南沙街"), "created_at": S("2026"),
             "enterprise_id": S("e1"), "address": S("x" * 2500)}
    put = costs.billed("dynamodb", "PutItem", {"TableName": "sentinel-prod-staff", "Item": staff}, {}, known)
    assert put["wru"] == 3 + 3  # 2.6 KB: three units, and one entry in each of the three indexes it has keys for (not by-reach)
    record = costs.billed("dynamodb", "PutItem", {"TableName": "sentinel-prod-health-records", "Item": {"k": S("x")}},
                          {}, known)
    assert record["wru"] == 1  # no index
    update = costs.billed("dynamodb", "UpdateItem", {"TableName": "sentinel-prod-staff", "Key": {},
                                                     "UpdateExpression": "SET #a = :a",
                                                     "ExpressionAttributeNames": {"#a": "address"}}, {}, known)
    assert update["wru"] == 1 + 1  # by-scope projects ALL: its copy changes too
    batch = costs.billed("dynamodb", "BatchWriteItem", {"RequestItems": {"sentinel-prod-health-records": [
        {"PutRequest": {"Item": {"k": S(str(n))}}} for n in range(25)]}},
        {"UnprocessedItems": {"sentinel-prod-health-records": [{}] * 5}}, known)
    assert batch["wru"] == 20  # the 5 handed back are billed when sent again
    transaction = costs.billed("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t", "Item": {"k": S("x")}}}, {"ConditionCheck": {"TableName": "t", "Key": {}}}]}, {}, known)
    assert transaction["wru"] == 4  # twice each item
    assert costs.billed("s3", "PutObject", {}, {})["s3_put"] == 1 and costs.billed("s3", "HeadObject", {}, {})["s3_get"] == 1
    assert not costs.billed("s3", "DeleteObject", {}, {})["s3_put"]


def _dollars(rows, item_prefix: str) -> float:
    (found,) = [d for item, _, d in rows if item.startswith(item_prefix)]
    return found


def test_a_roster_rebuild_follows_every_matched_feed_file_and_each_registry_write():
    base = costs.Scale("x", staff=100_000, nat_rows_per_day=1_000_000, matched_files_per_day=1,
                       registry_writes_per_day=0, partitions=100, api_requests_per_day=1000, storage_gb=1, s3_gb=1)
    per_file = 100_000 * 0.5 * 30 * 0.125e-6  # every person's health key asked for, each day, for a month
    assert _dollars(costs.monthly(base, _per_op(), PAGE), "roster rebuilds") == round(per_file, 2)
    many = base.__class__(**{**base.__dict__, "matched_files_per_day": 25})
    assert _dollars(costs.monthly(many, _per_op(), PAGE), "roster rebuilds") == round(25 * per_file, 2)
    edits = base.__class__(**{**base.__dict__, "registry_writes_per_day": 100})  # each rebuilds one of 100 partitions
    assert _dollars(costs.monthly(edits, _per_op(), PAGE), "roster rebuilds") == round(2 * per_file, 2)


def test_the_model_counts_keys_requested_retries_and_log_storage_for_the_district_and_a_city():
    for scale in (costs.DISTRICT, costs.CITY):
        rows = costs.monthly(scale, _per_op(), PAGE)
        items = [item for item, _, _ in rows]
        assert any(i.startswith("retries") for i in items) and any(i.startswith("CloudWatch Logs") for i in items)
        assert _dollars(rows, "retries") > 0 and _dollars(rows, "CloudWatch Logs") > 0
        feed = _dollars(rows, "feed: DynamoDB")
        # every row's person key is asked for (0.5 a row), whether or not the person is registered
        assert feed == round(scale.nat_rows_per_day * 30 * (2.0 * 0.625e-6 + 0.5 * 0.125e-6), 2)
    assert costs.CITY.matched_files_per_day > 5 and costs.DISTRICT.matched_files_per_day >= 5
    table = costs.table(costs.CITY, _per_op(), PAGE)
    assert "**total**" in table and "FixedEgress" in table

"""Each enterprise's and staff record's `reach` — the district#category partition of the by-reach
indexes (rules/geography.py) — for records written before the attribute existed, or whose town's
district changed in districts.json:

    backfill(segment, segments) → counts    one Scan segment of each table, keys and placement only;
                                            an UpdateItem only where `reach` differs from what the town
                                            and category say, conditional on them being unchanged

Idempotent: run again it writes nothing. The local stack runs it when it starts on a store kept from
before; on AWS `python -m infra.reach backfill --stage <stage>` (docs/deploy.md). A record without
`reach` is simply missing from a district official's unsearched list until it runs: nothing is lost,
and searches, statistics and the night do not read the attribute.
"""
from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.rules import geography
from chalicelib.store.models import Enterprise, Staff
from chalicelib.store.values import condition_failed

PLACEMENT = ["town", "category", "reach"]


def backfill(segment: int = 0, segments: int = 1) -> dict:
    counts = {"enterprises_read": 0, "enterprises_set": 0, "staff_read": 0, "staff_set": 0}
    for model, noun, keys in ((Enterprise, "enterprises", ["enterprise_id"]),
                              (Staff, "staff", ["enterprise_id", "person_key"])):
        for item in model.scan(segment=segment, total_segments=segments, attributes_to_get=keys + PLACEMENT):
            counts[f"{noun}_read"] += 1
            if _settle(model, item):
                counts[f"{noun}_set"] += 1
    return counts



def _settle(model, item) -> bool:
    wanted = geography.reach_of(item.town, item.category)
    if item.reach == wanted:
        return False
    keys = (item.enterprise_id, getattr(item, "person_key", None))
    try:  # the record may have moved since the Scan read it: its own write set reach then. The table's
        # connection, not item.update: an enterprise's version is not raised (an open edit stays valid)
        model._get_connection().update_item(
            keys[0], range_key=keys[1], actions=[model.reach.set(wanted)],
            condition=(model.town == item.town) & (model.category == item.category))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        return False
    return True

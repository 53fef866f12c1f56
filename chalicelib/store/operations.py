"""The table of 运维's long-running maintenance: a person-key rotation (services/operations/rotation.py).

One item per rotation ("~" header: which version replaces which, the pass, its counts, the state 运维
reads) and one per piece of a pass (a segment of the staff table from a cursor), each moved through the
shared job life cycle. Kept without expiry: a rotation is rare and its record is the proof it ran."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.store.base import LazyTableName

HEADER = "~"


class KeyRotation(Model):
    class Meta(metaclass=LazyTableName):
        base_name = "key-rotations"
        billing_mode = "PAY_PER_REQUEST"

    rotation = UnicodeAttribute(hash_key=True)  # "person#<new version>"
    part = UnicodeAttribute(range_key=True)  # HEADER, or "<pass>#<segment>#<piece>" (zero-padded)
    status = UnicodeAttribute(default="queued")  # queued → running → done | failed (services/jobs/lifecycle.py)
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    replacing = UnicodeAttribute(null=True)  # header: the version being replaced
    pass_no = NumberAttribute(default=1)  # header: the pass running; part: its pass
    segments = NumberAttribute(default=0)  # header: parallel segments of each pass
    segments_done = NumberAttribute(default=0)  # header: segments of this pass that reached the end
    not_before = UTCDateTimeAttribute(null=True)  # header: the pass may not scan before (functions still
    #                                                 hashing with the replaced key have ended by then)
    settle_until = UTCDateTimeAttribute(null=True)  # header: only a pass from then on can prove nothing is left
    scanned = NumberAttribute(default=0)  # staff records read: header (this pass) or part
    moved = NumberAttribute(default=0)  # people moved: header (this pass) or part
    moved_total = NumberAttribute(default=0)  # header: every pass
    segment = NumberAttribute(default=0)  # part
    piece = NumberAttribute(default=0)  # part: a segment goes on in a new piece when its function's time runs low
    cursor = UnicodeAttribute(null=True)  # part: the scan's exclusive start key (JSON)
    started_at = UTCDateTimeAttribute(null=True)
    started_by = UnicodeAttribute(null=True)
    retired_at = UTCDateTimeAttribute(null=True)  # header: `finish` dropped the replaced key from the secret

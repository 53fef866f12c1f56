"""Enterprise.staff_count (员工人数 in the lists), kept by every write that adds or removes a staff
record: registration, import, edit, delete, and a person-key rotation merging two records of one person."""
from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.store.models import Enterprise


def adjust_count(enterprise_id: str, delta: int) -> None:
    """Keep Enterprise.staff_count without touching its version (an edit of the enterprise must not
    collide with a head adding staff)."""
    try:
        Enterprise._get_connection().update_item(
            enterprise_id, actions=[Enterprise.staff_count.add(delta)],
            condition=Enterprise.enterprise_id.exists())
    except UpdateError:
        pass  # the enterprise was deleted meanwhile

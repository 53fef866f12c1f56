"""Small facts about what pynamodb hands back, shared by every service."""
from __future__ import annotations


def plain(value) -> dict:
    """A MapAttribute (raw maps read back as one) or a dict, as a plain dict for the API."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return dict(value or {})


def condition_failed(exc) -> bool:
    """A PutError / UpdateError / DeleteError caused by the write's condition (not by the service)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def scope_key(category: str, town: str) -> str:
    """The ledger partition of a staff record (the by-scope index): one category in one town."""
    return f"{category}#{town}"

"""Mainland mobile numbers (DOMAIN.md "Phones")."""
from __future__ import annotations

import re

from chalicelib.rules.text import fold

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_NOISE = re.compile(r"[\s\-()]")


def normalize_mobile(value: object) -> str | None:
    """The 11-digit number, or None when the value is not a mainland mobile number."""
    text = _NOISE.sub("", fold(value))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    return text if _MOBILE.match(text) else None

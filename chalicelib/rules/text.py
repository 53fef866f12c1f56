"""Normalizing what people type: full-width folding, stray spaces, and the keys names are compared by."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(value: object) -> str:
    """Full-width → half-width (NFKC) and trimmed; None becomes ''."""
    if value is None:
        return ""
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())  # str.split() splits on every Unicode space, as \s+ does


def clean(value: object) -> str:
    """Trimmed, runs of white space (full-width too) as one space; otherwise exactly as typed, so
    full-width Chinese punctuation such as （） stays as people write it."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def name_key(value: object) -> str:
    """The key two names are the same by: folded, without inner spaces, case-insensitive."""
    return _SPACES.sub("", fold(value)).casefold()

"""Normalizing what people type: full-width folding, stray spaces, invisible characters, and the keys
names are compared by. Every text field passes here before it is validated, compared or stored."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_TEXT = (list, tuple, dict, set, frozenset, bool)


class TextError(ValueError):
    """A value that is not text, or text no one can have typed (a lone surrogate)."""


def _scrub(value: object) -> str:
    """The value as text without invisible characters: format characters (zero-width space and joiners,
    word joiner, BOM, soft hyphen, direction overrides) and control characters other than white space
    (NUL …) would make two names that look the same compare different."""
    if isinstance(value, _NOT_TEXT):
        raise TextError("须为文字")
    text = str(value)
    if text.isascii() and text.isprintable():
        return text
    kept = []
    for char in text:
        kind = unicodedata.category(char)
        if kind == "Cs":
            raise TextError("含有无法识别的字符")
        if kind == "Cf" or (kind == "Cc" and not char.isspace()):
            continue
        kept.append(char)
    return "".join(kept)


def fold(value: object) -> str:
    """Full-width → half-width (NFKC), invisible characters removed, trimmed; None becomes ''."""
    if value is None:
        return ""
    text = _scrub(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())  # str.split() splits on every Unicode space, as \s+ does


def clean(value: object) -> str:
    """Trimmed, runs of white space (full-width too) as one space; otherwise exactly as typed, so
    full-width Chinese punctuation such as （） stays as people write it."""
    if value is None:
        return ""
    return " ".join(_scrub(value).split())


def name_key(value: object) -> str:
    """The key two names are the same by: folded, without inner spaces, case-insensitive."""
    return _SPACES.sub("", fold(value)).casefold()

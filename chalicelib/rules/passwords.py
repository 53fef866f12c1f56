"""Password policy for staff accounts (the hashing itself lives in services.security)."""
from __future__ import annotations

import re


def password_problem(password: str) -> str | None:
    """A Chinese sentence saying what is wrong with the password, or None when it is acceptable."""
    if len(password) < 8:
        return "密码至少 8 位"
    if len(password) > 128:
        return "密码不能超过 128 位"
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return "密码须同时包含字母和数字"
    return None

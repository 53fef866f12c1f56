"""Turning pydantic's findings into the Chinese, per-field messages every form and import shows."""
from __future__ import annotations

from typing import Iterable

from pydantic import ValidationError as PydanticValidationError

from chalicelib.errors import ValidationError
from chalicelib.rules.catalog import ExtraField


def collect(exc: PydanticValidationError, problems: dict[str, str]) -> None:
    """Add one message per field (the first pydantic found) to problems."""
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "_"
        problems.setdefault(field, chinese(error))


def check_extra(extra: dict[str, str], specs: Iterable[ExtraField], problems: dict[str, str]) -> dict[str, str]:
    """Keep only the category's own extra fields, check them, and return what is kept."""
    known = {f.key: f for f in specs}
    kept = {k: v for k, v in extra.items() if k in known and v}
    for key, spec in known.items():
        value = kept.get(key, "")
        if spec.required and not value:
            problems[f"extra.{key}"] = "不能为空"
        elif len(value) > 100:
            problems[f"extra.{key}"] = "不能超过100个字"
    return kept


def raise_if_any(problems: dict[str, str], labels) -> None:
    """labels: a dict, or a function returning one (only called when there is something to say)."""
    if problems:
        labels = labels() if callable(labels) else labels
        summary = "；".join(f"{labels.get(f, f)}：{m}" for f, m in problems.items())
        raise ValidationError(summary, fields=problems)


def chinese(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "不能为空"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_too_long":
        return f"不能超过{error['ctx']['max_length']}个字"
    return "数据格式不正确"

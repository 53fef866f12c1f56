"""The seed's column names, kept in one place. Field keys are English; what users read is Chinese."""
from __future__ import annotations

from chalicelib.rules.catalog import CATEGORIES

ENTERPRISE_FIELDS: dict[str, str] = {
    "category": "主体类型",
    "name": "主体名称",
    "town": "所属镇街",
    "grid": "所属网格",
    "head_name": "负责人姓名",
    "head_phone": "负责人电话",
    "address": "主体地址",
}


def enterprise_extra_fields() -> dict[str, str]:
    """Every category-specific enterprise field, key → label (e.g. project_name → 项目名称)."""
    fields: dict[str, str] = {}
    for category in CATEGORIES:
        for extra in category.enterprise_fields:
            fields.setdefault(extra.key, extra.label)
    return fields


def enterprise_labels() -> dict[str, str]:
    return {**ENTERPRISE_FIELDS, **{f"extra.{k}": v for k, v in enterprise_extra_fields().items()}}


# Header variants seen in government spreadsheets (the seed itself says 企业/主体 and 责任人/负责人).
ENTERPRISE_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "category": ("主体类型", "企业类型", "类型", "哨点类型"),
    "name": ("主体名称", "企业名称", "单位名称", "名称"),
    "town": ("所属镇街", "镇街", "所属镇（街）", "所属镇(街)"),
    "grid": ("所属网格", "网格"),
    "head_name": ("负责人姓名", "责任人姓名", "负责人", "责任人"),
    "head_phone": ("负责人电话", "责任人电话", "负责人手机", "负责人手机号码", "联系电话"),
    "address": ("主体地址", "企业地址", "地址", "经营地址"),
}

FAILURE_COLUMN = "异常信息"
ROW_COLUMN = "原表行号"  # where the refused row was in the uploaded file

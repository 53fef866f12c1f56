"""What a valid staff record is (§2.2): one definition shared by the form and the workbook import.

`parse_staff` gets the raw values (form JSON or workbook cells) and returns a StaffIn or a
ValidationError whose `fields` holds a Chinese reason per bad field — all, not the first.
Cells arrive raw (a float for a number cell), so the ID check can tell "stored as a number" apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from chalicelib.errors import ValidationError
from chalicelib.rules import catalog
from chalicelib.rules.idnumber import normalize_id
from chalicelib.rules.phone import normalize_mobile
from chalicelib.rules.text import TextError, clean, fold
from chalicelib.services.common import form_errors

STAFF_FIELDS: dict[str, str] = {
    "enterprise_id": "主体名称",
    "name": "姓名",
    "person_category": "人员类别",
    "phone": "手机号码",
    "id_number": "身份证号码",
    "residence_type": "居住类型",
    "address": "居住地址",
}
_LIMITS = {"name": 50, "address": 200}


@dataclass(slots=True)
class StaffIn:
    """A checked staff record, built only by `parse_staff`. A slotted dataclass, not a pydantic model:
    it is made once per workbook row, and constructing a pydantic model costs ~10x more (bench/)."""

    enterprise_id: str
    name: str
    person_category: str
    phone: str
    id_number: str
    residence_type: str = ""
    address: str = ""
    extra: dict[str, str] = field(default_factory=dict)


_PERSON_CATEGORIES = frozenset(catalog.PERSON_CATEGORIES)
_RESIDENCE_TYPES = frozenset(catalog.RESIDENCE_TYPES)


def parse_staff(data: Any, *, category: str | None, problems: dict[str, str] | None = None) -> StaffIn:
    """A valid StaffIn, or ValidationError listing every bad field. `category` is the enterprise's (for
    its extra fields); `problems` may carry reasons found before (e.g. an unknown 企业名称).

    Plain checks rather than pydantic validators: an import runs this for every row of a 100,000-row
    workbook, and Python callbacks inside pydantic cost several times more than the checks themselves.
    """
    if not isinstance(data, dict):
        raise ValidationError("请求内容格式不正确")
    problems = dict(problems or {})
    get = data.get

    def text(name: str, *, required: bool, limit: int = 0) -> str:
        try:
            value = _text(get(name))
        except TextError as exc:  # a list or an object where text belongs
            problems.setdefault(name, str(exc))
            return ""
        if required and not value:
            problems.setdefault(name, "不能为空")
        elif limit and len(value) > limit:
            problems.setdefault(name, f"不能超过{limit}个字")
        return value

    enterprise_id = text("enterprise_id", required=True)
    name = text("name", required=True, limit=_LIMITS["name"])
    if name and "name" not in problems and any(ch.isdigit() for ch in name):
        problems["name"] = "姓名不能包含数字"
    person_category = fold(text("person_category", required=True))
    if person_category and person_category not in _PERSON_CATEGORIES:
        problems.setdefault("person_category", "不在可选范围内（" + "、".join(catalog.PERSON_CATEGORIES) + "）")
    residence_type = fold(text("residence_type", required=False))
    if residence_type and residence_type not in _RESIDENCE_TYPES:
        problems.setdefault("residence_type", "不在可选范围内（" + "、".join(catalog.RESIDENCE_TYPES) + "）")
    address = text("address", required=True, limit=_LIMITS["address"])
    phone = _phone(_typed(get("phone"), "phone", problems), problems)
    id_number = _id_number(_typed(get("id_number"), "id_number", problems), problems)
    extra = get("extra") or {}
    if not isinstance(extra, dict):
        problems["extra"] = "数据格式不正确"
        extra = {}
    found = catalog.category(category or "")
    kept = form_errors.check_extra({str(k): clean(v) for k, v in extra.items()},
                                   found.staff_fields if found else (), problems)
    form_errors.raise_if_any(problems, staff_labels)
    return StaffIn(enterprise_id=enterprise_id, name=name, person_category=person_category,
                   phone=phone, id_number=id_number, residence_type=residence_type, address=address, extra=kept)


def missing_enterprise(names: Sequence[str], *, label: str = "企业名称") -> str:
    """Why a blank 企业名称 (workbook) or 主体名称 (form) is refused, naming what the head could mean.
    It may be blank only when the head manages exactly one enterprise."""
    if not names:
        return "您名下暂无企业，请联系所属委办局或镇街登记企业信息"
    shown = "、".join(names[:5]) + (f"等{len(names)}家" if len(names) > 5 else "")
    verb = "填写" if label == "企业名称" else "选择"
    return f"您管理多家企业，请{verb}{label}（{shown}）"


def _typed(value: Any, name: str, problems: dict[str, str]) -> Any:
    """A list or an object where a phone or an ID number belongs is named, not turned into text."""
    if isinstance(value, (list, dict, bool)):
        problems.setdefault(name, "须为文字")
        return None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean(value)


def _phone(value: Any, problems: dict[str, str]) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an 11-digit phone survives a number cell
    if value is None or clean(value) == "":
        problems.setdefault("phone", "不能为空")
        return ""
    mobile = normalize_mobile(value)
    if mobile is None:
        problems.setdefault("phone", "数据格式不正确（应为11位手机号码）")
        return ""
    return mobile


def _id_number(value: Any, problems: dict[str, str]) -> str:
    if value is None or (isinstance(value, str) and clean(value) == ""):
        problems.setdefault("id_number", "不能为空")
        return ""
    checked = normalize_id(value)
    if not checked.ok:
        problems.setdefault("id_number", checked.error)
        return ""
    return checked.number


def staff_extra_fields() -> dict[str, str]:
    fields: dict[str, str] = {}
    for category in catalog.CATEGORIES:
        for extra in category.staff_fields:
            fields.setdefault(extra.key, extra.label)
    return fields


def staff_labels() -> dict[str, str]:
    return {**STAFF_FIELDS, **{f"extra.{k}": v for k, v in staff_extra_fields().items()}}

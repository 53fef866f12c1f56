"""What a valid enterprise is: one definition shared by the form and the workbook import."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError as PydanticValidationError, field_validator

from chalicelib.errors import ValidationError
from chalicelib.rules import catalog, geography
from chalicelib.rules.phone import normalize_mobile
from chalicelib.rules.text import clean, fold
from chalicelib.services.common import form_errors
from chalicelib.workbooks.columns import enterprise_labels

_LIMITS = {"name": 100, "address": 200, "head_name": 30, "grid": 50}


class EnterpriseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    category: str
    name: str = Field(max_length=_LIMITS["name"])
    town: str
    grid: str = Field(default="", max_length=_LIMITS["grid"])
    head_name: str = Field(max_length=_LIMITS["head_name"])
    head_phone: str
    address: str = Field(max_length=_LIMITS["address"])
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("category", "name", "town", "grid", "head_name", "head_phone", "address", mode="before")
    @classmethod
    def _fold(cls, value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a phone typed into a number cell
        return clean(value)

    @field_validator("category", "name", "town", "head_name", "head_phone", "address")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value:
            raise ValueError("不能为空")
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        found = catalog.category(value) or catalog.category_by_name(fold(value))
        if found is None:
            raise ValueError("不是系统中的主体类型")
        return found.code

    @field_validator("town")
    @classmethod
    def _known_town(cls, value: str) -> str:
        if not geography.is_town(fold(value)):
            raise ValueError(f"不是{'、'.join(geography.districts())}的镇街")
        return fold(value)

    @field_validator("head_phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        mobile = normalize_mobile(value)
        if mobile is None:
            raise ValueError("请输入正确的11位手机号码")
        return mobile

    @field_validator("extra", mode="before")
    @classmethod
    def _fold_extra(cls, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("数据格式不正确")
        return {str(k): clean(v) for k, v in value.items()}


def parse_enterprise(data: Any) -> EnterpriseIn:
    """A valid EnterpriseIn, or ValidationError whose `fields` has a Chinese message per bad field
    (keys as in the request; category-specific ones as `extra.<key>`)."""
    if not isinstance(data, dict):
        raise ValidationError("请求内容格式不正确")
    problems: dict[str, str] = {}
    model = None
    try:
        model = EnterpriseIn.model_validate(data)
    except PydanticValidationError as exc:
        form_errors.collect(exc, problems)
    if model is not None:
        model.extra = form_errors.check_extra(model.extra, catalog.category(model.category).enterprise_fields, problems)
    form_errors.raise_if_any(problems, enterprise_labels())
    return model

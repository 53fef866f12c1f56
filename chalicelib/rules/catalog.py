"""The district's reference lists, seeded with sensible defaults (DOMAIN.md "The district").

Category codes are stable identifiers stored on enterprises and accounts; names and departments are
what users read. Extra fields are the per-category inputs the seed mentions ("不同主体类型的录入项有所区别").
"""
from __future__ import annotations

from dataclasses import dataclass, field

TOWNS: tuple[str, ...] = (
    "南沙街", "珠江街", "龙穴街", "黄阁镇", "横沥镇", "万顷沙镇", "大岗镇", "榄核镇", "东涌镇", "其他",
)

PERSON_CATEGORIES: tuple[str, ...] = ("管理人员", "一线人员", "后勤人员", "保安保洁", "其他人员")

RESIDENCE_TYPES: tuple[str, ...] = ("工地集中居住", "单位宿舍", "自行租住", "自有住房", "其他")


@dataclass(frozen=True)
class ExtraField:
    key: str
    label: str
    required: bool = False


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    department: str
    rule: str  # default testing rule (§2.5), e.g. "三天一检"
    enterprise_fields: tuple[ExtraField, ...] = field(default=())
    staff_fields: tuple[ExtraField, ...] = field(default=())


_PROJECT = ExtraField("project_name", "项目名称", required=True)

CATEGORIES: tuple[Category, ...] = (
    Category("express", "快递物流", "区邮政管理局", "两天一检"),
    Category("market", "农贸市场", "区市场监督管理局", "两天一检"),
    Category("coldchain", "冷链食品", "区市场监督管理局", "一天一检"),
    Category("construction", "建筑工地", "区住房和城乡建设局", "三天一检",
             enterprise_fields=(_PROJECT,), staff_fields=(ExtraField("project_name", "项目名称"),)),
    Category("hotel", "酒店宾馆", "区文化广电旅游体育局", "三天一检"),
    Category("mall", "商场超市", "区商务局", "三天一检"),
    Category("transport", "交通运输", "区交通运输局", "两天一检"),
    Category("port", "港口码头", "区港务局", "一天一检"),
    Category("medical", "医疗机构", "区卫生健康局", "一天一检"),
    Category("school", "学校托育", "区教育局", "七天一检"),
    Category("elderly", "养老机构", "区民政局", "七天两检"),
)

_BY_CODE = {c.code: c for c in CATEGORIES}
_BY_NAME = {c.name: c for c in CATEGORIES}


def category(code: str) -> Category | None:
    return _BY_CODE.get(code)


def category_by_name(name: str) -> Category | None:
    return _BY_NAME.get(name)


ROLE_LABELS: dict[str, str] = {
    "admin": "运维",
    "bureau": "委办局",
    "town": "镇街",
    "taskforce": "专班",
    "head": "企业负责人",
}
STAFF_ROLES: tuple[str, ...] = ("admin", "bureau", "town", "taskforce")

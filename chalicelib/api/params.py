"""The form of every id a request names, checked in one place (api/common.route) before any view runs.

Every `{param}` of every route has a declared form here — a route whose path names a parameter without
one fails at import, as a route without a policy entry does — and so do the query parameters that name
something a service may look up by key. Any other query value is free text, bounded in length.

Why at the edge: a service handed a 3,000-character id passed it to DynamoDB, which refuses a partition
key over 2,048 bytes and a sort key over 1,024 (ValidationException), and the answer was a 500. The forms
are those of the ids the system mints (uuid hex, a staff id's `<enterprise>.<person key>`, category codes,
ISO days), loose enough for ids minted by other means (the benchmarks' `bench-…` enterprises) and far
inside every key limit.

A path id of the wrong form names nothing that can exist: 404, as an absent one (no probing either way).
A day, or a query parameter, of the wrong form is a malformed request: 400. Both name the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from chalicelib.errors import NotFoundError, ValidationError

_KEY = r"[0-9A-Za-z_-]{1,64}"  # uuid hex (enterprises, jobs, exports), a feed's digest, bench ids
_CODE = r"[a-z][a-z0-9_]{0,31}"  # category, feed kind, bucket and measure codes, and "all"
_DAY = r"\d{4}-\d{2}-\d{2}"
_NAME = r"[^\x00-\x1f\x7f]{1,20}"  # a town or a 人员类别, as the lists name them (南沙街, 保安保洁)
PARAM = re.compile(r"\{(\w+)\}")
MAX_QUERY_CHARS = 200  # the longest typed search is a name or an ID number; an ISO time is 32


@dataclass(frozen=True)
class Form:
    label: str  # what a user reads: 企业编号
    pattern: str
    absent: str | None = None  # a path id of the wrong form: "<absent>（<label>格式不正确）", 404
    message: str | None = None  # otherwise a 400 with this message (default: <label>格式不正确); the
    # field's own name (`item`) is in the answer's `fields`, never in the sentence a user reads

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


DAY = Form("日期", _DAY, message="日期格式应为 YYYY-MM-DD")

PATH: dict[str, Form] = {
    "enterprise_id": Form("企业编号", _KEY, absent="企业不存在"),
    "staff_id": Form("人员编号", rf"{_KEY}\.[0-9a-f]{{64}}", absent="人员不存在"),
    "job_id": Form("导入任务编号", _KEY, absent="导入任务不存在"),
    "export_id": Form("导出任务编号", _KEY, absent="导出任务不存在或已过期"),
    "feed_id": Form("数据文件编号", _KEY, absent="数据文件记录不存在"),
    "username": Form("用户名", r"[A-Za-z0-9_.@-]{1,64}", absent="账号不存在"),
    "category": Form("哨点人员类别", _CODE, absent="该哨点类别不存在"),
    "day": DAY,
}

# Query parameters that name something looked up by key; an empty value means "not given" to every service.
QUERY: dict[str, Form] = {
    "enterprise_id": Form("企业编号", _KEY),
    "category": Form("哨点人员类别", _CODE),
    "town": Form("所属镇街", _NAME),
    "person_category": Form("人员类别", _NAME),
    "day": DAY,
    # 推送记录: "<list>#<userid>[#g<generation>]", all ASCII (userids are [A-Za-z0-9_.@-]), so its 300
    # characters are 300 bytes: a sort key may have 1,024
    "item": Form("推送记录", r"[A-Za-z0-9_.@#~-]{1,300}"),
    "kind": Form("数据类型", _CODE),
    "bucket": Form("检测时段", _CODE),
    "measure": Form("统计项", _CODE),
    "cursor": Form("分页参数", r"[A-Za-z0-9_=-]{1,400}", message="分页参数不正确，请重新查询"),
}
# what the bounded free-text parameters are called on screen
LABELS = {"q": "搜索内容", "actor": "操作人", "action": "操作", "from": "开始时间", "to": "结束时间",
          "start": "开始时间", "end": "结束时间", "page": "页码", "page_size": "每页条数"}


def undeclared(path: str) -> list[str]:
    """The parameters of a route's path that have no form (route() refuses to declare such a route)."""
    return [name for name in PARAM.findall(path) if name not in PATH]


def check(path_values: Mapping[str, str], query: Mapping[str, Iterable[str]]) -> None:
    """Raise the Chinese 404 / 400 for the first id of the wrong form; `query` maps a name to its values."""
    for name, value in path_values.items():
        form = PATH[name]
        if not isinstance(value, str) or not form.matches(value):
            _refuse(name, form, path=True)
    for name, values in query.items():
        for value in values:
            form = QUERY.get(name)
            if form is not None:
                if value and not form.matches(value):
                    _refuse(name, form, path=False)
            elif len(value) > MAX_QUERY_CHARS:
                where = LABELS.get(name, "查询参数")  # the field in words; never an unknown name echoed
                raise ValidationError(f"{where}过长（最多 {MAX_QUERY_CHARS} 个字符）",
                                      fields={name[:40]: f"最多 {MAX_QUERY_CHARS} 个字符"})


def check_body(body: Mapping, **fields: str) -> None:
    """Ids a JSON body names, by the same forms: `ids="enterprise_id"` checks each text of the body's list
    `ids` as a path's enterprise_id (404), `item="item"` the body's text `item` as the query's (400).
    Values of other types are left to the service, which refuses them naming the field."""
    for field, form_name in fields.items():
        value = body.get(field)
        form, path = (PATH[form_name], True) if form_name in PATH else (QUERY[form_name], False)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and text and not form.matches(text):
                _refuse(field, form, path=path)


def _refuse(name: str, form: Form, *, path: bool) -> None:
    wrong = f"{form.label}格式不正确"
    if path and form.absent:
        raise NotFoundError(f"{form.absent}（{wrong}）", fields={name: wrong})
    raise ValidationError(form.message or wrong, fields={name: form.message or wrong})

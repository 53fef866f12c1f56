"""The audit log (操作日志): every login and logout, every code sent, every change, every import, upload
and download, every view or export of personal data, and every refusal — with who, role, when, source
address, user agent, scope in words and row count.

- Nothing personal in an entry: a full ID number or phone in a target or scope (a search term, a name
  typed as a phone) is masked before it is written (rules/masking).
- One entry per action; entries are append-only: no route changes or deletes one (the access matrix
  proves no route exists for it), and the API's IAM role has no DeleteItem on the table's history.
- Retention: RETENTION (400 days; the Cybersecurity Law asks for at least six months), by the table's
  TTL. Partitioned by Asia/Shanghai month, so a time range reads only its months.
"""
from __future__ import annotations

import base64
import contextvars
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib.errors import ValidationError
from chalicelib.rules import catalog, geography
from chalicelib.rules.clock import SHANGHAI, iso, now
from chalicelib.rules.masking import mask_id_number, mask_phone
from chalicelib.rules.phone import normalize_mobile
from chalicelib.services.common.security import keyed_hash
from chalicelib.store.models import AuditEvent

RETENTION = timedelta(days=400)
MAX_SPAN = timedelta(days=366)
EXPORT_LIMIT = 50_000
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


# What the log records, for the console's filter (tests/unit/test_audit_actions.py keeps it complete).
ACTIONS = (
    "登录", "登录失败", "登录被限制（该地址失败次数过多）", "登录被限制（账号已暂时锁定）", "退出登录",
    "获取验证码", "获取验证码被限制（该地址请求过多）", "验证码登录被限制（该地址错误次数过多）", "验证码作废（错误次数过多）",
    "新增企业", "修改企业", "删除企业", "导出企业信息", "查看企业详情", "导入企业信息",
    "新增员工", "修改员工", "删除员工", "导出员工信息", "导入员工信息", "下载导入失败数据",
    "查看人员详情", "查看核酸与疫苗接种记录", "导出哨点人员台账",
    "修改告警设置", "修改专班推送人员", "修改运维接收人", "发送测试消息", "运行告警检查", "运行告警推送", "推送更正名单",
    "重试告警推送", "核实告警推送", "下载推送附件",
    "导出未按规定检测人员名单", "导出核酸数据统计", "导出疫苗数据统计", "导出核酸统计人员明细", "导出疫苗统计人员明细",
    "新增账号", "修改账号", "停用账号", "启用账号", "重置密码",
    "上传数据文件", "重试失败消息", "导出操作日志", "拒绝访问",
)


@dataclass(frozen=True)
class Caller:
    """Where the request came from, bound by the API edge for the request's duration."""

    source_ip: str = ""
    user_agent: str = ""


_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("audit_caller", default=Caller("后台任务", ""))


def bind(source_ip: str, user_agent: str) -> contextvars.Token:
    return _caller.set(Caller(source_ip[:64], user_agent[:300]))


def unbind(token: contextvars.Token) -> None:
    _caller.reset(token)


def redact(text: str | None) -> str | None:
    """Mask any ID number or mobile number inside free text."""
    if not text:
        return text
    text = _ID.sub(lambda m: mask_id_number(m.group(1)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), text)


def scope_words(category: str | None = None, town: str | None = None) -> str:
    """快递物流 · 南沙街, never a code such as `express`."""
    named = catalog.category(category) if category else None
    return " · ".join(p for p in ((named.name if named else category or ""), town or "") if p) or geography.current().area


def record(principal=None, *, action: str, target: str | None = None, scope: str | None = None, rows: int = 0,
           actor: str | None = None, role: str | None = None, outcome: str = "成功") -> None:
    at, caller = now(), _caller.get()
    who = actor if actor is not None else (principal.id if principal is not None else "")
    AuditEvent(at.astimezone(SHANGHAI).strftime("%Y-%m"), f"{at.isoformat()}#{secrets.token_hex(4)}",
               actor=redact(who)[:64] or "（未知）", actor_key=_actor_key(who), role=role or (principal.role if principal is not None else "anonymous"),
               action=action, target=redact(target)[:200] if target else None, scope=redact(scope),
               rows=rows, outcome=outcome, source_ip=caller.source_ip, user_agent=caller.user_agent,
               expires_at=at + RETENTION).save()


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    start: datetime
    end: datetime
    actor: str = ""
    action: str = ""


def parse_query(params: dict[str, str]) -> Query:
    """From the console's filters: 开始/结束 (ISO, default today in Shanghai), 操作人, 操作."""
    today = now().astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        start = datetime.fromisoformat(params["from"]) if params.get("from") else today
        end = datetime.fromisoformat(params["to"]) if params.get("to") else today + timedelta(days=1)
    except ValueError:
        raise ValidationError("时间格式不正确", fields={"from": "时间格式不正确"})
    start, end = (t if t.tzinfo else t.replace(tzinfo=SHANGHAI) for t in (start, end))
    if end <= start:
        raise ValidationError("结束时间须晚于开始时间", fields={"to": "须晚于开始时间"})
    if end - start > MAX_SPAN:
        raise ValidationError("查询时间跨度不能超过一年", fields={"from": "跨度不能超过一年"})
    return Query(start, end, (params.get("actor") or "").strip()[:64], (params.get("action") or "").strip()[:40])


def describe(query: Query) -> str:
    parts = [f"{query.start.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 至 {query.end.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"]
    if query.actor:
        parts.append(f"操作人含“{query.actor}”")
    if query.action:
        parts.append(f"操作为“{query.action}”")
    return "，".join(parts)


def _months(query: Query) -> list[str]:
    """The month partitions of the range, newest first."""
    cursor = query.end.astimezone(SHANGHAI) - timedelta(microseconds=1)
    first = query.start.astimezone(SHANGHAI).strftime("%Y-%m")
    months = []
    while True:
        months.append(cursor.strftime("%Y-%m"))
        if months[-1] <= first:
            return months
        cursor = cursor.replace(day=1) - timedelta(days=1)


def _events(query: Query, after: dict | None = None):
    """Newest first within the range, filtered on the server side of DynamoDB (FilterExpression)."""
    condition = None
    if query.actor:  # a whole phone or username matches exactly (by key: a head's phone is stored masked)
        condition = (AuditEvent.actor_key == _actor_key(query.actor)) | AuditEvent.actor.contains(query.actor)
    if query.action:
        condition = (condition & (AuditEvent.action == query.action)) if condition is not None \
            else AuditEvent.action == query.action
    months = _months(query)
    if after:
        months = months[months.index(after["month"]):] if after["month"] in months else []
    for month in months:
        start_key = {"month": {"S": month}, "at_id": {"S": after["at_id"]}} if after and after["month"] == month else None
        after = None
        # at_id starts with the UTC instant in ISO form, so the range compares as text
        results = AuditEvent.query(month, AuditEvent.at_id.between(query.start.astimezone(timezone.utc).isoformat(),
                                                                    query.end.astimezone(timezone.utc).isoformat()),
                                   filter_condition=condition, scan_index_forward=False,
                                   last_evaluated_key=start_key, page_size=200)
        yield from results


def search(query: Query, *, cursor: str = "", page_size: int = 50) -> tuple[list[dict], str | None]:
    """A page of entries and the cursor of the next one (None at the end)."""
    after = _decode(cursor)
    items = []
    for event in _events(query, after):
        items.append(event)
        if len(items) == page_size + 1:
            break
    more = len(items) > page_size
    items = items[:page_size]
    following = _encode({"month": items[-1].month, "at_id": items[-1].at_id}) if more and items else None
    return [public(e) for e in items], following


def export_rows(query: Query) -> list[dict]:
    rows = []
    for event in _events(query):
        rows.append(public(event))
        if len(rows) >= EXPORT_LIMIT:
            break
    return rows


# 范围 as entries written before the routes recorded it in words held it: a feed upload's kind, a retried
# dead letter's queue. Entries are append-only (kept 400 days), so they are translated when read.
_CODED_SCOPES = {
    ("上传数据文件", "nat"): "核酸检测", ("上传数据文件", "vaccine"): "疫苗接种",
    ("重试失败消息", "imports"): "工作簿导入", ("重试失败消息", "feeds"): "数据文件",
}


def public(event: AuditEvent) -> dict:
    at = datetime.fromisoformat(event.at_id.split("#", 1)[0])
    scope = event.scope or ""
    return {"at": iso(at), "actor": event.actor, "role": event.role,
            "role_label": catalog.ROLE_LABELS.get(event.role, "未登录"), "action": event.action,
            "target": event.target or "", "scope": _CODED_SCOPES.get((event.action, scope), scope),
            "rows": int(event.rows or 0),
            "outcome": event.outcome or "成功", "source_ip": event.source_ip or "", "user_agent": event.user_agent or ""}


def _actor_key(who: str) -> str:
    mobile = normalize_mobile(who) if who else None
    return keyed_hash("audit-actor", (mobile or who or "").strip().casefold())


def _encode(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode(cursor: str) -> dict | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(value, dict) and isinstance(value.get("month"), str) and isinstance(value.get("at_id"), str):
            return value
    except (ValueError, TypeError):
        pass
    raise ValidationError("分页参数不正确，请重新查询", fields={"cursor": "不正确"})

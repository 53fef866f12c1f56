"""告警设置 (§2.5): each sentinel category's testing rule and its 高级推送人员 (粤政易 users, each optionally
limited to one town). Read by every official who sees the category; edited by 运维 and the supervising
bureau, with an optimistic lock, and every change audited old → new."""
from __future__ import annotations

import re

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.access.policy import OFFICIALS, require
from chalicelib.errors import ForbiddenError, NotFoundError, StaleError, ValidationError
from chalicelib.rules import catalog, testing
from chalicelib.rules.clock import iso, now
from chalicelib.rules.text import TextError, clean
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.store.models import AlertSetting, Recipient
from chalicelib.store.values import condition_failed

MAX_RECIPIENTS = 50
TASKFORCE = "taskforce"  # the item holding 哨点监测专班's recipients of the daily summary (no category has this code)
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # a WeCom / 粤政易 userid


def default_rule(category: str) -> testing.TestingRule:
    found = catalog.category(category)
    return testing.rule(found.rule) if found else testing.RULES[0]


def load(category: str) -> AlertSetting | None:
    try:
        return AlertSetting.get(category)
    except DoesNotExist:
        return None


def rule_of(category: str, setting: AlertSetting | None = None) -> testing.TestingRule:
    setting = setting if setting is not None else load(category)
    return (testing.rule(setting.rule) if setting else None) or default_rule(category)


def _category(principal: Principal, category: str) -> catalog.Category:
    require(principal, OFFICIALS)
    found = catalog.category(category)
    if found is None or not principal.scope.sees_category(category):
        raise NotFoundError("该哨点类别不存在或不在您的管理范围内")
    return found


def get(principal: Principal, category: str) -> dict:
    found = _category(principal, category)
    return public(principal, found, load(category))


def public(principal: Principal, found: catalog.Category, setting: AlertSetting | None) -> dict:
    rule = rule_of(found.code, setting)
    return {"category": found.code, "category_name": found.name, "department": found.department,
            "rule": rule.code, "rule_name": rule.name,
            "rules": [{"code": r.code, "name": r.name, "days": r.days, "tests": r.tests} for r in testing.RULES],
            "recipients": [{"user_id": r.user_id, "name": r.name, "town": r.town or ""}
                           for r in (setting.recipients if setting else [])],
            "editable": principal.scope.configures(found.code),
            "updated_at": iso(setting.updated_at) if setting else None,
            "updated_by": setting.updated_by if setting else None,
            "version": int(setting.version or 0) if setting else 0}


def update(principal: Principal, category: str, body: dict) -> dict:
    found = _category(principal, category)
    if not principal.scope.configures(category):
        raise ForbiddenError("仅运维和主管部门可修改告警设置")
    rule, recipients, version = _parse(body)
    current = load(category)
    if (int(current.version or 0) if current else 0) != version:
        raise StaleError("告警设置已被他人修改，请刷新后重试")
    before = _summary(rule_of(category, current), current.recipients if current else [])
    setting = current or AlertSetting(category)
    setting.rule, setting.recipients = rule.code, recipients
    setting.updated_at, setting.updated_by = now(), principal.display_name or principal.id
    try:
        setting.save()  # the version attribute makes it conditional on what was read
    except PutError as exc:
        if condition_failed(exc):
            raise StaleError("告警设置已被他人修改，请刷新后重试")
        raise
    audit.record(principal, action="修改告警设置", target=f"{before} → {_summary(rule, recipients)}",
                 scope=f"{found.name}哨点人员", rows=len(recipients))
    return public(principal, found, setting)


def _parse(body: dict) -> tuple[testing.TestingRule, list[Recipient], int]:
    if not isinstance(body, dict):
        raise ValidationError("请求内容应为对象")
    rule = testing.rule(body.get("rule")) if isinstance(body.get("rule"), str) else None
    if rule is None:
        raise ValidationError("请选择检测频次", fields={"rule": "请选择检测频次"})
    recipients, version = _recipients(body)
    return rule, recipients, version


def _recipients(body: dict, *, towns: bool = True) -> tuple[list[Recipient], int]:
    version = body.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValidationError("版本号不正确，请刷新后重试", fields={"version": "版本号不正确"})
    items = body.get("recipients", [])
    if not isinstance(items, list):
        raise ValidationError("推送人员应为列表", fields={"recipients": "推送人员应为列表"})
    if len(items) > MAX_RECIPIENTS:
        raise ValidationError(f"推送人员最多 {MAX_RECIPIENTS} 人", fields={"recipients": f"最多 {MAX_RECIPIENTS} 人"})
    out, seen = [], set()
    for n, item in enumerate(items):
        where = f"第 {n + 1} 位推送人员"
        if not isinstance(item, dict):
            raise ValidationError(f"{where}格式不正确", fields={f"recipients[{n}]": "格式不正确"})
        user_id = item.get("user_id")
        if not isinstance(user_id, str) or not USER_ID.match(user_id.strip()):
            raise ValidationError(f"{where}的粤政易账号只能由字母、数字和 _ . @ - 组成（1–64 位）",
                                  fields={f"recipients[{n}].user_id": "只能由字母、数字和 _ . @ - 组成"})
        user_id = user_id.strip()
        if user_id in seen:
            raise ValidationError(f"{where}的粤政易账号“{user_id}”重复", fields={f"recipients[{n}].user_id": "账号重复"})
        seen.add(user_id)
        try:
            name = clean(item.get("name"))
        except TextError as exc:
            raise ValidationError(f"{where}的姓名{exc}", fields={f"recipients[{n}].name": str(exc)})
        if not name or len(name) > 20:
            problem = "不能为空" if not name else "不能超过20个字"
            raise ValidationError(f"{where}的姓名{problem}", fields={f"recipients[{n}].name": problem})
        town = (item.get("town") or "") if towns else ""
        if not isinstance(town, str) or (town and town not in catalog.TOWNS):
            raise ValidationError(f"{where}的限定镇街不正确", fields={f"recipients[{n}].town": "请选择镇街"})
        out.append(Recipient(user_id=user_id, name=name, town=town))
    return out, version


def _summary(rule: testing.TestingRule, recipients) -> str:
    people = "、".join(f"{r.name}{'（' + r.town + '）' if r.town else ''}" for r in recipients) or "无推送人员"
    return f"{rule.name}；{people}"


# --- 哨点监测专班's recipients of the daily summary (§2.6) ------------------------------------------------

def taskforce_get(principal: Principal) -> dict:
    require(principal, ("admin", "taskforce", "bureau"))
    return _taskforce_public(principal, load(TASKFORCE))


def taskforce_update(principal: Principal, body: dict) -> dict:
    require(principal, ("admin",))
    if not isinstance(body, dict):
        raise ValidationError("请求内容应为对象")
    recipients, version = _recipients(body, towns=False)
    current = load(TASKFORCE)
    if (int(current.version or 0) if current else 0) != version:
        raise StaleError("专班推送人员已被他人修改，请刷新后重试")
    before = "、".join(r.name for r in (current.recipients if current else [])) or "无推送人员"
    setting = current or AlertSetting(TASKFORCE, rule="-")
    setting.recipients, setting.updated_at = recipients, now()
    setting.updated_by = principal.display_name or principal.id
    try:
        setting.save()
    except PutError as exc:
        if condition_failed(exc):
            raise StaleError("专班推送人员已被他人修改，请刷新后重试")
        raise
    audit.record(principal, action="修改专班推送人员",
                 target=f"{before} → {'、'.join(r.name for r in recipients) or '无推送人员'}", scope="哨点监测专班",
                 rows=len(recipients))
    return _taskforce_public(principal, setting)


def _taskforce_public(principal: Principal, setting: AlertSetting | None) -> dict:
    return {"recipients": [{"user_id": r.user_id, "name": r.name, "town": ""} for r in (setting.recipients if setting else [])],
            "editable": principal.role == "admin", "version": int(setting.version or 0) if setting else 0,
            "updated_at": iso(setting.updated_at) if setting else None,
            "updated_by": setting.updated_by if setting else None}

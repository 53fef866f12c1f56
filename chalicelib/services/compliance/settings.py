"""告警设置 (§2.5): each sentinel category's testing rule and its 高级推送人员 (粤政易 users, each optionally
limited to one town). Read by every official who sees the category; edited by 运维 and the supervising
bureau, with an optimistic lock, and every change audited old → new."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.access.policy import ADMIN, OFFICIALS, PUSH_READERS, require
from chalicelib.errors import ForbiddenError, NotFoundError, StaleError, ValidationError
from chalicelib.rules import catalog, geography, testing
from chalicelib.rules.clock import iso, now
from chalicelib.services.compliance import recipients
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.store.models import AlertSetting, Recipient
from chalicelib.store.values import condition_failed

TASKFORCE = "taskforce"  # the item holding 哨点监测专班's recipients of the daily summary (no category has this code)
OPS = "ops"  # the item holding 运维's own recipients (lists nobody else receives)


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


def public(principal: Principal, found: catalog.Category, setting: AlertSetting | None, *, warnings=()) -> dict:
    rule = rule_of(found.code, setting)
    chosen = setting.recipients if setting else []
    covered = {r.town for r in chosen}
    uncovered = [] if "" in covered else [t for t in geography.towns() if t not in covered]
    return {"category": found.code, "category_name": found.name, "department": found.department,
            "rule": rule.code, "rule_name": rule.name,
            "rules": [{"code": r.code, "name": r.name, "days": r.days, "tests": r.tests} for r in testing.RULES],
            "recipients": [{"user_id": r.user_id, "name": r.name, "town": r.town or ""}
                           for r in (setting.recipients if setting else [])],
            "editable": principal.scope.configures(found.code),
            "updated_at": iso(setting.updated_at) if setting else None,
            "updated_by": setting.updated_by if setting else None,
            "version": int(setting.version or 0) if setting else 0,
            # nobody receives these towns' lists: they go to 运维's own recipients instead (versions.py)
            "uncovered_towns": uncovered, "warnings": list(warnings)}


def update(principal: Principal, category: str, body: dict) -> dict:
    found = _category(principal, category)
    if not principal.scope.configures(category):
        raise ForbiddenError("告警设置对所有区生效，仅运维和市级主管部门可修改" if principal.scope.area
                             else "仅运维和主管部门可修改告警设置")
    rule, found_recipients, version = _parse(body)
    current = load(category)
    if (int(current.version or 0) if current else 0) != version:
        raise StaleError("告警设置已被他人修改，请刷新后重试")
    warnings = recipients.verify(found_recipients, known=[r.user_id for r in (current.recipients if current else [])])
    before = _summary(rule_of(category, current), current.recipients if current else [])
    setting = current or AlertSetting(category)
    setting.rule, setting.recipients = rule.code, found_recipients
    setting.updated_at, setting.updated_by = now(), principal.display_name or principal.id
    try:
        setting.save()  # the version attribute makes it conditional on what was read
    except PutError as exc:
        if condition_failed(exc):
            raise StaleError("告警设置已被他人修改，请刷新后重试")
        raise
    audit.record(principal, action="修改告警设置", target=f"{before} → {_summary(rule, found_recipients)}",
                 scope=f"{found.name}哨点人员", rows=len(found_recipients))
    return public(principal, found, setting, warnings=warnings)


def _parse(body: dict) -> tuple[testing.TestingRule, list[Recipient], int]:
    if not isinstance(body, dict):
        raise ValidationError("请求内容应为对象")
    rule = testing.rule(body.get("rule")) if isinstance(body.get("rule"), str) else None
    if rule is None:
        raise ValidationError("请选择检测频次", fields={"rule": "请选择检测频次"})
    found, version = recipients.parse(body)
    return rule, found, version


def _summary(rule: testing.TestingRule, recipients) -> str:
    people = "、".join(f"{r.name}{'（' + r.town + '）' if r.town else ''}" for r in recipients) or "无推送人员"
    return f"{rule.name}；{people}"


# --- 哨点监测专班's recipients of the daily summary (§2.6), and 运维's own -------------------------------------

def taskforce_get(principal: Principal) -> dict:
    require(principal, PUSH_READERS)
    return recipients.list_public(principal, load(TASKFORCE))


def taskforce_update(principal: Principal, body: dict) -> dict:
    return recipients.list_update(principal, TASKFORCE, body, label="哨点监测专班", action="修改专班推送人员")


def ops_get(principal: Principal) -> dict:
    """运维's own recipients: the lists of a category or town that has no 高级推送人员 go to them."""
    require(principal, ADMIN)
    return recipients.list_public(principal, load(OPS))


def ops_update(principal: Principal, body: dict) -> dict:
    return recipients.list_update(principal, OPS, body, label="运维接收人", action="修改运维接收人")

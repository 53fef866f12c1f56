"""粤政易 recipients that work: every list of recipients (a category's 高级推送人员, 哨点监测专班's, 运维's own)
is parsed one way, each new userid is checked against the 粤政易 directory (WeCom `user/get`) when it is
saved, recipients can be picked from the system's accounts that carry a 粤政易 userid, and a test message
can be sent to one before anyone relies on it.

Why check on save: a mistyped userid (81013) used to surface only after the next 09:00 push, in a page the
recipient could not open. An unknown userid is refused with its position named; when 粤政易 cannot be
reached the list is saved with a warning (the push must stay configurable while 粤政易 is down) and the
message says to send a test message later.
"""
from __future__ import annotations

import re
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.access.policy import ADMIN, CONFIGURERS, require
from chalicelib.errors import RateLimitedError, StaleError, ValidationError
from chalicelib.integrations import wecom
from chalicelib.rules import geography
from chalicelib.rules.catalog import ROLE_LABELS
from chalicelib.rules.clock import iso, now
from chalicelib.rules.text import TextError, clean
from chalicelib.services.common import throttle
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.store.models import Account, AlertSetting, Recipient
from chalicelib.store.values import condition_failed

MAX_RECIPIENTS = 50
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # a WeCom / 粤政易 userid
TESTS_PER_HOUR = 20  # test messages one caller may send: a button, not a way to spam a colleague


def parse(body: dict, *, towns: bool = True) -> tuple[list[Recipient], int]:
    """(recipients, the version the caller read) from a request body; every problem names its recipient."""
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
        user_id = _user_id(item.get("user_id"), where, f"recipients[{n}].user_id")
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
        if not isinstance(town, str) or (town and not geography.is_town(town)):
            raise ValidationError(f"{where}的限定镇街不正确", fields={f"recipients[{n}].town": "请选择镇街"})
        out.append(Recipient(user_id=user_id, name=name, town=town))
    return out, version


def _user_id(value, where: str, field: str) -> str:
    if not isinstance(value, str) or not USER_ID.match(value.strip()):
        raise ValidationError(f"{where}的粤政易账号只能由字母、数字和 _ . @ - 组成（1–64 位）",
                              fields={field: "只能由字母、数字和 _ . @ - 组成"})
    return value.strip()


def verify(recipients: list[Recipient], *, known=()) -> list[str]:
    """Each recipient not saved before, against the 粤政易 directory. Raises for an unknown userid;
    returns warnings (nothing could be checked) when 粤政易 cannot be reached."""
    fresh = [(n, r) for n, r in enumerate(recipients) if r.user_id not in set(known)]
    if not fresh:
        return []
    unknown, unreachable = wecom.missing([r.user_id for _, r in fresh])
    if unreachable:
        names = "、".join(f"{r.name}（{r.user_id}）" for _, r in fresh)
        return [f"暂时无法核对粤政易账号（{unreachable}）：{names}。已保存，请稍后用「发送测试消息」确认能收到"]
    for n, r in fresh:
        if r.user_id in unknown:
            raise ValidationError(
                f"第 {n + 1} 位推送人员的粤政易账号“{r.user_id}”在粤政易通讯录中不存在，请核对后重新填写",
                fields={f"recipients[{n}].user_id": "粤政易通讯录中没有此账号"})
    return []


# --- picking and testing --------------------------------------------------------------------------------

def options(principal: Principal) -> dict:
    """The accounts that carry a 粤政易 userid, to pick as recipients (the accounts table holds a few dozen
    staff accounts: the one table small enough to scan)."""
    require(principal, CONFIGURERS)
    accounts = sorted((a for a in Account.scan() if a.wecom_userid and not a.disabled),
                      key=lambda a: (a.role, a.username))
    return {"items": [{"user_id": a.wecom_userid, "name": a.display_name[:20], "role_label": ROLE_LABELS[a.role],
                       "town": a.town or "", "username": a.username} for a in accounts]}


def send_test(principal: Principal, body: dict) -> dict:
    """发送测试消息: a short text to one userid, so whoever configures a recipient sees it arrive."""
    require(principal, CONFIGURERS)
    if not isinstance(body, dict):
        raise ValidationError("请求内容应为对象")
    user_id = _user_id(body.get("user_id"), "粤政易账号", "user_id")
    if throttle.hit("wecom-test", principal.id, window=timedelta(hours=1)) > TESTS_PER_HOUR:
        raise RateLimitedError(f"每小时最多发送 {TESTS_PER_HOUR} 条测试消息，请稍后再试")
    text = (f"【测试】哨点人员健康监测系统：这是一条测试消息（由{principal.display_name}发送）。"
            "您已被设置为告警推送人员，每日上午 9 点将通过粤政易收到未按规定检测人员名单。")
    try:
        wecom.client().send(user_id, {"msgtype": "text", "text": {"content": text}})
    except wecom.Unknown as exc:
        outcome, ok = f"{exc.reason}，请向对方核实", False
    except wecom.WeComError as exc:
        outcome, ok = exc.reason, False
    else:
        outcome, ok = f"测试消息已发送至“{user_id}”，请对方在粤政易中查看", True
    audit.record(principal, action="发送测试消息", target=f"{user_id}：{'成功' if ok else outcome}", scope="告警推送")
    return {"ok": ok, "message": outcome}


# --- a list of recipients kept as one item (哨点监测专班's, 运维's own) -----------------------------------

def load(code: str) -> AlertSetting | None:
    try:
        return AlertSetting.get(code)
    except DoesNotExist:
        return None


def list_public(principal: Principal, setting: AlertSetting | None, *, warnings=()) -> dict:
    return {"recipients": [{"user_id": r.user_id, "name": r.name, "town": ""}
                           for r in (setting.recipients if setting else [])],
            "editable": principal.scope.operates, "version": int(setting.version or 0) if setting else 0,
            "updated_at": iso(setting.updated_at) if setting else None,
            "updated_by": setting.updated_by if setting else None, "warnings": list(warnings)}


def list_update(principal: Principal, code: str, body: dict, *, label: str, action: str) -> dict:
    """Replace the list `code` (optimistic lock on its version), each new userid checked, audited old → new."""
    require(principal, ADMIN)
    if not isinstance(body, dict):
        raise ValidationError("请求内容应为对象")
    recipients, version = parse(body, towns=False)
    current = load(code)
    if (int(current.version or 0) if current else 0) != version:
        raise StaleError(f"{label}已被他人修改，请刷新后重试")
    warnings = verify(recipients, known=[r.user_id for r in (current.recipients if current else [])])
    before = "、".join(r.name for r in (current.recipients if current else [])) or "无推送人员"
    setting = current or AlertSetting(code, rule="-")
    setting.recipients, setting.updated_at = recipients, now()
    setting.updated_by = principal.display_name or principal.id
    try:
        setting.save()
    except PutError as exc:
        if condition_failed(exc):
            raise StaleError(f"{label}已被他人修改，请刷新后重试")
        raise
    audit.record(principal, action=action, target=f"{before} → {'、'.join(r.name for r in recipients) or '无推送人员'}",
                 scope=label, rows=len(recipients))
    return list_public(principal, setting, warnings=warnings)

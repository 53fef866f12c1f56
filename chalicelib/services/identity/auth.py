"""Logging in and out: staff by username + password, enterprise heads by phone + SMS code (§2.2).

A head's code is a 6-digit number stored as a keyed hash; it stays usable as a password for
CODE_VALID_DAYS (the seed: "验证码可作为密码多次使用"). Abuse is bounded without handing anyone a way to lock
the real head out:
- a code dies after five wrong guesses (the head asks for a fresh one; the phone is never locked), so a
  guess has at most 5 in 1,000,000 chances per code, and codes per phone are limited;
- codes are sent at most once a minute and ten a Shanghai day per phone, ten an hour per client address,
  and SMS_DAILY_LIMIT a day in total (each costs money);
- wrong codes are limited per client address (twenty an hour), whichever phones they name;
- staff passwords: five wrong within 15 minutes lock the account for the rest of that window, twenty
  an hour from one client address stop that address; a disabled account answers exactly as a wrong
  password does.
A phone that heads no enterprise gets the same answer and the same limits as one that does, and no
code, so the endpoint reveals no accounts. The client address is API Gateway's sourceIp.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from typing import Sequence

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.access.scope import Scope
from chalicelib.config import settings
from chalicelib.errors import (
    DisabledError,
    RateLimitedError,
    UnauthenticatedError,
    ValidationError,
)
from chalicelib.integrations.sms import sender
from chalicelib.rules.catalog import ROLE_LABELS
from chalicelib.rules.clock import local_day, now
from chalicelib.rules.phone import normalize_mobile
from chalicelib.services.identity import audit
from chalicelib.services.common import security
from chalicelib.services.common import throttle
from chalicelib.store.models import Account, Enterprise, Session, SmsCode
from chalicelib.store.values import condition_failed

SEND_INTERVAL = timedelta(seconds=60)
SENDS_PER_DAY = 10
MAX_FAILURES = 5  # wrong guesses a code survives
HOUR = timedelta(hours=1)
SENDS_PER_CLIENT_HOUR = 10
CODE_GUESSES_PER_CLIENT_HOUR = 20
PASSWORD_WINDOW = timedelta(minutes=15)
PASSWORD_FAILURES_PER_ACCOUNT = 5
PASSWORD_FAILURES_PER_CLIENT_HOUR = 20
WRONG_PASSWORD = "用户名或密码错误"
SMS_SENT_MESSAGE = "验证码已发送，请查收短信（如该号码已登记为企业负责人电话）"


@dataclass
class Principal:
    """Who is calling, resolved from the session on every request."""

    id: str  # username, or the head's phone
    role: str
    display_name: str
    town: str | None = None
    categories: list[str] = field(default_factory=list)
    wecom_user: str | None = None  # the account's 粤政易 userid (账号管理)
    token_hash: str = ""

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @cached_property
    def scope(self) -> Scope:
        """What this caller reaches (access/scope.py), built once per request."""
        return Scope(self.role, self.id, self.town, frozenset(self.categories), self.wecom_user)

    def is_subject(self, *, role: str, subject: str) -> bool:
        return self.scope.is_subject(role=role, subject=subject)


@dataclass
class LoginResult:
    token: str
    expires_at: datetime
    principal: Principal


def login_with_password(*, username: str, password: str, client: str = "") -> LoginResult:
    username = (username or "").strip()
    if throttle.count("pw-client", client, window=HOUR) >= PASSWORD_FAILURES_PER_CLIENT_HOUR:
        audit.record(action="登录被限制（该地址失败次数过多）", actor=username, outcome="拒绝")
        raise RateLimitedError("登录失败次数过多，请稍后再试", retry_after=throttle.seconds_left(HOUR))
    if username and throttle.count("pw-account", username, window=PASSWORD_WINDOW) >= PASSWORD_FAILURES_PER_ACCOUNT:
        wait = throttle.seconds_left(PASSWORD_WINDOW)
        audit.record(action="登录被限制（账号已暂时锁定）", actor=username, outcome="拒绝")
        raise RateLimitedError(f"密码错误次数过多，该账号已暂时锁定，请 {wait // 60 + 1} 分钟后再试", retry_after=wait)
    account = None
    try:
        if username and len(username) <= 64:
            account = Account.get(username)
    except DoesNotExist:
        pass
    if account is None:
        security.hash_password(password or "x")  # spend the same time as a real check
    if account is None or not security.verify_password(password or "", account.password_hash) or account.disabled:
        # a disabled account answers as a wrong password does: nothing tells which accounts exist
        throttle.hit("pw-client", client, window=HOUR)
        if username:
            throttle.hit("pw-account", username, window=PASSWORD_WINDOW)
        audit.record(action="登录失败", actor=username, role=account.role if account else None,
                     target="账号已停用" if account is not None and account.disabled else None, outcome="失败")
        raise UnauthenticatedError(WRONG_PASSWORD)
    result = _open_session(account.username, account.role, account.session_epoch, _staff_principal(account))
    audit.record(result.principal, action="登录")
    return result


def request_sms_code(*, phone: str, client: str = "") -> dict:
    mobile = normalize_mobile(phone)
    if mobile is None:
        raise ValidationError("手机号码格式不正确", fields={"phone": "请输入正确的11位手机号码"})
    current = now()
    record = _sms_record(mobile)
    if record.last_sent_at and current - record.last_sent_at < SEND_INTERVAL:
        wait = int((SEND_INTERVAL - (current - record.last_sent_at)).total_seconds()) + 1
        raise RateLimitedError(f"验证码发送过于频繁，请 {wait} 秒后再试", retry_after=wait)
    today = local_day(current).isoformat()
    sent_today = record.sent_that_day if record.send_day == today else 0
    if sent_today >= SENDS_PER_DAY:
        raise RateLimitedError("该号码今日获取验证码次数已达上限，请明天再试")
    # Before anything is counted, and for every phone alike: a broken SMS secret (SmsUnavailableError)
    # answers the same whether or not the phone heads an enterprise, and uses up no one's sends.
    outbox = sender()
    if throttle.hit("sms-client", client, window=HOUR) > SENDS_PER_CLIENT_HOUR:
        audit.record(action="获取验证码被限制（该地址请求过多）", actor=mobile, role="head", outcome="拒绝")
        raise RateLimitedError("获取验证码过于频繁，请稍后再试", retry_after=throttle.seconds_left(HOUR))
    if throttle.hit("sms-total", "all", window=timedelta(days=1)) > settings().sms_daily_limit:
        raise RateLimitedError("今日短信发送量已达系统上限，请明天再试或联系系统运维人员")
    actions = [SmsCode.last_sent_at.set(current), SmsCode.send_day.set(today),
               SmsCode.sent_that_day.set(sent_today + 1)]
    code = None
    if _heads_an_enterprise(mobile):
        code = f"{secrets.randbelow(10**6):06d}"
        actions += [SmsCode.code_hash.set(security.keyed_hash("sms", f"{mobile}:{code}")),
                    SmsCode.code_valid_until.set(current + timedelta(days=settings().code_valid_days)),
                    SmsCode.failures.set(0)]
    # The condition makes two simultaneous requests send at most one code.
    condition = (SmsCode.last_sent_at.does_not_exist() if record.last_sent_at is None
                 else SmsCode.last_sent_at == record.last_sent_at)
    try:
        record.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            raise RateLimitedError("验证码发送过于频繁，请稍后再试") from exc
        raise
    audit.record(action="获取验证码", actor=mobile, role="head",
                 target=None if code is not None else "该号码未登记为企业负责人电话，未发送")
    if code is not None:
        outbox.send(mobile, f"【智慧南沙】您的登录验证码为{code}，{settings().code_valid_days}天内可重复使用，请勿泄露。",
                    code=code)
    return {"message": SMS_SENT_MESSAGE, "cooldown_seconds": int(SEND_INTERVAL.total_seconds())}


def login_with_code(*, phone: str, code: str, client: str = "") -> LoginResult:
    mobile = normalize_mobile(phone)
    if mobile is None:
        raise ValidationError("手机号码格式不正确", fields={"phone": "请输入正确的11位手机号码"})
    if throttle.count("code-client", client, window=HOUR) >= CODE_GUESSES_PER_CLIENT_HOUR:
        audit.record(action="验证码登录被限制（该地址错误次数过多）", actor=mobile, role="head", outcome="拒绝")
        raise RateLimitedError("验证码错误次数过多，请稍后再试", retry_after=throttle.seconds_left(HOUR))
    code = (code or "").strip()
    current = now()
    record = _sms_record(mobile)
    valid = (record.code_hash is not None and record.code_valid_until is not None
             and record.code_valid_until > current
             and secrets.compare_digest(record.code_hash, security.keyed_hash("sms", f"{mobile}:{code}")))
    if not valid:
        throttle.hit("code-client", client, window=HOUR)
        audit.record(action="登录失败", actor=mobile, role="head", target="验证码错误或已过期", outcome="失败")
        if record.code_hash is None:
            raise UnauthenticatedError("验证码错误或已过期，请重新获取验证码")
        failures = (record.failures or 0) + 1
        if failures >= MAX_FAILURES:  # the code dies, the phone does not: a fresh code works at once
            record.update(actions=[SmsCode.code_hash.remove(), SmsCode.code_valid_until.remove(),
                                   SmsCode.failures.set(0)])
            audit.record(action="验证码作废（错误次数过多）", actor=mobile, role="head", outcome="拒绝")
            raise UnauthenticatedError("验证码错误次数过多，该验证码已失效，请重新获取验证码")
        record.update(actions=[SmsCode.failures.set(failures)])
        raise UnauthenticatedError(f"验证码错误或已过期（该验证码还可尝试 {MAX_FAILURES - failures} 次）")
    if not _heads_an_enterprise(mobile):
        # The enterprise was deleted or its head changed since the code was sent.
        raise UnauthenticatedError("该号码未登记为企业负责人电话，请联系所属委办局或镇街")
    if record.failures:
        record.update(actions=[SmsCode.failures.set(0)])
    result = _open_session(mobile, "head", 0, _head_principal(mobile))
    audit.record(result.principal, action="登录")
    return result


def authenticate(token: str | None) -> Principal:
    if not token:
        raise UnauthenticatedError("请先登录")
    digest = security.token_digest(token)
    try:
        session = Session.get(digest)
    except DoesNotExist:
        raise UnauthenticatedError("登录已失效，请重新登录")
    if session.expires_at <= now():  # TTL deletes late: check expiry ourselves
        raise UnauthenticatedError("登录已过期，请重新登录")
    if session.role == "head":
        principal = _head_principal(session.subject)
    else:
        try:
            account = Account.get(session.subject)
        except DoesNotExist:
            raise UnauthenticatedError("账号不存在，请重新登录")
        if account.disabled:
            raise DisabledError("该账号已停用，请联系系统运维人员")
        if account.session_epoch != session.epoch:
            raise UnauthenticatedError("登录已失效，请重新登录")
        principal = _staff_principal(account)
    principal.token_hash = digest
    return principal


def logout(principal: Principal) -> None:
    Session(principal.token_hash).delete()
    audit.record(principal, action="退出登录")


def _open_session(subject: str, role: str, epoch: int, principal: Principal) -> LoginResult:
    token = security.new_token()
    created = now()
    expires = created + timedelta(hours=settings().session_hours)
    Session(security.token_digest(token), subject=subject, role=role, epoch=epoch,
            created_at=created, expires_at=expires).save()
    principal.token_hash = security.token_digest(token)
    return LoginResult(token=token, expires_at=expires, principal=principal)


def _staff_principal(account: Account) -> Principal:
    return Principal(id=account.username, role=account.role, display_name=account.display_name,
                     town=account.town, categories=list(account.categories or []), wecom_user=account.wecom_userid)


def _head_principal(phone: str) -> Principal:
    return Principal(id=phone, role="head", display_name="企业负责人")


def head_names(enterprises: Sequence[Enterprise]) -> list[str]:
    """The distinct 负责人姓名 of a head's enterprises, in the enterprises' order."""
    return list(dict.fromkeys(n for n in ((e.head_name or "").strip() for e in enterprises) if n))


def head_display_name(enterprises: Sequence[Enterprise]) -> str:
    """What the header and the mobile greeting call a head: the 负责人姓名 entered with their enterprises,
    and the enterprise (one) or how many (several): 陈志强（南沙速递营业部） / 陈志强 · 3 家企业."""
    names = head_names(enterprises)
    who = "、".join(names[:2]) + ("等" if len(names) > 2 else "") if names else "企业负责人"
    if len(enterprises) == 1:
        return f"{who}（{enterprises[0].name}）"
    if enterprises:
        return f"{who} · {len(enterprises)} 家企业"
    return who


def _heads_an_enterprise(phone: str) -> bool:
    return any(True for _ in Enterprise.by_head.query(phone, limit=1))


def _sms_record(phone: str) -> SmsCode:
    try:
        return SmsCode.get(phone, consistent_read=True)
    except DoesNotExist:
        return SmsCode(phone)


def principal_for(subject: str, role: str) -> Principal:
    """The principal an asynchronous job acts for, with the account's scope as it is now."""
    if role == "head":
        return _head_principal(subject)
    try:
        account = Account.get(subject)
    except DoesNotExist:
        raise UnauthenticatedError("发起该任务的账号已不存在")
    if account.disabled:
        raise DisabledError("发起该任务的账号已停用")
    return _staff_principal(account)

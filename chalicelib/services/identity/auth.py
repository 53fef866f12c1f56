"""Logging in and out: staff by username + password, enterprise heads by phone + SMS code (§2.2).

A head's code is a 6-digit number stored as a keyed hash; it stays usable as a password for
CODE_VALID_DAYS (the seed: "验证码可作为密码多次使用"). Abuse is bounded without handing anyone a way to keep
the real head out (issue 23: anyone's request used to replace the head's code, and one client could use
up the phone's sends for the day):
- a request adds a code to the phone's live set (at most MAX_LIVE_CODES); a code already sent stays valid
  until it expires or is guessed wrong five times. When the set is full the asking address's own oldest
  code gives way, else the oldest of whichever address holds most — so one address never pushes out a
  code another address asked for;
- a wrong guess is tried against every live code, so it counts against each: five end them (a guesser has
  at most 5 tries per code, at most SENDS_PER_PHONE_DAY codes a day: ≤ 100 in a million per phone and
  day). The phone is never locked, and the head can always ask for a fresh code at once, because —
- sends are counted per phone *and client address* (one a minute, ten a Shanghai day), so another client
  holds neither the head's minute nor the head's ten; per phone in all SENDS_PER_PHONE_DAY a day (SMS
  bombing, cost), ten an hour per client address, and SMS_DAILY_LIMIT a day in total;
- wrong codes are limited per client address (twenty an hour), whichever phones they name;
- staff passwords: five wrong within 15 minutes lock the account for the rest of that window, twenty
  an hour from one client address stop that address; a disabled account answers exactly as a wrong
  password does.
A phone that heads no enterprise gets the same answer and the same limits as one that does, and no
code, so the endpoint reveals no accounts. The client address is API Gateway's sourceIp (or the viewer
behind the console's CloudFront: api/common.viewer_address); the record keeps only its keyed hash.
Every change to a phone's record is conditional on its version and retried from a fresh read, so two
requests or guesses at once never lose each other's write (nor a guess its count).
"""
from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from typing import Sequence

from pynamodb.exceptions import DoesNotExist, PutError

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
from chalicelib.store.models import Account, Enterprise, LiveCode, Session, SmsCode, SmsSender
from chalicelib.store.values import condition_failed

SEND_INTERVAL = timedelta(seconds=60)  # per phone and client address
SENDS_PER_DAY = 10  # per phone and client address, a Shanghai day
SENDS_PER_PHONE_DAY = 20  # per phone, every address together: two strangers' tens at most
MAX_LIVE_CODES = 5
MAX_FAILURES = 5  # wrong guesses a code survives
WRITE_ATTEMPTS = 5  # conditional writes of a phone's record before answering "try again"
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
    district: str | None = None  # a 区 official's district (access/scope.py)
    wecom_user: str | None = None  # the account's 粤政易 userid (账号管理)
    token_hash: str = ""

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @cached_property
    def scope(self) -> Scope:
        """What this caller reaches (access/scope.py), built once per request."""
        return Scope(self.role, self.id, self.town, frozenset(self.categories), self.wecom_user, self.district)

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
    asker = _client_key(client)
    code = None
    for attempt in range(WRITE_ATTEMPTS):
        current = now()
        record = _sms_record(mobile)
        today = local_day(current).isoformat()
        sent_today = _check_sends(record, asker, current, today)
        if attempt == 0:
            # Before anything is counted, and for every phone alike: a broken SMS secret (SmsUnavailableError)
            # answers the same whether or not the phone heads an enterprise, and uses up no one's sends.
            outbox = sender()
            if throttle.hit("sms-client", client, window=HOUR) > SENDS_PER_CLIENT_HOUR:
                audit.record(action="获取验证码被限制（该地址请求过多）", actor=mobile, role="head", outcome="拒绝")
                raise RateLimitedError("获取验证码过于频繁，请稍后再试", retry_after=throttle.seconds_left(HOUR))
            if throttle.hit("sms-total", "all", window=timedelta(days=1)) > settings().sms_daily_limit:
                raise RateLimitedError("今日短信发送量已达系统上限，请明天再试或联系系统运维人员")
            if _heads_an_enterprise(mobile):
                code = f"{secrets.randbelow(10**6):06d}"
        live = _live(record, current)
        if code is not None:
            live = _admit(live, LiveCode(digest=security.keyed_hash("sms", f"{mobile}:{code}"), failures=0,
                                         valid_until=current + timedelta(days=settings().code_valid_days),
                                         sent_at=current, client=asker))
        _store_codes(record, live)
        record.senders = _count_send(record, asker, current, today)
        record.last_sent_at, record.send_day, record.sent_that_day = current, today, sent_today + 1
        if _saved(record):
            break
    else:
        raise RateLimitedError("验证码发送过于频繁，请稍后再试")
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
    digest = security.keyed_hash("sms", f"{mobile}:{(code or '').strip()}")
    for _ in range(WRITE_ATTEMPTS):
        record = _sms_record(mobile)
        live = _live(record, now())
        match = next((c for c in live if secrets.compare_digest(c.digest, digest)), None)
        if match is not None:
            if match.failures:  # whoever holds the code is here: its count starts again (a lost race keeps it)
                match.failures = 0
                _store_codes(record, live)
                _saved(record)
            break
        if not live:
            _wrong_code(client, mobile)
            raise UnauthenticatedError("验证码错误或已过期，请重新获取验证码")
        for live_code in live:  # the guess was tried against each of them
            live_code.failures = (live_code.failures or 0) + 1
        survivors = [c for c in live if c.failures < MAX_FAILURES]
        _store_codes(record, survivors)
        if not _saved(record):
            continue  # someone else's write came first: verify again against what is stored now
        _wrong_code(client, mobile)
        if len(survivors) < len(live):  # the codes die, the phone does not: a fresh code works at once
            audit.record(action="验证码作废（错误次数过多）", actor=mobile, role="head", outcome="拒绝")
        if not survivors:
            raise UnauthenticatedError("验证码错误次数过多，该验证码已失效，请重新获取验证码")
        raise UnauthenticatedError(f"验证码错误或已过期（该验证码还可尝试 {MAX_FAILURES - survivors[-1].failures} 次）")
    else:
        raise RateLimitedError("验证码校验繁忙，请稍后再试")
    if not _heads_an_enterprise(mobile):
        # The enterprise was deleted or its head changed since the code was sent.
        raise UnauthenticatedError("该号码未登记为企业负责人电话，请联系所属委办局或镇街")
    result = _open_session(mobile, "head", 0, _head_principal(mobile))
    audit.record(result.principal, action="登录")
    return result


def _wrong_code(client: str, mobile: str) -> None:
    throttle.hit("code-client", client, window=HOUR)
    audit.record(action="登录失败", actor=mobile, role="head", target="验证码错误或已过期", outcome="失败")


def _client_key(client: str) -> str:
    """Which address asked, as the record keeps it: a keyed hash, never the address."""
    return security.keyed_hash("sms-client", client or "unknown")[:16]


def _check_sends(record: SmsCode, asker: str, current: datetime, today: str) -> int:
    """Refuse a send past this address's minute or day for the phone, or past the phone's day; else the
    phone's sends today so far."""
    mine = next((s for s in record.senders or [] if s.client == asker), None)
    if mine is not None and current - mine.last_sent_at < SEND_INTERVAL:
        wait = int((SEND_INTERVAL - (current - mine.last_sent_at)).total_seconds()) + 1
        raise RateLimitedError(f"验证码发送过于频繁，请 {wait} 秒后再试", retry_after=wait)
    sent_today = (record.sent_that_day or 0) if record.send_day == today else 0
    if (mine is not None and mine.day == today and mine.sent >= SENDS_PER_DAY) or sent_today >= SENDS_PER_PHONE_DAY:
        raise RateLimitedError(f"该号码今日获取验证码次数已达上限：已收到的验证码{settings().code_valid_days}天内仍可使用，"
                               "或请明天再试")
    return sent_today


def _count_send(record: SmsCode, asker: str, current: datetime, today: str) -> list[SmsSender]:
    """Today's senders with this send counted; other days' are dropped (a minute-old one kept for its
    minute), so the list is at most the phone's daily cap long."""
    kept, mine = [], None
    for entry in record.senders or []:
        if entry.client == asker:
            mine = entry
        elif entry.day == today or current - entry.last_sent_at < SEND_INTERVAL:
            kept.append(entry)
    sent = (mine.sent or 0) + 1 if mine is not None and mine.day == today else 1
    return kept + [SmsSender(client=asker, day=today, sent=sent, last_sent_at=current)]


def _live(record: SmsCode, current: datetime) -> list[LiveCode]:
    """The phone's codes that still log in, oldest first (a code from before issue 23 among them)."""
    codes = [c for c in record.codes or [] if c.valid_until > current and (c.failures or 0) < MAX_FAILURES]
    if (record.code_hash and record.code_valid_until and record.code_valid_until > current
            and (record.failures or 0) < MAX_FAILURES):
        codes.insert(0, LiveCode(digest=record.code_hash, valid_until=record.code_valid_until,
                                 failures=record.failures or 0, sent_at=record.last_sent_at or current, client=""))
    return codes


def _admit(codes: list[LiveCode], new: LiveCode) -> list[LiveCode]:
    """The live set with a new code. Full, it gives up the asking address's own oldest code, else the
    oldest code of the address that holds most: a stranger's requests only ever replace the stranger's."""
    if len(codes) >= MAX_LIVE_CODES:
        own = [c for c in codes if c.client == new.client]
        if not own:
            held = Counter(c.client for c in codes)
            own = [c for c in codes if held[c.client] == max(held.values())]
        oldest = min(own, key=lambda c: c.sent_at)
        codes = [c for c in codes if c is not oldest]
    return [*codes, new]


def _store_codes(record: SmsCode, codes: list[LiveCode]) -> None:
    record.codes = codes
    record.code_hash = record.code_valid_until = record.failures = None  # the one-code form: now in codes


def _saved(record: SmsCode) -> bool:
    """Write the record if nobody else wrote it since it was read (its version); False if someone did."""
    try:
        record.save()
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


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
                     town=account.town, categories=list(account.categories or []), wecom_user=account.wecom_userid,
                     district=account.district)


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

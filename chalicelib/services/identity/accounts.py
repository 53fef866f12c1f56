"""Staff accounts, kept by the operator (运维): create, edit, disable, reset password."""
from __future__ import annotations

import re

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.integrations import wecom
from chalicelib.rules import catalog, geography
from chalicelib.rules.catalog import ROLE_LABELS, STAFF_ROLES
from chalicelib.rules.clock import iso, now
from chalicelib.rules.passwords import password_problem
from chalicelib.rules.text import TextError, fold
from chalicelib.services.common import security
from chalicelib.services.identity.auth import Principal
from chalicelib.access.policy import ADMIN, require
from chalicelib.store.models import Account
from chalicelib.store.values import condition_failed

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")
_WECOM_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # a WeCom / 粤政易 userid


def public(account: Account) -> dict:
    return {
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "role_label": ROLE_LABELS[account.role],
        "town": account.town or "",
        "district": account.district or "",
        "categories": list(account.categories or []),
        "wecom_userid": account.wecom_userid or "",
        "disabled": bool(account.disabled),
        "created_at": iso(account.created_at),
    }


def list_accounts(principal: Principal) -> list[Account]:
    require(principal, ADMIN)
    # The accounts table holds a few dozen staff accounts; it is the one table small enough to scan.
    return sorted(Account.scan(), key=lambda a: (STAFF_ROLES.index(a.role), a.username))


def create(principal: Principal, data: dict) -> Account:
    require(principal, ADMIN)
    problems: dict[str, str] = {}
    username = _text(data, "username", problems)
    if not _USERNAME.match(username):
        problems["username"] = "用户名为 3-32 位字母、数字、下划线、点或横线"
    password = str(data.get("password") or "")
    problem = password_problem(password)
    if problem:
        problems["password"] = problem
    role, display_name, town, categories, district = _role_fields(data, problems)
    wecom_user = _wecom_user(data, problems, before=None)
    if problems:
        raise _invalid(problems)
    current = now()
    account = Account(username, display_name=display_name, role=role, town=town, categories=categories,
                      district=district,
                      wecom_userid=wecom_user, password_hash=security.hash_password(password), created_at=current, updated_at=current)
    try:
        account.save(condition=Account.username.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError(f"用户名“{username}”已存在", fields={"username": "用户名已存在"})
        raise
    return account


def update(principal: Principal, username: str, data: dict) -> Account:
    require(principal, ADMIN)
    account = _load(username)
    problems: dict[str, str] = {}
    role, display_name, town, categories, district = _role_fields(data, problems)
    wecom_user = _wecom_user(data, problems, before=account.wecom_userid)
    if problems:
        raise _invalid(problems)
    if account.username == principal.id and role != "admin":
        raise ValidationError("不能修改自己的运维角色", fields={"role": "不能修改自己的运维角色"})
    account.update(actions=[Account.role.set(role), Account.display_name.set(display_name),
                            Account.town.set(town) if town else Account.town.remove(),
                            Account.categories.set(categories), Account.updated_at.set(now()),
                            Account.district.set(district) if district else Account.district.remove(),
                            Account.wecom_userid.set(wecom_user) if wecom_user else Account.wecom_userid.remove()])
    return account


def set_disabled(principal: Principal, username: str, disabled: bool) -> Account:
    require(principal, ADMIN)
    account = _load(username)
    if disabled and account.username == principal.id:
        raise ValidationError("不能停用自己的账号")
    actions = [Account.disabled.set(disabled), Account.updated_at.set(now())]
    if disabled:
        actions.append(Account.session_epoch.add(1))  # ends every open session of the account
    account.update(actions=actions)
    return account


def reset_password(principal: Principal, username: str, password: str) -> None:
    require(principal, ADMIN)
    account = _load(username)
    problem = password_problem(str(password or ""))
    if problem:
        raise _invalid({"password": problem})
    account.update(actions=[Account.password_hash.set(security.hash_password(password)),
                            Account.session_epoch.add(1), Account.updated_at.set(now())])


def _role_fields(data: dict, problems: dict[str, str]):
    role = str(data.get("role") or "")
    if role not in STAFF_ROLES:
        problems["role"] = "请选择角色"
    display_name = _text(data, "display_name", problems)
    if not display_name or len(display_name) > 50:
        problems.setdefault("display_name", "名称不能为空且不超过50个字")
    town = _text(data, "town", problems) or None
    raw_categories = data.get("categories") or []
    categories = [c for c in raw_categories if isinstance(c, str)] if isinstance(raw_categories, list) else []
    if role == "town":
        if not geography.is_town(town or ""):
            problems["town"] = "镇街账号须选择所属镇街"
    else:
        town = None
    if role == "bureau":
        if not categories or any(catalog.category(c) is None for c in categories):
            problems["categories"] = "委办局账号须选择主管的主体类型"
    else:
        categories = []
    # a 区 official (委办局, 专班) of one district, or of every district served when none is chosen; a
    # deployment of one district has nothing to choose (rules/geography.py)
    district = _text(data, "district", problems) or None
    if role not in ("bureau", "taskforce") or geography.current().single:
        district = None
    elif district is not None and not geography.is_district(district):
        problems["district"] = "请选择所属区"
    return role, display_name, town, categories, district


def _wecom_user(data: dict, problems: dict[str, str], *, before: str | None) -> str | None:
    """The account's optional 粤政易 userid: its form, then (when it changed) the 粤政易 directory. An
    unreachable directory does not block the account; the recipient lists check it again."""
    value = data.get("wecom_userid")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _WECOM_USER.match(value.strip()):
        problems["wecom_userid"] = "只能由字母、数字和 _ . @ - 组成（1–64 位）"
        return None
    value = value.strip()
    if value != before and value in wecom.missing([value])[0]:
        problems["wecom_userid"] = f"粤政易通讯录中没有账号“{value}”，请核对"
    return value


def _text(data: dict, key: str, problems: dict[str, str]) -> str:
    try:
        return fold(data.get(key))
    except TextError as exc:
        problems[key] = str(exc)
        return ""


def _invalid(problems: dict[str, str]) -> ValidationError:
    labels = {"username": "用户名", "password": "密码", "role": "角色", "display_name": "名称",
              "town": "所属镇街", "district": "所属区", "categories": "主管类别", "wecom_userid": "粤政易账号"}
    return ValidationError("；".join(f"{labels[k]}：{v}" for k, v in problems.items()), fields=problems)


def _load(username: str) -> Account:
    try:
        return Account.get(username)
    except DoesNotExist:
        raise NotFoundError("账号不存在")

"""Who may read or change which enterprise. Every service asks here; no route decides scope itself."""
from __future__ import annotations

from chalicelib.errors import ForbiddenError
from chalicelib.services.auth import Principal

READ_ROLES = ("admin", "bureau", "town", "taskforce", "head")
WRITE_ROLES = ("admin", "bureau", "town")


def require_role(principal: Principal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise ForbiddenError("您的账号无权进行此操作")


def can_read(principal: Principal, *, category: str, town: str, head_phone: str) -> bool:
    role = principal.role
    if role in ("admin", "taskforce"):
        return True
    if role == "bureau":
        return category in principal.categories
    if role == "town":
        return town == principal.town
    if role == "head":
        return head_phone == principal.id
    return False


def can_write(principal: Principal, *, category: str, town: str) -> bool:
    role = principal.role
    if role == "admin":
        return True
    if role == "bureau":
        return category in principal.categories
    if role == "town":
        return town == principal.town
    return False


def write_refusal(principal: Principal, *, category: str, town: str) -> str | None:
    """Why this caller may not register an enterprise of this category in this town (None if it may)."""
    if can_write(principal, category=category, town=town):
        return None
    if principal.role == "bureau":
        return "该主体类型不在您单位的管理范围内"
    if principal.role == "town":
        return f"只能登记{principal.town}的企业"
    return "您的账号无权登记企业"

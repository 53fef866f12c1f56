"""What a caller reaches: one value, built once per request from the principal, that answers every
"may this caller read / change this …" question and names the partitions a list reads. Services ask it;
no service or route switches on roles itself.

    运维 (admin)       the whole district; changes everything
    专班 (taskforce)   the whole district; changes nothing
    委办局 (bureau)    the sentinel categories it supervises, in every town
    镇街 (town)        its own town, every category
    企业负责人 (head)  the enterprises whose 负责人电话 is their phone

Pure: no AWS, no storage; the services turn partitions into queries.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.rules import catalog

DISTRICT_READERS = ("admin", "taskforce")
ALL_CATEGORIES = "all"  # the statistics of every category at once: DISTRICT_READERS only


@dataclass(frozen=True)
class Scope:
    role: str
    subject: str  # username, or the head's phone
    town: str | None = None
    categories: frozenset[str] = frozenset()
    wecom_user: str | None = None  # the account's 粤政易 userid: the messages sent to it are the caller's

    # --- who the caller is ------------------------------------------------------------------------
    def is_subject(self, *, role: str, subject: str) -> bool:
        """The same caller as a stored (role, subject): a subject alone is ambiguous (an account may be
        named like a head's phone number)."""
        return (self.role, self.subject) == (role, subject)

    @property
    def district_wide(self) -> bool:
        return self.role in DISTRICT_READERS

    @property
    def operates(self) -> bool:
        """运维: runs the night and the push again, sends corrections, keeps 运维's own recipients."""
        return self.role == "admin"

    # --- enterprises and the people in them ---------------------------------------------------------
    def reads(self, *, category: str, town: str, head_phone: str) -> bool:
        if self.district_wide:
            return True
        if self.role == "bureau":
            return category in self.categories
        if self.role == "town":
            return town == self.town
        if self.role == "head":
            return head_phone == self.subject
        return False

    def writes(self, *, category: str, town: str) -> bool:
        """Register or change an enterprise of this category in this town (both before and after a move)."""
        if self.role == "admin":
            return True
        if self.role == "bureau":
            return category in self.categories
        if self.role == "town":
            return town == self.town
        return False

    def write_refusal(self, *, category: str, town: str) -> str | None:
        """Why this caller may not register an enterprise of this category in this town (None if it may)."""
        if self.writes(category=category, town=town):
            return None
        if self.role == "bureau":
            return "该主体类型不在您单位的管理范围内"
        if self.role == "town":
            return f"只能登记{self.town}的企业"
        return "您的账号无权登记企业"

    # --- what lists read ----------------------------------------------------------------------------
    def visible_categories(self) -> list[catalog.Category]:
        if self.role == "bureau":
            return [c for c in catalog.CATEGORIES if c.code in self.categories]
        return list(catalog.CATEGORIES) if self.role in ("admin", "taskforce", "town") else []

    def visible_towns(self) -> list[str]:
        if self.role == "town":
            return [self.town] if self.town else []
        return list(catalog.TOWNS) if self.role in ("admin", "taskforce", "bureau") else []

    def ledger_partitions(self, category: str, town: str = "") -> list[tuple[str, str]] | None:
        """(category, town) pairs of the ledger's by-scope index this caller reads for one category,
        narrowed to `town` if given; None if the category is not the caller's (or does not exist)."""
        if catalog.category(category) is None or category not in {c.code for c in self.visible_categories()}:
            return None
        return [(category, t) for t in self.visible_towns() if not town or t == town]

    def sees_category(self, category: str) -> bool:
        return category in {c.code for c in self.visible_categories()}

    def configures(self, category: str) -> bool:
        """告警设置 (§2.5): 运维, and the bureau that supervises the category; everyone else reads."""
        return self.role == "admin" or (self.role == "bureau" and category in self.categories)

    def sees_part(self, category: str, town: str) -> bool:
        """A part of the overnight run (告警记录): the officials who read that category in that town."""
        return self.role in ("admin", "taskforce", "bureau", "town") and self.reads(
            category=category, town=town, head_phone="")

    def sees_push(self, category: str | None, user_id: str | None = None) -> bool:
        """A message of the 09:00 push (推送记录): 运维 and 专班 all; a bureau its categories' lists; every
        official the messages sent to their own 粤政易 account (a 镇街 too)."""
        if self.district_wide or (self.role == "bureau" and category in self.categories):
            return True
        return self.role in ("bureau", "town") and bool(self.wecom_user) and user_id == self.wecom_user

    def configures_recipients(self) -> bool:
        """Who picks and tests 粤政易 recipients: 运维, and a bureau for its categories (Scope.configures)."""
        return self.role in ("admin", "bureau")

    def stats_partitions(self, category: str, town: str = "") -> list[tuple[str, str]] | None:
        """The statistics' partitions: one category as the ledger reads it, or every category ("all")
        for 运维 and 专班, who oversee them all; None if the caller may not."""
        if category == ALL_CATEGORIES:
            if self.role not in DISTRICT_READERS:
                return None
            return [(c.code, t) for c in catalog.CATEGORIES for t in self.visible_towns() if not town or t == town]
        return self.ledger_partitions(category, town)

    def enterprise_partitions(self, *, category: str = "", town: str = "") -> tuple[str, list[str]]:
        """Which enterprise index holds the caller's enterprises, and which keys of it: ("town", towns),
        ("category", codes) or ("head", [phone]) — the smallest set that covers the filters."""
        if self.role == "head":
            return "head", [self.subject]
        if self.role == "town":
            return "town", [self.town] if self.town and (not town or town == self.town) else []
        if self.role == "bureau":
            return "category", [c for c in sorted(self.categories) if not category or c == category]
        if category and not town:
            return "category", [category]
        return "town", [town] if town else list(catalog.TOWNS)

    def label(self) -> str:
        """The caller's scope in words, for the audit log."""
        if self.role == "town":
            return self.town or ""
        if self.role == "bureau":
            return "、".join(c.name for c in self.visible_categories())
        if self.role == "head":
            return "本人负责的企业"
        return "全区"

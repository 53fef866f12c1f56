"""What a caller reaches: one value, built once per request from the principal, that answers every
"may this caller read / change this …" question and names the partitions a list reads. Services ask it;
no service or route switches on roles itself.

    运维 (admin)       every served district (rules/geography.py); changes everything
    专班 (taskforce)   its district (a 区专班), or every district when it has none (a 市专班); changes nothing
    委办局 (bureau)    the sentinel categories it supervises, in every town of its district (a 区局), or of
                       every district when it has none (a 市局)
    镇街 (town)        its own town, every category (its district is the town's)
    企业负责人 (head)  the enterprises whose 负责人电话 is their phone

A deployment that serves one district (the default) has nothing to choose: every official's district is
that one. Pure: no AWS, no storage; the services turn partitions into queries.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.rules import catalog, geography

DISTRICT_READERS = ("admin", "taskforce")
ALL_CATEGORIES = "all"  # the statistics of every category at once: DISTRICT_READERS only


@dataclass(frozen=True)
class Scope:
    role: str
    subject: str  # username, or the head's phone
    town: str | None = None
    categories: frozenset[str] = frozenset()
    wecom_user: str | None = None  # the account's 粤政易 userid: the messages sent to it are the caller's
    district: str | None = None  # a 区 official's district (a town's is its town's); None: every district

    # --- who the caller is ------------------------------------------------------------------------
    def is_subject(self, *, role: str, subject: str) -> bool:
        """The same caller as a stored (role, subject): a subject alone is ambiguous (an account may be
        named like a head's phone number)."""
        return (self.role, self.subject) == (role, subject)

    @property
    def district_wide(self) -> bool:
        """Every category of the caller's area (运维, 专班): the statistics' 全部类别, every push message."""
        return self.role in DISTRICT_READERS

    @property
    def area(self) -> str | None:
        """The one district the caller is bound to, or None for every served district."""
        if self.role == "town":
            return geography.district_of(self.town or "")
        return self.district if self.role in ("taskforce", "bureau") else None

    def in_area(self, town: str) -> bool:
        area = self.area
        return area is None or geography.district_of(town) == area

    @property
    def operates(self) -> bool:
        """运维: runs the night and the push again, sends corrections, keeps 运维's own recipients."""
        return self.role == "admin"

    # --- enterprises and the people in them ---------------------------------------------------------
    def reads(self, *, category: str, town: str, head_phone: str) -> bool:
        if self.district_wide:
            return self.in_area(town)
        if self.role == "bureau":
            return category in self.categories and self.in_area(town)
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
            return category in self.categories and self.in_area(town)
        if self.role == "town":
            return town == self.town
        return False

    def write_refusal(self, *, category: str, town: str) -> str | None:
        """Why this caller may not register an enterprise of this category in this town (None if it may)."""
        if self.writes(category=category, town=town):
            return None
        if self.role == "bureau":
            if category in self.categories:
                return f"只能登记{self.area}的企业"
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
        if self.role not in ("admin", "taskforce", "bureau"):
            return []
        area = self.area
        return list(geography.towns_of(area) if area else geography.towns())

    def visible_districts(self) -> list[str]:
        """The districts the caller's lists cover (a 镇街: its town's)."""
        if self.role not in ("admin", "taskforce", "bureau", "town"):
            return []
        area = self.area
        return [area] if area else list(geography.districts())

    def ledger_partitions(self, category: str, town: str = "") -> list[tuple[str, str]] | None:
        """(category, town) pairs of the ledger's by-scope index this caller reads for one category,
        narrowed to `town` if given; None if the category is not the caller's (or does not exist)."""
        if catalog.category(category) is None or category not in {c.code for c in self.visible_categories()}:
            return None
        return [(category, t) for t in self.visible_towns() if not town or t == town]

    def ledger_reads(self, category: str, town: str = "") -> tuple[str, list[str]] | None:
        """What a ledger page without a search reads for one category: ("town", towns) — the by-scope
        partitions of one town — or ("district", districts) — the by-reach partition of each district the
        caller covers (one for a district official, a bureau or a one-district deployment). Either way
        the number of partitions does not grow as towns are added; None if the category is not theirs."""
        pairs = self.ledger_partitions(category, town)
        if pairs is None:
            return None
        if town or self.role == "town":
            return "town", [t for _, t in pairs]
        return "district", self.visible_districts()

    def sees_category(self, category: str) -> bool:
        return category in {c.code for c in self.visible_categories()}

    def configures(self, category: str) -> bool:
        """告警设置 (§2.5): 运维, and the bureau that supervises the category; everyone else reads. A
        category's rule and recipients hold for every district served, so a 区局 (one district's bureau)
        reads them and only a bureau of every district (a 市局; the district's own in a one-district stage)
        changes them."""
        return self.role == "admin" or (self.role == "bureau" and category in self.categories and self.area is None)

    def sees_part(self, category: str, town: str) -> bool:
        """A part of the overnight run (告警记录): the officials who read that category in that town."""
        return self.role in ("admin", "taskforce", "bureau", "town") and self.reads(
            category=category, town=town, head_phone="")

    def sees_push(self, category: str | None, user_id: str | None = None, town: str | None = None) -> bool:
        """A message of the 09:00 push (推送记录): 运维 and 专班 all; a bureau its categories' lists; every
        official the messages sent to their own 粤政易 account (a 镇街 too). A district official (区专班,
        区局) sees, of the others, only the lists of its district's towns: a category's whole list names
        every district's people."""
        if self.role in ("bureau", "town", "taskforce") and bool(self.wecom_user) and user_id == self.wecom_user:
            return True
        if not (self.district_wide or (self.role == "bureau" and category in self.categories)):
            return False
        return self.area is None or (bool(town) and self.in_area(town))

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
        if town and town not in self.visible_towns():
            return "town", []
        if town and self.role != "bureau":  # one town, every category: its partition
            return "town", [town]
        # a category's partition (a bureau's with a town: filtered by the town after), of the district
        # for a district official (by-reach), else of every district: never one per town
        codes = [c.code for c in self.visible_categories() if not category or c.code == category]
        area = self.area
        if area:
            return "reach", [geography.reach_key(area, c) for c in codes]
        return "category", codes

    def label(self) -> str:
        """The caller's scope in words, for the audit log."""
        if self.role == "town":
            return self.town or ""
        if self.role == "bureau":
            names = "、".join(c.name for c in self.visible_categories())
            return f"{self.area} {names}" if self.area else names
        if self.role == "head":
            return "本人负责的企业"
        return self.area or geography.current().area

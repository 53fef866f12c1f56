"""Which roles may call each route: the one table every route decorator reads (api/common.route), and
the access matrix test walks (tests/functional/test_access_matrix.py). A route without an entry here
fails at import, so no route can exist without a decision.

Roles say who may call a route at all; which enterprises, people, jobs and files they then reach is the
caller's Scope (access/scope.py), checked by the services on every object.
"""
from __future__ import annotations

from chalicelib.errors import ForbiddenError

PUBLIC = "public"  # no session: logging in, and the local stage's SMS outbox
SIGNED_IN = "signed-in"  # any valid session; what it reaches is decided by the caller's scope

ADMIN = ("admin",)
WRITERS = ("admin", "bureau", "town")  # register enterprises
OFFICIALS = ("admin", "bureau", "town", "taskforce")  # read the ledger (专班 reads, never writes)
HEADS = ("head",)
READERS = (*OFFICIALS, "head")
PUSH_READERS = ("admin", "taskforce", "bureau", "town")  # 推送记录: who sends (运维), who receives the summary,
# who configures, and every recipient its own messages (Scope.sees_push)
CONFIGURERS = ("admin", "bureau")  # 告警设置: 运维 and the supervising bureau (which: Scope.configures)

ROUTES: dict[tuple[str, str], object] = {
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/sms"): PUBLIC,
    ("POST", "/api/auth/sms-login"): PUBLIC,
    ("GET", "/api/dev/sms-outbox"): PUBLIC,  # answers 404 outside the local stage
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("GET", "/api/me"): SIGNED_IN,
    ("GET", "/api/lists"): SIGNED_IN,
    ("GET", "/api/freshness"): SIGNED_IN,
    ("GET", "/api/imports/{job_id}"): SIGNED_IN,  # only its uploader (role + subject)
    ("GET", "/api/imports/{job_id}/failures"): SIGNED_IN,
    ("GET", "/api/accounts"): ADMIN,
    ("POST", "/api/accounts"): ADMIN,
    ("PUT", "/api/accounts/{username}"): ADMIN,
    ("POST", "/api/accounts/{username}/disable"): ADMIN,
    ("POST", "/api/accounts/{username}/enable"): ADMIN,
    ("POST", "/api/accounts/{username}/reset-password"): ADMIN,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/audit/actions"): ADMIN,
    ("GET", "/api/audit/export"): ADMIN,
    ("GET", "/api/feeds"): ADMIN,
    ("POST", "/api/feeds/upload"): ADMIN,
    ("GET", "/api/feeds/{feed_id}"): ADMIN,
    ("GET", "/api/dead-letters"): ADMIN,
    ("POST", "/api/dead-letters/retry"): ADMIN,
    ("GET", "/api/person-key"): ADMIN,  # the person-key rotation's state (数据接入)
    ("GET", "/api/enterprises"): READERS,
    ("GET", "/api/enterprises/{enterprise_id}"): READERS,
    ("GET", "/api/enterprises/export"): OFFICIALS,
    ("POST", "/api/enterprises"): WRITERS,
    ("PUT", "/api/enterprises/{enterprise_id}"): WRITERS,
    ("GET", "/api/enterprises/template"): WRITERS,
    ("POST", "/api/enterprises/import"): WRITERS,
    ("POST", "/api/enterprises/delete-preview"): WRITERS,
    ("POST", "/api/enterprises/batch-delete"): WRITERS,
    ("GET", "/api/staff/options"): HEADS,
    ("GET", "/api/staff"): HEADS,
    ("POST", "/api/staff"): HEADS,
    ("GET", "/api/staff/template"): HEADS,
    ("POST", "/api/staff/import"): HEADS,
    ("GET", "/api/staff/export"): HEADS,
    ("POST", "/api/staff/batch-delete"): HEADS,
    ("GET", "/api/staff/{staff_id}"): HEADS,
    ("PUT", "/api/staff/{staff_id}"): HEADS,
    ("GET", "/api/dashboard"): HEADS,
    ("GET", "/api/dashboard/people"): HEADS,
    ("GET", "/api/health/{staff_id}"): READERS,
    ("GET", "/api/ledger/categories"): OFFICIALS,
    ("GET", "/api/ledger"): OFFICIALS,
    ("POST", "/api/ledger/export"): OFFICIALS,
    ("GET", "/api/exports/{export_id}"): SIGNED_IN,
    ("GET", "/api/alerts/settings/{category}"): OFFICIALS,
    ("PUT", "/api/alerts/settings/{category}"): CONFIGURERS,  # which bureau: Scope.configures
    ("GET", "/api/alerts/recipients/options"): CONFIGURERS,  # accounts that carry a 粤政易 userid
    ("POST", "/api/alerts/recipients/test"): CONFIGURERS,  # 发送测试消息
    ("GET", "/api/alerts/ops-recipients"): ADMIN,  # 运维's own recipients: lists nobody else receives
    ("PUT", "/api/alerts/ops-recipients"): ADMIN,
    ("GET", "/api/alerts/runs"): OFFICIALS,  # each caller's own parts (Scope.sees_part)
    ("GET", "/api/alerts/runs/{day}"): OFFICIALS,
    ("GET", "/api/alerts/runs/{day}/people"): OFFICIALS,
    ("POST", "/api/alerts/runs/{day}/people/export"): OFFICIALS,
    ("POST", "/api/alerts/runs/{day}/start"): ADMIN,
    ("GET", "/api/alerts/pushes"): PUSH_READERS,  # a bureau: its categories' lists (Scope.sees_push)
    ("POST", "/api/alerts/pushes/{day}/start"): ADMIN,
    ("POST", "/api/alerts/pushes/{day}/corrections"): ADMIN,  # 推送更正名单 after a re-run
    ("POST", "/api/alerts/pushes/{day}/retry"): ADMIN,
    ("POST", "/api/alerts/pushes/{day}/resolve"): ADMIN,
    ("GET", "/api/alerts/pushes/{day}/attachment"): PUSH_READERS,
    ("GET", "/api/alerts/taskforce"): PUSH_READERS,
    ("PUT", "/api/alerts/taskforce"): ADMIN,
    ("GET", "/api/dashboard/shortfalls"): HEADS,
    ("GET", "/api/stats/nat"): OFFICIALS,
    ("GET", "/api/stats/nat/people"): OFFICIALS,
    ("GET", "/api/stats/nat/export"): OFFICIALS,
    ("POST", "/api/stats/nat/people/export"): OFFICIALS,
    ("GET", "/api/stats/vaccine"): OFFICIALS,
    ("GET", "/api/stats/vaccine/people"): OFFICIALS,
    ("GET", "/api/stats/vaccine/export"): OFFICIALS,
    ("POST", "/api/stats/vaccine/people/export"): OFFICIALS,  # only its requester (role + subject)
    ("GET", "/api/ledger/{staff_id}"): OFFICIALS,
}


def require(principal, roles: tuple[str, ...]) -> None:
    """Inside a service, the same rule again (a service may be called from more than one route)."""
    if principal.role not in roles:
        raise ForbiddenError("您的账号无权进行此操作")


def roles_for(method: str, path: str):
    try:
        return ROUTES[(method, path)]
    except KeyError:
        raise LookupError(f"route {method} {path} has no entry in chalicelib/access/policy.py") from None

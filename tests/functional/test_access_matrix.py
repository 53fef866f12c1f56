"""The access matrix, generated: every route of the app × every kind of caller × objects from inside and
outside the caller's scope, each answer checked against the one policy table (access/policy.py).

Callers: anonymous, each role, a bureau of another category, a town of another town, a head of another
enterprise, a disabled account, an expired session, a logged-out session and a tampered token. Objects
are ids of enterprises, people, import jobs, feed files and accounts that the caller may not reach (and,
for callers who may, ids they own). Expected:
- a caller without a valid session: 401 (a disabled account's session: 403), except on public routes;
- a role the route's policy does not list: 403;
- an allowed role and an object outside its scope: 404 "不在您的管理范围内" (no probing by id);
- an allowed role and its own object: neither 401, 403 nor 404;
- never a 500; and afterwards every outside object is unchanged.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.access import policy
from tests.conftest import PASSWORD
from tests.functional.test_staff import HEAD, OTHER_HEAD, district, person  # noqa: F401 - fixture

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARAM = re.compile(r"\{(\w+)\}")
SIGNED_OUT = ("anonymous", "expired", "logged-out", "tampered")


def _routes():
    import app as application

    return sorted((method, path) for path, methods in application.app.routes.items() for method in methods)


def test_every_route_has_a_policy_and_every_policy_a_route():
    assert set(_routes()) == set(policy.ROUTES)


@pytest.fixture
def world(api, login, district, head_login, aws):
    """Principals and, per principal, an object of each kind outside its scope and one inside."""
    from chalicelib.rules.clock import local_day, now
    from chalicelib.services.common import security
    from chalicelib.store.models import Account, Session
    from tests.functional.importing import deliver, workbook
    from tests.functional.test_staff_import import HEADER, row, upload

    admin = login("admin")
    head, other_head = head_login(HEAD), head_login(OTHER_HEAD)
    express_person = api.post("/api/staff", token=head, body=person(district["express"]["id"], n=1))[1]["id"]
    site_person = api.post("/api/staff", token=head, body=person(district["site"]["id"], n=2,
                                                                extra={"project_name": "黄阁大道改造"}))[1]["id"]
    other_person = api.post("/api/staff", token=other_head, body=person(district["other"]["id"], n=3))[1]["id"]
    head_job = upload(api, head, workbook([row(9, "甲")], header=HEADER))[1]["id"]
    other_job = upload(api, other_head, workbook([row(8, "乙", enterprise="别家物流")], header=HEADER))[1]["id"]
    deliver(aws)

    tokens = {"admin": admin, "bureau": login("youzheng"), "bureau-other": login("zhujian"),
              "town": login("nanshajie"), "town-other": login("huangge"), "taskforce": login("zhuanban"),
              "head": head, "head-other": other_head, "anonymous": None}
    stamp = now()
    Account("gone", role="bureau", display_name="已停用", categories=["express"], created_at=stamp, updated_at=stamp,
            password_hash=security.hash_password(PASSWORD)).save()
    tokens["disabled"] = login("gone")
    api.post("/api/accounts/gone/disable", token=admin)
    expired = security.new_token()
    Session(security.token_digest(expired), subject="youzheng", role="bureau", epoch=0, created_at=stamp,
            expires_at=stamp - timedelta(minutes=1)).save()
    tokens["expired"] = expired
    out = api.post("/api/auth/login", body={"username": "zhuanban", "password": PASSWORD})[1]["token"]
    api.post("/api/auth/logout", token=out)
    tokens["logged-out"] = out
    tokens["tampered"] = admin[:-2] + ("AA" if admin[-2:] != "AA" else "BB")
    bureau_export = api.post("/api/ledger/export?category=express", token=tokens["bureau"])[1]["id"]

    express, site, other = district["express"]["id"], district["site"]["id"], district["other"]["id"]
    nobody = {"enterprise_id": "0" * 32, "staff_id": f"{'0' * 32}.x", "job_id": "0" * 32, "export_id": "0" * 32, "feed_id": "0" * 32, "category": "nosuch",
              "username": "nobody-here", "day": local_day(now()).isoformat()}
    outside = {  # per principal: ids it may not reach
        "admin": {**nobody, "export_id": bureau_export}, "taskforce": {**nobody, "export_id": bureau_export},
        "disabled": nobody, **{k: nobody for k in SIGNED_OUT},
        "bureau": {**nobody, "enterprise_id": site, "staff_id": site_person, "job_id": head_job,
                   "category": "construction"},
        "bureau-other": {**nobody, "enterprise_id": express, "staff_id": express_person, "job_id": head_job,
                         "export_id": bureau_export, "category": "express"},
        "town": {**nobody, "enterprise_id": site, "staff_id": site_person, "job_id": head_job, "export_id": bureau_export},
        "town-other": {**nobody, "enterprise_id": express, "staff_id": express_person, "job_id": head_job, "export_id": bureau_export},
        "head": {**nobody, "enterprise_id": other, "staff_id": other_person, "job_id": other_job, "export_id": bureau_export},
        "head-other": {**nobody, "enterprise_id": express, "staff_id": express_person, "job_id": head_job, "export_id": bureau_export},
    }
    inside = {  # per principal: ids it owns (None: nothing of that kind, or nothing safe to touch)
        "bureau": {"enterprise_id": express, "staff_id": express_person, "export_id": bureau_export,
                   "category": "express"},
        "bureau-other": {"enterprise_id": site, "staff_id": site_person, "category": "construction"},
        "town": {"enterprise_id": express, "staff_id": express_person, "category": "express"},
        "town-other": {"enterprise_id": site, "staff_id": site_person, "category": "construction"},
        "taskforce": {"enterprise_id": express, "staff_id": express_person, "category": "express"},
        "head": {"enterprise_id": express, "staff_id": express_person, "job_id": head_job},
        "head-other": {"enterprise_id": other, "staff_id": other_person, "job_id": other_job},
    }
    role = {"bureau-other": "bureau", "town-other": "town", "head-other": "head", "disabled": "bureau"}
    return {"tokens": tokens, "outside": outside, "inside": inside, "absent": nobody, "role": role,
            "keep": {"enterprises": [express, site, other], "staff": [express_person, site_person, other_person]}}


def _body(method, path, ids):
    if path.endswith(("/import", "/upload")):  # the first step of an upload: a name and a size, never the file
        return {"filename": "a.xlsx", "size": 100, "kind": "nat"}
    if path.endswith("batch-delete") or path.endswith("delete-preview"):
        return {"ids": [ids.get("staff_id") if "/staff/" in path else ids.get("enterprise_id")], "confirm_staff": True}
    if path == "/api/dead-letters/retry":
        return {"queue": "imports", "id": "nothing"}
    return {} if method in ("POST", "PUT") else None


def _call(api, method, path, token, ids):
    concrete = PARAM.sub(lambda m: ids[m.group(1)], path)
    headers = {"Accept": f"application/json, {XLSX}"}
    return api.call(method, concrete, token=token, body=_body(method, path, ids), headers=headers)


def _refused_object(status, body) -> bool:
    """The object itself was refused (absent, or outside the caller's scope) — not, say, 没有失败数据."""
    message = body.get("message", "") if isinstance(body, dict) else ""
    return status == 404 and ("不存在" in message or "管理范围" in message)


def test_the_access_matrix(api, world):
    checks, problems = 0, []
    for method, path in _routes():
        if path == "/api/auth/logout":
            continue  # walked by test_logout_ends_only_the_callers_session
        who = policy.ROUTES[(method, path)]
        # a day (告警记录, 推送记录) is not an object in anyone's scope: what it holds is filtered by scope
        takes_object = bool(set(PARAM.findall(path)) - {"day"}) or path.endswith(("batch-delete", "delete-preview"))
        destructive = path.endswith("batch-delete")  # only ever called with ids the caller may not reach
        for name, token in world["tokens"].items():
            role = world["role"].get(name, name)
            absent = world["absent"] if takes_object and world["outside"][name] is not world["absent"] else None
            for kind, ids in (("outside", world["outside"][name]), ("outside", absent),
                              ("inside", world["inside"].get(name))):
                if ids is None or (kind == "inside" and (destructive or not takes_object or not all(
                        p in ids for p in PARAM.findall(path)))):
                    continue
                status, body = _call(api, method, path, token, ids)
                checks += 1
                if status >= 500:
                    expected = "no 500"
                elif who == policy.PUBLIC:
                    expected = None
                elif name in SIGNED_OUT:
                    expected = None if status == 401 else "401"
                elif name == "disabled":
                    expected = None if status in (401, 403) else "401/403"
                elif who != policy.SIGNED_IN and role not in who:
                    expected = None if status == 403 else "403"
                elif kind == "outside" and takes_object and not path.endswith(("batch-delete", "delete-preview")):
                    expected = None if status == 404 else "404"
                elif kind == "inside":
                    expected = None if status not in (401, 403) and not _refused_object(status, body) else "reachable"
                else:
                    expected = None if status not in (401,) else "not 401"
                if expected:
                    problems.append(f"{method} {path} as {name} ({kind}): {status}, expected {expected}")
    assert not problems, "\n".join(problems)
    assert checks >= 1150, checks  # 1,152 at this writing: a route or caller lost shrinks it
    print(f"access matrix: {len(_routes())} routes × {len(world['tokens'])} callers, {checks} checks")
    admin = world["tokens"]["admin"]
    for ent in world["keep"]["enterprises"]:  # nothing outside a caller's scope was changed or deleted
        assert api.get(f"/api/enterprises/{ent}", token=admin)[0] == 200
    for staff_id in world["keep"]["staff"]:
        assert api.get(f"/api/ledger/{staff_id}", token=admin)[0] == 200


def test_logout_ends_only_the_callers_session(api, login):
    first = login("admin")
    second = api.post("/api/auth/login", body={"username": "admin", "password": PASSWORD})[1]["token"]
    assert api.post("/api/auth/logout", token=second)[0] == 200
    assert api.get("/api/me", token=second)[0] == 401 and api.get("/api/me", token=first)[0] == 200
    assert api.post("/api/auth/logout")[0] == 401

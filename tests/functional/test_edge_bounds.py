"""Issue 23, the abuse findings at the HTTP edge: every id a request names is checked for length and form
before a view runs (an id longer than DynamoDB's key limits answered 500 INTERNAL), and a body's size is
checked before it is read (a 50 MB upload was read whole, +241 MB in one API process, before its 413).

The walk is generated from the one route table (access/policy.py ROUTES), as the access matrix is: a route
added later is walked too. It runs on moto and on DynamoDB Local, which refuses an oversized key as the
real DynamoDB does (partition key ≤ 2,048 bytes, sort key ≤ 1,024).
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from chalicelib.access import policy
from chalicelib.api.edge import FILE_NOT_HERE
from tests.functional.test_staff import HEAD, district  # noqa: F401 - fixture

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARAM = re.compile(r"\{(\w+)\}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
LONG = "A" * 3000
# and one shaped like a compound id (a staff id is <enterprise>.<person key>): /api/ledger/{id} and
# /api/health/{id} split it and looked the enterprise part up
LONGS = (LONG, f"{LONG}.{'0' * 64}")
# the query parameters that name something a service may look up by key (the rest are free text, bounded
# by the general rule the last test walks)
ID_QUERIES = ("enterprise_id", "category", "town", "day", "item", "kind", "bucket", "measure", "person_category",
              "cursor")
PREFERRED = ("admin", "bureau", "town", "taskforce", "head")


def _caller(who, tokens):
    """A principal the route's policy lets in: the refusal must come from the id, not from the role."""
    if who == policy.PUBLIC:
        return None
    if who == policy.SIGNED_IN:
        return tokens["admin"]
    return tokens[next(role for role in PREFERRED if role in who)]


@pytest.fixture
def tokens(login, head_login, district):
    return {"admin": login("admin"), "bureau": login("youzheng"), "town": login("nanshajie"),
            "taskforce": login("zhuanban"), "head": head_login(HEAD)}


def _routes():
    """Every route of the table but logout, which would end the session the walk uses."""
    return [(route, who) for route, who in sorted(policy.ROUTES.items()) if route != ("POST", "/api/auth/logout")]


def _call(api, method, path, token, *, query=""):
    headers = {"Accept": f"application/json, {XLSX}"}
    body = {"filename": "a.xlsx", "size": 100, "kind": "nat"} if path.endswith(("/import", "/upload")) else {}
    return api.call(method, path + query, token=token, body=body if method in ("POST", "PUT") else None,
                    headers=headers)


def _refused(status, body) -> str | None:
    """None when the answer is a 400 or 404 with a Chinese message; else what is wrong with it."""
    message = body.get("message", "") if isinstance(body, dict) else ""
    if status not in (400, 404):
        return f"{status} {str(body)[:160]}"
    if not CHINESE.search(message) or "Exception" in message or "key" in message.lower():
        return f"{status} without a Chinese message: {message[:160]}"
    return None


def test_a_3000_character_id_in_any_path_parameter_answers_400_or_404_never_500(api, tokens):
    problems, walked = [], 0
    for (method, path), who in _routes():
        for name in PARAM.findall(path):
            for value in LONGS:
                concrete = PARAM.sub(lambda m: value if m.group(1) == name else "x", path)
                status, body = _call(api, method, concrete, _caller(who, tokens))
                walked += 1
                problem = _refused(status, body)
                if problem:
                    problems.append(f"{method} {path} ({name}={value[-70:]}): {problem}")
    assert not problems, "\n".join(problems)
    assert walked >= 50, walked  # 29 path parameters × 2 at this writing: a lost route shrinks it


def test_a_3000_character_id_in_a_query_parameter_answers_400_never_500(api, tokens):
    """Every route, each id-like query parameter too long: the push attachment's item= was one of the 27 × 500."""
    problems = []
    for (method, path), who in _routes():
        concrete = PARAM.sub(lambda m: "2026-01-01" if m.group(1) == "day" else "x", path)
        for name in ID_QUERIES:
            status, body = _call(api, method, concrete, _caller(who, tokens), query=f"?{name}={LONG}")
            problem = _refused(status, body)
            if problem:
                problems.append(f"{method} {path} ?{name}=: {problem}")
    assert not problems, "\n".join(problems)


def test_the_push_attachment_item_is_bounded_in_bytes_not_only_in_characters(api, tokens):
    """300 four-byte characters are 1,200 bytes: past the 1,024 a sort key may have."""
    status, body = api.get(f"/api/alerts/pushes/2026-01-01/attachment?item={quote('😀' * 300)}",
                           token=tokens["admin"])
    assert status == 400 and body["fields"] == {"item": "推送记录格式不正确"}, body


def test_a_malformed_id_names_the_field_and_a_well_formed_one_still_reaches_the_service(api, tokens, district):
    admin = tokens["admin"]
    status, body = api.get(f"/api/enterprises/{LONG}", token=tokens["town"])
    assert status == 404 and "企业编号" in body["message"] and "enterprise_id" in body["fields"], body
    status, body = api.get("/api/ledger/not-a-staff-id", token=admin)
    assert status == 404 and "人员编号" in body["message"], body
    status, body = api.get("/api/alerts/runs/2026-13-45x", token=admin)
    assert status == 400 and body["fields"] == {"day": "日期格式应为 YYYY-MM-DD"}, body
    # the forms admit every id the system mints
    assert api.get(f"/api/enterprises/{district['express']['id']}", token=tokens["town"])[0] == 200
    assert api.get("/api/exports/" + "0" * 32, token=admin)[0] == 404  # well formed, absent: the service says so
    assert api.get("/api/accounts", token=admin)[0] == 200
    assert api.post("/api/accounts/nanshajie/disable", token=admin)[0] == 200
    assert api.get("/api/alerts/settings/express", token=admin)[0] == 200
    assert api.get("/api/stats/nat?category=all", token=admin)[0] == 200
    assert api.get(f"/api/dashboard?enterprise_id={district['express']['id']}", token=tokens["head"])[0] == 200


def test_any_query_value_is_bounded(api, tokens):
    """Free-text parameters (q, actor, from …) are not ids, but no value of a few thousand characters is a
    search anyone typed: one rule for all of them."""
    status, body = api.get(f"/api/ledger?category=express&q={LONG}", token=tokens["admin"])
    assert status == 400 and "q" in body["fields"] and CHINESE.search(body["message"]), body
    status, body = api.get(f"/api/audit?actor={LONG}", token=tokens["admin"])
    assert status == 400 and "actor" in body["fields"], body


def test_ids_a_json_body_names_are_checked_by_the_same_forms(api, tokens):
    """Found by the same walk over bodies: a batch's ids, a push record named in a body and a typed username
    reached DynamoDB as keys (500 on DynamoDB Local)."""
    admin = tokens["admin"]
    for path in ("/api/enterprises/delete-preview", "/api/enterprises/batch-delete"):
        status, body = api.post(path, token=admin, body={"ids": [LONG], "confirm_staff": True})
        assert status == 404 and body["fields"] == {"ids": "企业编号格式不正确"}, (path, body)
    status, body = api.post("/api/staff/batch-delete", token=tokens["head"], body={"ids": [LONGS[1]]})
    assert status == 404 and "人员" in body["message"], body
    for path in ("retry", "resolve"):
        status, body = api.post(f"/api/alerts/pushes/2026-01-01/{path}", token=admin, body={"item": "😀" * 300})
        assert status == 400 and body["fields"] == {"item": "推送记录格式不正确"}, (path, body)
    status, body = api.post("/api/auth/login", body={"username": LONG, "password": "x"})
    assert status == 401 and body["message"] == "用户名或密码错误", body


# --- a body's size, checked before it is read ----------------------------------------------------------

def test_the_edge_refuses_a_body_on_its_declared_length_before_the_view_reads_it(api, tokens):
    """In the app itself (api/edge.py, the `http` middleware): what API Gateway passes on is refused on
    its Content-Length with the route's own message, before a view decodes it."""
    status, body = api.call("POST", "/api/enterprises/import", token=tokens["admin"], raw=b"PK\x03\x04",
                            headers={"Content-Type": XLSX, "Content-Length": str(50 << 20)})
    assert status == 413 and body == {"code": "TOO_LARGE", "message": FILE_NOT_HERE}, body
    status, body = api.call("POST", "/api/enterprises", token=tokens["admin"], body={},
                            headers={"Content-Length": str(1 << 20)})
    assert status == 413 and body["message"] == "请求内容过大（超过 256 KB）", body


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """local/server.py as `make run` starts it (the relay and one API process), without the AWS stand-ins:
    every request below is answered before anything is stored."""
    from local.server import Server
    from local.stack import free_port

    server = Server(port=free_port(), processes=1, dist=tmp_path_factory.mktemp("dist")).start()
    yield server
    server.stop()


def _send(front, head: str, body: bytes = b"", *, wait: float = 10.0):
    """Send a request's head and some of its body on a raw socket; the answer as (status, headers, JSON
    body, seconds it took). A server that waits for the rest of the body makes this time out."""
    import http.client
    import json
    import socket
    import time

    with socket.create_connection(("127.0.0.1", front.port), timeout=wait) as sock:
        started = time.monotonic()
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        data = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, json.loads(data), time.monotonic() - started


@pytest.mark.once
def test_the_local_server_refuses_a_declared_50_mb_upload_without_reading_it(front):
    """The finding: a 50 MB body to the upload route was read whole (+241 MB in one API process) before its
    413. Now the relay refuses on Content-Length: 64 KB of the 50 MB are sent, and the 413 comes at once
    (no route takes a file any more: a file sent to an upload route is told where files go)."""
    status, headers, body, seconds = _send(front, (
        f"POST /api/enterprises/import HTTP/1.1\nHost: x\nContent-Type: {XLSX}\nContent-Length: {50 << 20}\n"),
        b"\0" * 65536)
    assert status == 413 and body == {"code": "TOO_LARGE", "message": FILE_NOT_HERE}, body
    assert headers["connection"] == "close" and headers["x-content-type-options"] == "nosniff"
    assert seconds < 5
    status, _, body, _ = _send(front, f"POST /api/auth/login HTTP/1.1\nHost: x\nContent-Length: {1 << 20}\n")
    assert status == 413 and body["message"] == "请求内容过大（超过 256 KB）"
    status, _, body, _ = _send(front, "POST /api/auth/login HTTP/1.1\nHost: x\nContent-Length: 12x\n")
    assert status == 400 and "Content-Length" in body["message"]
    # curl's way with a large body: refused before the body is sent
    status, _, body, _ = _send(front, (f"POST /api/staff/import HTTP/1.1\nHost: x\nContent-Type: {XLSX}\n"
                                       f"Content-Length: {50 << 20}\nExpect: 100-continue\n"))
    assert status == 413 and body["message"] == FILE_NOT_HERE


@pytest.mark.once
def test_the_local_server_reads_a_chunked_body_only_while_it_is_within_the_limit(front):
    # one chunk that says it is 5 MB: refused on its size line, nothing of it read
    status, _, body, seconds = _send(front, (
        "POST /api/feeds/upload?kind=nat HTTP/1.1\nHost: x\nContent-Type: text/csv\nTransfer-Encoding: chunked\n"),
        b"500000\r\n" + b"a" * 1024)
    assert status == 413 and body["message"] == FILE_NOT_HERE and seconds < 5, body
    # small chunks past the limit: read up to it, refused at the chunk that would cross it
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    status, _, body, _ = _send(front, "POST /api/auth/sms HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n",
                               chunk * 5)
    assert status == 413 and body["message"] == "请求内容过大（超过 256 KB）", body
    # within the limit, the body reaches the app whole (before, a chunked body arrived empty)
    status, _, body, _ = _send(front, "POST /api/auth/sms HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n",
                               b"1\r\n{\r\n0\r\n\r\n")
    assert status == 400 and body["message"] == "请求内容不是有效的 JSON", body
    # and the server still answers
    status, _, body, _ = _send(front, "GET /api/lists HTTP/1.1\nHost: x\nConnection: close\n")
    assert status == 401

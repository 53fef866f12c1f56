"""Fuzzing every route, generated from the route table: random callers, path values, query strings,
content types and bodies (nested JSON of every type, lone surrogates, huge or binary bodies). No answer
may be a 500, and every refusal is JSON with a Chinese message.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.functional.test_staff import HEAD, district  # noqa: F401 - fixture

pytestmark = pytest.mark.once
CASES = 1100
PARAM = re.compile(r"\{(\w+)\}")
QUERY_NAMES = ["page", "page_size", "q", "category", "town", "kind", "bucket", "from", "to", "cursor",
               "enterprise_id", "actor", "action", "hours"]
CONTENT_TYPES = ["application/json", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "text/csv", "application/octet-stream", "text/plain", "multipart/form-data; boundary=x", ""]
CHINESE = re.compile(r"[\u4e00-\u9fff]")

text = st.text(max_size=30) | st.sampled_from(["", "express", "南沙街", "0" * 32, "../../etc", "\ud800", "%00",
                                                 "1" * 5000, "13800138000", "-1", "999999999999"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4), max_leaves=12)
bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["name", "ids", "phone", "code", "username", "password", "category", "town",
                                     "enterprise_id", "id_number", "extra", "queue", "id", "version"]) | text,
                    json_values, max_size=6).map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"[" * 5000, b'{"a":' * 40 + b"1" + b"}" * 40, b"PK\x03\x04" + b"\0" * 100, b"\xff\xfe"]),
)


def _routes():
    import app as application

    return sorted((m, p) for p, methods in application.app.routes.items() for m in methods
                  if p != "/api/auth/logout")


def test_no_route_answers_500_to_anything(api, login, district, head_login):
    tokens = [None, login("admin"), login("youzheng"), login("nanshajie"), login("zhuanban"), head_login(HEAD),
              "not-a-token"]
    seen = {"cases": 0}

    # derandomize: the same 1,100 cases on every run, so CI is reproducible; widen CASES or drop it locally
    # to look further (a random run found a surrogate as a field name, now covered in test_found_from_outside)
    @settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(route=st.sampled_from(_routes()), token=st.sampled_from(tokens),
           params=st.dictionaries(st.sampled_from(QUERY_NAMES), text, max_size=4),
           values=st.dictionaries(st.sampled_from(["enterprise_id", "staff_id", "job_id", "feed_id", "username"]),
                                  text.filter(lambda t: t and "/" not in t and t not in (".", "..")), max_size=5),
           content_type=st.sampled_from(CONTENT_TYPES), accept=st.sampled_from(["application/json", "*/*", ""]),
           body=bodies)
    def one(route, token, params, values, content_type, accept, body):
        method, path = route
        concrete = PARAM.sub(lambda m: quote((values.get(m.group(1)) or "x").encode("utf-8", "surrogatepass"), safe=""), path)
        query = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params.items())
        headers = {"Content-Type": content_type, "Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = getattr(api.client.http, method.lower())(concrete + (f"?{query}" if query else ""),
                                                            headers=headers, body=body)
        seen["cases"] += 1
        assert response.status_code < 500, (method, concrete, response.status_code, response.body[:300])
        kind = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
        if response.status_code >= 400 and "json" in kind:
            message = json.loads(response.body).get("message", "")
            assert CHINESE.search(message), (method, concrete, message)

    one()
    assert seen["cases"] >= 1000, seen
    print(f"fuzz: {seen['cases']} cases over {len(_routes())} routes, no 500")

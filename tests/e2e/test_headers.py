"""Finding 11 on the running system: every page and answer carries the security headers, nothing names
the server software, and a path no route has is answered in Chinese."""
from __future__ import annotations

import json
import urllib.error
import urllib.request


def _get(url):
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_pages_and_answers_carry_security_headers_and_no_server_banner(system):
    for path in ("/", "/m/", "/api/lists", "/api/no-such-route", "/assets/missing.js"):
        status, headers, body = _get(system + path)
        names = {k.lower(): v for k, v in headers.items()}
        assert "server" not in names, (path, names.get("server"))
        assert names["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in names["content-security-policy"], path
        assert names["referrer-policy"] == "no-referrer", path
        if path in ("/", "/m/"):
            assert "script-src 'self'" in names["content-security-policy"]
            assert b"<script>" not in body and b"<script type=\"module\">" not in body  # no inline script
    status, _, body = _get(system + "/api/no-such-route")
    assert status == 404 and json.loads(body)["message"] == "接口不存在"

"""A new stage's first 运维 account (infra/first_admin.py): created once, able to log in, audited."""
from __future__ import annotations

import pytest

from infra import first_admin


@pytest.mark.once
def test_the_first_admin_is_created_once_and_can_log_in(api, aws, monkeypatch, capsys):
    monkeypatch.setenv("STAGE", "local")  # the test stack's tables; the tool sets the prefix from --stage
    answers = iter(["Nansha#2026x", "Nansha#2026x"])
    assert first_admin.main(["--stage", "local", "--username", "ops"], ask=lambda _: next(answers)) == 0
    token = api.post("/api/auth/login", body={"username": "ops", "password": "Nansha#2026x"})[1]["token"]
    assert api.get("/api/me", token=token)[1]["role"] == "admin"
    events = api.get("/api/audit", token=token)[1]["items"]
    assert any(e["action"] == "新增账号" and e["target"] == "ops" for e in events)
    again = iter(["Nansha#2026x", "Nansha#2026x"])
    assert first_admin.main(["--stage", "local", "--username", "ops"], ask=lambda _: next(again)) == 1
    assert "已存在" in capsys.readouterr().err
    mismatch = iter(["Nansha#2026x", "other"])
    assert first_admin.main(["--stage", "local", "--username", "ops2"], ask=lambda _: next(mismatch)) == 1

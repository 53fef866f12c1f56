"""Every action the code records is one the 操作日志 filter offers."""
from __future__ import annotations

import re
from pathlib import Path

from chalicelib.services.identity.audit import ACTIONS

ROOT = Path(__file__).resolve().parents[2]


def test_every_recorded_action_is_listed():
    found = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'audit\.record\([^)]*?action="([^"]+)"', text, re.S))
        found |= set(re.findall(r'(?<![\w.])record\([^)]*?action="([^"]+)"', text, re.S)) if path.name == "audit.py" else set()
        found |= set(re.findall(r'action="(导入[^"]+)" if', text))
        found |= set(re.findall(r'else "(导入[^"]+)"', text))
    assert found and found <= set(ACTIONS), found - set(ACTIONS)

"""The whole local system (DynamoDB Local, moto, the API processes, the built frontend, the event workers)
on free loopback ports, and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _reset_clients():
    from chalicelib.integrations import storage
    from chalicelib.store.models import ALL_MODELS

    storage.reset_client()
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture(scope="session")
def running():
    """What `make run` starts (DynamoDB Local in memory, the moto process, API processes, workers), with
    the demo district but no feed yet: the feed flow starts from a district no feed has touched."""
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        pytest.fail("frontend/dist is missing: run `make test` (it builds the frontend first)")
    saved = dict(os.environ)
    from local.system import System

    # ID numbers keyed by a ring secret, as on AWS: test_rotation_flows.py rotates it halfway through the suite
    os.environ["PERSON_KEY_FRESH_SECONDS"] = "5"  # the processes trust the ring 5 s, not 60, so the rotation is quick
    started = System(None, demo_feeds=False, scheduler=False, api_processes=3, person_key_ring=True).start()
    _reset_clients()
    yield started
    started.stop()
    os.environ.clear()
    os.environ.update(saved)
    _reset_clients()


@pytest.fixture(scope="session")
def system(running):
    return running.base_url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.wait_for_timeout(400)  # let dialogs finish their fade-in, so the picture is what a person sees
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take


def console_login(page, base, username, *, ready="[data-test=enterprise-table]"):
    from local.demo import DEMO_PASSWORD

    page.goto(f"{base}/#/login")
    page.get_by_placeholder("用户名").fill(username)
    page.get_by_placeholder("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("登\\s*录")).click()
    page.wait_for_selector(ready)


def mobile_login(page, base, phone):
    """Ask for a code on the mobile login page and log in with what the terminal printed."""
    page.get_by_placeholder("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    # a code sent earlier in the session is still valid (codes work as a password for 7 days), and a
    # second request within the minute is refused: either way the outbox holds the code to use
    page.get_by_text(re.compile(r"\d+秒后重发|请稍后|过于频繁|秒后")).first.wait_for()
    with urllib.request.urlopen(f"{base}/api/dev/sms-outbox") as answer:
        code = next(i["code"] for i in json.load(answer)["items"] if i["phone"] == phone)
    page.get_by_placeholder("请输入验证码").fill(code)
    page.get_by_role("button", name="登录").click()


def api_json(base, path, token=None, body=None):
    """One JSON call to the running system (POST when there is a body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, headers=headers)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def table_rows(page, test_id, *, rows_only=True):
    """The rows of an Element Plus table (by data-test), each as {header: cell text}, once it has loaded."""
    page.wait_for_function(f"() => !document.querySelector('[data-test={test_id}] .el-loading-mask')")
    row = "tr.el-table__row" if rows_only else "tr"
    return page.evaluate(f"""() => {{
      const table = document.querySelector('[data-test={test_id}]')
      const heads = [...table.querySelectorAll('.el-table__header-wrapper th')].map((th) => th.innerText.trim())
      return [...table.querySelectorAll('.el-table__body-wrapper tbody {row}')].map((tr) =>
        Object.fromEntries([...tr.children].map((td, i) => [heads[i], td.innerText.trim()])))
    }}""")

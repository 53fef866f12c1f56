"""The whole local system (moto server, API, built frontend, event worker) on free loopback ports, and
Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_clients():
    from chalicelib.integrations import storage
    from chalicelib.store.models import ALL_MODELS

    storage.reset_client()
    for model in ALL_MODELS:
        model._connection = None


@pytest.fixture(scope="session")
def system():
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        pytest.fail("frontend/dist is missing: run `make test` (it builds the frontend first)")
    saved = dict(os.environ)
    state = Path(tempfile.mkdtemp(prefix="sentinel-e2e-"))
    from local.stack import LocalStack

    stack = LocalStack(state / "state", port=_free_port())
    resources = stack.start()
    _reset_clients()
    import app as application
    from local import demo
    from local.server import serve
    from local.worker import QueueWorker

    demo.seed()
    worker = QueueWorker(resources.queues["ImportQueue"], application.on_upload)
    worker.start()
    port = _free_port()
    server = serve(application.app, port=port)
    yield f"http://127.0.0.1:{port}"
    worker.stop()
    server.shutdown()
    stack.stop()
    os.environ.clear()
    os.environ.update(saved)
    _reset_clients()
    shutil.rmtree(state, ignore_errors=True)


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
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take

"""The whole local system as one object: the embedded AWS (DynamoDB Local + moto), the demo district,
the 粤政易 stand-in, the event workers, the scheduler and the HTTP server with its API processes.
`make run` (local/run.py), the browser tests, the crash tests and the benchmarks all start this, so
they all run what a user runs.
"""
from __future__ import annotations

import os
import secrets
import threading
import tempfile
from pathlib import Path

from local.stack import LocalStack, free_port


def local_secret(folder: Path) -> str:
    """The application secret of a local data folder: kept beside it, since person keys derive from it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "app-secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class System:
    def __init__(self, data_dir: Path | None, *, port: int | None = None, aws_port: int | None = None,
                 dynamodb_port: int | None = None,
                 wecom_port: int | None = None, legacy_state: Path | None = None, api_processes: int | None = None,
                 demo: bool = True, demo_feeds: bool = True, scheduler: bool = True, dynamodb: str = "local",
                 person_key_ring: bool = False):
        """person_key_ring: ID numbers keyed by a ring secret in the embedded Secrets Manager, as on AWS
        (the end-to-end suite rotates it); otherwise by APP_SECRET, version "0", which needs no secret and
        keeps a kept `.local/` matching (moto does not keep secrets across restarts)."""
        self.data_dir = Path(data_dir) if data_dir else None
        self.port = port or free_port()
        self.wecom_port = wecom_port or free_port()
        self.stack = LocalStack(self.data_dir, port=aws_port or free_port(), dynamodb_port=dynamodb_port,
                                legacy_state=legacy_state,
                                dynamodb=dynamodb)
        self.api_processes = api_processes
        self.demo, self.demo_feeds, self.with_scheduler = demo, demo_feeds, scheduler
        if person_key_ring and self.data_dir:
            raise ValueError("person_key_ring needs an in-memory stack: moto does not keep secrets on disk")
        self.person_key_ring = person_key_ring
        self.seeded: dict | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._children: list = []
        self._server = self._wecom = None

    def start(self) -> "System":
        resources = self.stack.start()
        os.environ["APP_SECRET"] = (local_secret(self.data_dir.parent) if self.data_dir
                                    else os.environ.get("APP_SECRET") or secrets.token_hex(32))
        outbox = (self.data_dir.parent if self.data_dir else Path(tempfile.mkdtemp(prefix="sentinel-"))) / "sms-outbox.jsonl"
        os.environ["LOCAL_SMS_OUTBOX"] = str(outbox)  # the API processes share the dev SMS outbox through it
        from local import demo
        from local.server import S3_RELAY, Server
        from local.wecom import WeComStandIn
        from local.worker import start_scheduler, start_workers

        if self.person_key_ring:
            self._ring()
        if self.demo and self.stack.is_empty():
            self.seeded = demo.seed(with_feeds=self.demo_feeds)
        elif not self.stack.is_empty():
            from chalicelib.services.search import index as search_index

            from chalicelib.services.registry import reach

            if search_index.is_empty():  # kept from before the search index: its people found by name at once
                search_index.backfill()
            reach.backfill()  # kept from before districts as data, or DISTRICTS changed: each record's district
        self._wecom = WeComStandIn()
        os.environ["WECOM_BASE_URL"] = self._wecom.start(self.wecom_port)  # before the children copy the environment
        os.environ.setdefault("CONSOLE_URL", f"{self.base_url}/#/alerts/runs")  # where a 粤政易 card opens
        # presigned uploads go to the front server's /s3/ relay (the page may reach nothing but its origin)
        os.environ["UPLOAD_RELAY"] = S3_RELAY.rstrip("/")
        self._children = start_workers(resources.queues)
        if self.with_scheduler:
            self._children.append(start_scheduler())
        self._server = Server(port=self.port, processes=self.api_processes, s3_endpoint=self.stack.endpoint).start()
        if self.seeded and self.demo_feeds:
            threading.Thread(target=demo.morning, name="demo-morning", daemon=True).start()
        return self

    def _ring(self) -> None:
        """The stage's person-key ring, {"current": "1", "key1": …}, before anything is hashed; the
        children find it through PERSON_KEY_SECRET_ID, as deployed functions do."""
        import json

        import boto3

        from chalicelib.config import settings
        from chalicelib.services.common import keyring

        name = f"sentinel-{settings().stage}-person-key"
        boto3.client("secretsmanager").create_secret(
            Name=name, SecretString=json.dumps({"current": "1", "key1": secrets.token_urlsafe(48)}))
        os.environ["PERSON_KEY_SECRET_ID"] = name
        keyring.forget()

    @property
    def wecom_url(self) -> str:
        return f"http://127.0.0.1:{self.wecom_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        for child in self._children:
            child.stop()
        if self._wecom is not None:
            self._wecom.stop()
        self.stack.stop()

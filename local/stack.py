"""The embedded AWS of `make run`: a moto server on loopback, the resources of infra/stateful.json, and a
snapshot of the tables and the files bucket in .local/state so data survives a restart."""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from infra.provision import Provisioned, provision

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
# Bumped when what the tables store changes meaning, so an old snapshot is set aside, not misread.
# 2: person keys are keyed BLAKE2b (were HMAC-SHA256).
STATE_FORMAT = "2"
REGION = "us-east-1"


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The environment variables .chalice/config.json gives the stage (as the Lambda would get them)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def point_at(endpoint: str) -> None:
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    })


class LocalStack:
    def __init__(self, state_dir: Path, *, port: int = 5001, stage: str = "local"):
        self.state_dir = Path(state_dir)
        self.port = port
        self.stage = stage
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server: ThreadedMotoServer | None = None
        self.resources: Provisioned | None = None
        self._lock = threading.Lock()

    def start(self) -> Provisioned:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        point_at(self.endpoint)
        os.environ.update(stage_environment(self.stage))
        self.resources = provision(self.stage, region=REGION, account_id=ACCOUNT_ID)
        os.environ["FILES_BUCKET"] = self.resources.buckets["FilesBucket"]
        self.restore()
        return self.resources

    def stop(self) -> None:
        if self._server is not None:
            self.snapshot()
            self._server.stop()
            self._server = None

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> None:
        """Write every table and object to state_dir (atomically: a crash keeps the previous one)."""
        with self._lock:
            tmp = self.state_dir.with_name(self.state_dir.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "s3").mkdir(parents=True)
            ddb = boto3.client("dynamodb")
            tables = {}
            for name in self.resources.tables.values():
                items = []
                for page in ddb.get_paginator("scan").paginate(TableName=name):
                    items.extend(page["Items"])
                tables[name] = items
            (tmp / "tables.json").write_text(json.dumps(tables), encoding="utf-8")
            (tmp / "FORMAT").write_text(STATE_FORMAT, encoding="utf-8")
            s3 = boto3.client("s3")
            for bucket in self.resources.buckets.values():
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    for obj in page.get("Contents", []):
                        target = tmp / "s3" / bucket / obj["Key"]
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            old = self.state_dir.with_name(self.state_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.state_dir.exists():
                self.state_dir.rename(old)
            tmp.rename(self.state_dir)
            shutil.rmtree(old, ignore_errors=True)

    def restore(self) -> bool:
        tables_file = self.state_dir / "tables.json"
        if not tables_file.exists():
            return False
        stored = (self.state_dir / "FORMAT").read_text().strip() if (self.state_dir / "FORMAT").exists() else "1"
        if stored != STATE_FORMAT:
            aside = self.state_dir.with_name(f"{self.state_dir.name}.v{stored}")
            shutil.rmtree(aside, ignore_errors=True)
            self.state_dir.rename(aside)
            print(f"本地数据是旧格式（第 {stored} 版），已移至 {aside}，将重新生成演示数据。", flush=True)
            return False
        ddb = boto3.client("dynamodb")
        for name, items in json.loads(tables_file.read_text(encoding="utf-8")).items():
            for start in range(0, len(items), 25):
                request = {name: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
                while request:
                    request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
        s3 = boto3.client("s3")
        s3_root = self.state_dir / "s3"
        for path in s3_root.rglob("*") if s3_root.exists() else []:
            if path.is_file():
                bucket, key = path.relative_to(s3_root).parts[0], "/".join(path.relative_to(s3_root).parts[1:])
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        return True

    def is_empty(self) -> bool:
        ddb = boto3.client("dynamodb")
        return not ddb.scan(TableName=self.resources.tables["AccountsTable"], Limit=1)["Items"]

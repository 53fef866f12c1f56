"""The embedded AWS of `make run` and the tests: Amazon's DynamoDB Local for the tables, a moto server for
S3, SQS and SNS, both created from infra/stateful.json (what CloudFormation deploys).

With a data folder, both keep what they acknowledged on disk as it is written:

    <data>/dynamodb/   DynamoDB Local's SQLite file (-sharedDb -dbPath)
    <data>/s3/         the files bucket, written through by the moto process (local/s3_mirror.py)

so a restart, even after `kill -9`, finds every acknowledged write; work that was queued or running then
is resumed (local/recovery.py). Without one (tests), both run in memory.

The previous version kept a periodic snapshot in .local/state; one written by it is imported once, on
the first start with an empty data folder, then renamed state.imported.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import boto3

from infra.provision import Provisioned, provision
from local.aws_server import ACCOUNT_ID, REGION, MotoProcess
from local.dynamodb import DynamoDBLocal

ROOT = Path(__file__).resolve().parent.parent
# What the tables store; a snapshot of another format is set aside, not imported (its keys would be
# misread). 2: person keys are keyed BLAKE2b (were HMAC-SHA256).
STATE_FORMAT = "2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The environment variables .chalice/config.json gives the stage (as the Lambda would get them)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def point_at(endpoint: str, dynamodb_endpoint: str | None = None) -> None:
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    })
    if dynamodb_endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint


class LocalStack:
    def __init__(self, data_dir: Path | None, *, port: int = 5001, dynamodb_port: int | None = None,
                 legacy_state: Path | None = None, stage: str = "local", dynamodb: str = "local"):
        """dynamodb="moto" puts the tables on the moto server too (in memory only): the benchmarks
        measure the two engines side by side with it."""
        self.data_dir = Path(data_dir) if data_dir else None
        self.legacy_state = Path(legacy_state) if legacy_state else None
        self.stage = stage
        self.endpoint = f"http://127.0.0.1:{port}"
        self.resources: Provisioned | None = None
        self.notes: list[str] = []  # what happened at start, for the terminal
        persistent = self.data_dir is not None
        self._legacy = self._legacy_to_import() if persistent else None
        if dynamodb == "moto" and persistent:
            raise ValueError("moto's DynamoDB keeps nothing on disk: use it only without a data folder")
        self.dynamodb = DynamoDBLocal(dynamodb_port or free_port(),
                                      db_path=self.data_dir / "dynamodb" if persistent else None,
                                      log_path=self.data_dir / "dynamodb.log" if persistent else None) \
            if dynamodb == "local" else None
        self.moto = MotoProcess(port, s3_dir=self.data_dir / "s3" if persistent else None,
                                import_s3=self._legacy / "s3" if self._legacy else None, cwd=ROOT)

    def start(self) -> Provisioned:
        if self.dynamodb is not None:
            self.dynamodb.start()
        else:
            os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        self.moto.start()
        point_at(self.endpoint, self.dynamodb.endpoint if self.dynamodb else None)
        os.environ.update(stage_environment(self.stage))
        if self.dynamodb is not None:  # the stage's single writer is for moto, which is not thread-safe
            os.environ["IMPORT_WRITERS"] = "4"
        self.resources = provision(self.stage, region=REGION, account_id=ACCOUNT_ID)
        os.environ["FILES_BUCKET"] = self.resources.buckets["FilesBucket"]
        if self._legacy:
            self._import_tables(self._legacy / "tables.json")
        if self.data_dir is not None:
            from local.recovery import resume

            resumed = resume(self.resources)
            if any(resumed.values()):
                self.notes.append("上次停止时未完成的任务已重新排队：导入 {imports} 个，数据文件 {feeds} 个；"
                                  "无法继续的 {failed} 个已标记失败".format(**resumed))
        return self.resources

    def stop(self) -> None:
        self.moto.stop()
        if self.dynamodb is not None:
            self.dynamodb.stop()

    def is_empty(self) -> bool:
        ddb = boto3.client("dynamodb")
        return not ddb.scan(TableName=self.resources.tables["AccountsTable"], Limit=1)["Items"]

    # -- the one-time import of an older snapshot ---------------------------------------------------
    def _legacy_to_import(self) -> Path | None:
        state = self.legacy_state
        if state is None or not (state / "tables.json").exists():
            return None
        stored = (state / "FORMAT").read_text().strip() if (state / "FORMAT").exists() else "1"
        if stored != STATE_FORMAT:
            aside = state.with_name(f"{state.name}.v{stored}")
            shutil.rmtree(aside, ignore_errors=True)
            state.rename(aside)
            self.notes.append(f"本地数据是旧格式（第 {stored} 版），已移至 {aside}，将重新生成演示数据。")
            return None
        if (self.data_dir / "dynamodb").exists():  # already on the new layout: the snapshot is stale
            return None
        return state

    def _import_tables(self, tables_file: Path) -> None:
        ddb = boto3.client("dynamodb")
        for name, items in json.loads(tables_file.read_text(encoding="utf-8")).items():
            for start in range(0, len(items), 25):
                request = {name: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
                while request:
                    request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
        imported = self._legacy.with_name(self._legacy.name + ".imported")
        shutil.rmtree(imported, ignore_errors=True)
        self._legacy.rename(imported)
        self.notes.append(f"已导入旧版本的本地数据（{self._legacy}），原文件保留在 {imported}")
        self._legacy = None

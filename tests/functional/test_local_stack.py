"""`make run` keeps every acknowledged write through `kill -9` of the whole stack, resumes the work that was
queued or running, and imports a snapshot of the previous version once (or sets aside an older format).

Each test starts the real `python -m local.run` (DynamoDB Local, the moto process, the API processes, the
workers) in a process group of its own and kills the group with SIGKILL, as a crash or the OOM killer would.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

from chalicelib.rules.idnumber import compose
from local.stack import STATE_FORMAT, free_port
from tests.conftest import ROOT
from tests.functional.importing import upload_over_http

pytestmark = pytest.mark.stack
HEAD_PHONE = "13900001234"
# 300 characters, 900 bytes: over the 255 a file name may have (the old snapshot died of it: Errno 36)
LONG_NAME = "崩溃前的核酸数据" * 37 + "核酸数据.csv"


class Running:
    """One `python -m local.run` on free ports, over a data folder."""

    def __init__(self, data: Path):
        self.data = data
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "SENTINEL_TEST"))}
        self.log = open(data.parent / "run.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.run", "--port", str(self.port), "--aws-port", str(free_port()),
             "--dynamodb-port", str(free_port()),
             "--wecom-port", str(free_port()), "--data", str(data)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (data.parent / "run.log").read_text(errors="replace")[-3000:]
            try:
                if self.call("GET", "/api/lists")[0] in (200, 401):
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("local.run did not answer within 120 s")

    def call(self, method, path, *, token=None, body=None, raw=None, headers=None):
        all_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        all_headers.update(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def admin(self) -> str:
        status, body = self.call("POST", "/api/auth/login", body={"username": "admin", "password": "nansha2026"})
        assert status == 200, body
        return body["token"]

    def head(self, phone: str) -> str:
        # within a minute of the last code a new one is refused; that one stays valid (7 days)
        assert self.call("POST", "/api/auth/sms", body={"phone": phone})[0] in (200, 429)
        codes = [i["code"] for i in self.call("GET", "/api/dev/sms-outbox")[1]["items"] if i["phone"] == phone]
        status, body = self.call("POST", "/api/auth/sms-login", body={"phone": phone, "code": codes[0]})
        assert status == 200, body
        return body["token"]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        time.sleep(0.5)  # the children notice their parent is gone (prctl / watchdog) and end too

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()


def _id(n: int) -> str:
    return compose(date(1990, 1, 1) + timedelta(days=n // 1000), n)


def _staff_workbook(count: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"])
    for n in range(1, count + 1):
        sheet.append([f"员工{chr(0x4e00 + n % 500)}", _id(n), f"137{n:08d}", "", "一线人员", "自行租住", "广州市南沙区进港大道1号"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _wait(predicate, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def _enterprise(run: Running, token: str) -> dict:
    status, body = run.call("POST", "/api/enterprises", token=token, body={
        "category": "express", "name": "崩溃测试速递站", "town": "南沙街", "grid": "", "head_name": "冯建国",
        "head_phone": HEAD_PHONE, "address": "广州市南沙区进港大道9号", "extra": {}})
    assert status == 201, body
    return body


def _job(run, token, job_id):
    return run.call("GET", f"/api/imports/{job_id}", token=token)[1]


def test_every_acknowledged_write_survives_kill_9_and_queued_work_finishes(tmp_path):
    data = tmp_path / "data"
    run = Running(data)
    try:
        admin = run.admin()
        enterprise = _enterprise(run, admin)
        head = run.head(HEAD_PHONE)
        status, job = upload_over_http(run.base, "/api/staff/import", head, _staff_workbook(100), "员工.xlsx")
        assert status == 202, job
        _wait(lambda: _job(run, head, job["id"])["status"] == "done")
        csv = "身份证号码,姓名,采样时间,检测时间,检测结果,采样点\n" + "".join(
            f"{_id(n)},员工,2026-11-30 08:00:00,2026-11-30 12:00:00,阴性,南沙街采样点\n" for n in range(1, 51))
        status, feed = upload_over_http(run.base, "/api/feeds/upload", admin, csv.encode(), LONG_NAME, kind="nat")
        assert status == 202, feed
        assert feed["upload"]["url"] == "/s3/sentinel-local-files-123456789012"  # the front server's relay, under the page's origin
        for method, path in (("POST", "/s3/another-bucket"), ("GET", "/s3/sentinel-local-files-123456789012")):
            try:  # only form posts to the files bucket are relayed: moto's own API is not reachable through it
                urllib.request.urlopen(urllib.request.Request(run.base + path, data=b"x" if method == "POST" else None,
                                                              method=method), timeout=10)
                raise AssertionError(path)
            except urllib.error.HTTPError as error:
                assert error.code == 404, (path, error.code)
        run.kill()  # right after the acknowledgement: the feed may not even be queued yet

        run = Running(data)
        admin, head = run.admin(), run.head(HEAD_PHONE)  # sessions were written too; fresh ones are simpler
        assert run.call("GET", f"/api/enterprises/{enterprise['id']}", token=admin)[0] == 200
        assert run.call("GET", "/api/staff?size=10", token=head)[1]["total"] == 100
        assert _job(run, head, job["id"])["status"] == "done"

        def feed_done():
            items = run.call("GET", "/api/feeds?kind=nat", token=admin)[1]["items"]
            mine = [i for i in items if i["object_key"] == feed["object_key"]]
            return mine and mine[0]["status"] == "done" and mine[0]
        assert _wait(feed_done)["matched"] == 50
    finally:
        run.stop()


def test_an_import_running_when_the_stack_died_ends_after_the_restart(tmp_path):
    data = tmp_path / "data"
    run = Running(data)
    try:
        admin = run.admin()
        _enterprise(run, admin)
        head = run.head(HEAD_PHONE)
        status, job = upload_over_http(run.base, "/api/staff/import", head, _staff_workbook(3000), "大批员工.xlsx")
        assert status == 202, job
        _wait(lambda: _job(run, head, job["id"])["status"] == "running", seconds=60)
        run.kill()

        run = Running(data)
        head = run.head(HEAD_PHONE)
        final = _wait(lambda: (lambda j: j["status"] in ("done", "failed") and j)(_job(run, head, job["id"])), 180)
        assert final["status"] == "done", final
        assert run.call("GET", "/api/staff?size=10", token=head)[1]["total"] == 3000
    finally:
        run.stop()


def _legacy_state(folder: Path, fmt: str) -> None:
    (folder / "s3" / "sentinel-local-files-123456789012" / "keep").mkdir(parents=True)
    (folder / "s3" / "sentinel-local-files-123456789012" / "keep" / "me.txt").write_bytes(b"kept")
    item = {"username": {"S": "legacy-admin"}, "role": {"S": "admin"}, "display_name": {"S": "旧版运维"},
            "password_hash": {"S": "x"}, "created_at": {"S": "2026-11-01T00:00:00.000000+0000"},
            "updated_at": {"S": "2026-11-01T00:00:00.000000+0000"}}
    (folder / "tables.json").write_text(json.dumps({"sentinel-local-accounts": [item]}))
    (folder / "FORMAT").write_text(fmt)


IMPORTED = r"""
import json, sys, boto3
from pathlib import Path
from local.stack import LocalStack, free_port
stack = LocalStack(Path(sys.argv[1]), port=free_port(), legacy_state=Path(sys.argv[2]))
resources = stack.start()
bucket = resources.buckets["FilesBucket"]
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
account = boto3.client("dynamodb").get_item(TableName=resources.tables["AccountsTable"],
                                            Key={"username": {"S": "legacy-admin"}}).get("Item")
stack.stop()
print(json.dumps({"keys": keys, "account": bool(account), "notes": stack.notes}))
"""


def _start_stack(data: Path, legacy: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "SENTINEL_TEST"))}
    done = subprocess.run([sys.executable, "-c", IMPORTED, str(data), str(legacy)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_snapshot_of_the_previous_version_is_imported_once(tmp_path):
    assert STATE_FORMAT == "2"
    _legacy_state(tmp_path / "state", STATE_FORMAT)
    first = _start_stack(tmp_path / "data", tmp_path / "state")
    assert first["account"] and first["keys"] == ["keep/me.txt"]
    assert not (tmp_path / "state").exists() and (tmp_path / "state.imported" / "tables.json").exists()
    again = _start_stack(tmp_path / "data", tmp_path / "state")  # from disk now, nothing imported twice
    assert again["account"] and again["keys"] == ["keep/me.txt"] and not again["notes"]


def test_a_snapshot_of_an_older_format_is_set_aside_not_misread(tmp_path):
    _legacy_state(tmp_path / "state", "1")
    started = _start_stack(tmp_path / "data", tmp_path / "state")
    assert not started["account"] and started["keys"] == []
    assert (tmp_path / "state.v1" / "tables.json").exists()  # kept aside, not deleted

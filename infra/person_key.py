"""Rotating the person-key secret (the key of every ID number's hash) without losing a match, with the
deploying engineer's AWS credentials (docs/deploy.md, "Rotating the person-key secret"):

    python -m infra.person_key start  --stage prod   # a new current key; the re-key job starts
    python -m infra.person_key status --stage prod   # its passes, counts and state
    python -m infra.person_key finish --stage prod   # once it is done: the replaced key leaves the secret

`start` writes the ring {"current": N+1, "keyN+1": new, "replacing": N, "keyN": old} and queues the job's
first pass (services/operations/rotation.py); run again after a failure, it resumes. `finish` refuses
until the job is done. Each step is recorded in 操作日志 as done by 部署. The key itself is never printed.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys

import boto3

from chalicelib.errors import DomainError  # settings and table names are read at call time, after --stage
from chalicelib.rules.clock import now
from chalicelib.services.common import keyring
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal
from chalicelib.services.operations import rotation
from chalicelib.store.operations import KeyRotation
from infra.commands import use_stage

DEPLOYER = Principal(id="部署", role="admin", display_name="部署（人员密钥轮换）")


class Refused(Exception):
    """A step that may not run now; its message says why, in Chinese."""


def _read(secret_id: str) -> dict:
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def _write(secret_id: str, value: dict) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))
    keyring.forget()


def begin(secret_id: str) -> KeyRotation:
    value = _read(secret_id)
    ring = keyring.parse(value)
    if ring.replacing:  # one is under way: resume it if it failed, else say where it is
        run = rotation.header(ring.current)
        if run is not None and run.status != "failed":
            raise Refused(f"版本 {ring.current} 的轮换{rotation.STATUS_NAMES.get(run.status, run.status)}："
                          f"{run.message or ''}")
        run = rotation.start(ring.current, ring.replacing, by=DEPLOYER.id)
        audit.record(DEPLOYER, action="继续人员密钥轮换", target=f"版本 {ring.replacing} → {ring.current}", scope="全区")
        return run
    version = str(int(ring.current) + 1)
    _write(secret_id, {"current": version, f"key{version}": secrets.token_urlsafe(48),
                       "replacing": ring.current, f"key{ring.current}": value[f"key{ring.current}"]})
    run = rotation.start(version, ring.current, by=DEPLOYER.id)
    audit.record(DEPLOYER, action="开始人员密钥轮换", target=f"版本 {ring.current} → {version}", scope="全区")
    return run


def finish(secret_id: str) -> KeyRotation:
    value = _read(secret_id)
    ring = keyring.parse(value)
    if not ring.replacing:
        raise Refused(f"没有进行中的轮换（当前版本 {ring.current}）")
    run = rotation.header(ring.current)
    if run is None or run.status != "done":
        state = "尚未开始" if run is None else f"{rotation.STATUS_NAMES.get(run.status, run.status)}：{run.message or ''}"
        raise Refused(f"版本 {ring.current} 的轮换{state}；完成前不能删除旧密钥，否则尚未迁移的记录将无法匹配")
    _write(secret_id, {"current": ring.current, f"key{ring.current}": value[f"key{ring.current}"]})
    run.update(actions=[KeyRotation.retired_at.set(now()),
                        KeyRotation.message.set(f"{run.message}；旧密钥（版本 {ring.replacing}）已删除")])
    audit.record(DEPLOYER, action="完成人员密钥轮换", target=f"删除版本 {ring.replacing}", scope="全区")
    return run


def status(secret_id: str) -> dict:
    ring = keyring.parse(_read(secret_id))
    return rotation.public(rotation.header(ring.current)) | {"current": ring.current, "replacing": ring.replacing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="轮换人员密钥（身份证号码的键控哈希）")
    parser.add_argument("action", choices=("start", "status", "finish"))
    parser.add_argument("--stage", required=True)
    parser.add_argument("--bucket", help="the stage's files bucket (default: sentinel-<stage>-files-<account>)")
    args = parser.parse_args(argv)
    bucket = args.bucket or f"sentinel-{args.stage}-files-{boto3.client('sts').get_caller_identity()['Account']}"
    use_stage(args.stage, "person-key", FILES_BUCKET=bucket)
    secret_id = os.environ["PERSON_KEY_SECRET_ID"]
    try:
        if args.action == "status":
            print(json.dumps(status(secret_id), ensure_ascii=False, indent=2))
            return 0
        run = (begin if args.action == "start" else finish)(secret_id)
    except (Refused, DomainError) as exc:
        print(f"未执行：{exc}", file=sys.stderr)
        return 1
    except keyring.RingError as exc:
        print(f"未执行：人员密钥的内容不正确（{exc}），请先核对 {secret_id}", file=sys.stderr)
        return 1
    print(json.dumps(rotation.public(run), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

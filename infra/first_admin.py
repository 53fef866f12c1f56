"""The first 运维 account of a new stage — the one account no 运维 can create in the console, because
there is no 运维 yet. Run once after `make deploy`, with the deploying engineer's AWS credentials:

    python -m infra.first_admin --stage prod --username admin --name 系统运维

It asks for the password twice (never on the command line, never logged), refuses when the stage
already has an account of that name, and records 新增账号 in 操作日志 as done by 部署. Every later
account is created by 运维 in 账号管理.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from chalicelib.errors import DomainError  # settings and table names are read at call time, after --stage
from chalicelib.services.identity import accounts, audit
from chalicelib.services.identity.auth import Principal


def main(argv: list[str] | None = None, *, ask=getpass.getpass) -> int:
    parser = argparse.ArgumentParser(description="创建新环境的首个运维账号")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--name", default="系统运维")
    args = parser.parse_args(argv)
    saved = {k: os.environ.get(k) for k in ("STAGE", "TABLE_PREFIX", "APP_SECRET")}
    os.environ["STAGE"], os.environ["TABLE_PREFIX"] = args.stage, f"sentinel-{args.stage}-"
    os.environ.setdefault("APP_SECRET", "first-admin: no token or key is made here")  # settings() insists outside local
    try:
        return _create(args, ask)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _create(args, ask) -> int:
    password = ask("密码：")
    if password != ask("再次输入密码："):
        print("两次输入的密码不一致", file=sys.stderr)
        return 1
    deployer = Principal(id="部署", role="admin", display_name="部署（首个运维账号）")
    try:
        account = accounts.create(deployer, {"username": args.username, "password": password, "role": "admin",
                                             "display_name": args.name})
    except DomainError as exc:
        print(f"未创建：{exc}", file=sys.stderr)
        return 1
    audit.record(deployer, action="新增账号", target=account.username, scope="全区")
    print(f"已创建运维账号 {account.username}（sentinel-{args.stage}-accounts）")
    return 0


if __name__ == "__main__":
    sys.exit(main())

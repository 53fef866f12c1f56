"""`make run`: the whole system on loopback with demo data. Ctrl-C stops everything it started."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from local.stack import ROOT, LocalStack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", 5001)))
    parser.add_argument("--wecom-port", type=int, default=int(os.environ.get("WECOM_PORT", 5002)))
    parser.add_argument("--state", type=Path, default=ROOT / ".local" / "state")
    args = parser.parse_args()

    stack = LocalStack(args.state, port=args.aws_port)
    resources = stack.start()
    os.environ.setdefault("APP_SECRET", _local_secret(args.state.parent))

    import app as application  # after the environment is set: nothing reads it at import, but be plain
    from local import demo
    from local.server import serve
    from local.scheduler import Scheduler
    from local.wecom import WeComStandIn
    from local.worker import start_workers

    if stack.is_empty():
        counts = demo.seed()
        print(f"已生成演示数据：{counts['accounts']} 个账号，{counts['enterprises']} 家企业，{counts['staff']} 名员工；"
              "核酸检测、疫苗接种演示数据文件各一份已放入 feeds/，后台导入后可在「数据接入」查看")
    else:
        print(f"已恢复本地数据（{args.state}）")
    workers = start_workers(resources.queues, application)
    server = serve(application.app, port=args.port)
    scheduler = Scheduler(application.app).bind(application)
    scheduler.start()
    wecom = WeComStandIn()
    wecom_url = wecom.start(args.wecom_port)
    os.environ.setdefault("WECOM_BASE_URL", wecom_url)  # where the 09:00 notifier will send

    print(f"""
哨点人员健康监测 已启动
  电脑端（数据台账管理系统）: http://127.0.0.1:{args.port}/
  手机端（企业负责人）:       http://127.0.0.1:{args.port}/m/
  本地 AWS（moto）:           {stack.endpoint}
  本地粤政易（企业微信协议）: {wecom_url}（已发送的消息：{wecom_url}/_outbox）
  定时任务（EventBridge，UTC）: {", ".join(scheduler.jobs) or "暂无"}
演示账号（密码均为 {demo.DEMO_PASSWORD}）:
  运维 admin · 委办局 youzheng（快递物流）/ zhujian（建筑工地）/ shijian（农贸市场、冷链食品）
  镇街 nanshajie（南沙街）/ huangge（黄阁镇） · 专班 zhuanban
企业负责人手机号: {demo.DEMO_HEAD_PHONE}（验证码打印在本终端，也可在 http://127.0.0.1:{args.port}/#/dev/sms 查看）
数据保存在 {args.state}，重启后保留；make reset 清空后重新生成演示数据。按 Ctrl-C 停止。
""", flush=True)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        last = time.monotonic()
        while not stopping.wait(1):
            if time.monotonic() - last > 60:
                stack.snapshot()
                last = time.monotonic()
    except KeyboardInterrupt:
        pass
    print("正在停止…", flush=True)
    for worker in workers:
        worker.stop()
    server.shutdown()
    scheduler.stop()
    wecom.stop()
    stack.stop()
    print("已停止，数据已保存。")
    return 0


def _local_secret(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "app-secret"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


if __name__ == "__main__":
    sys.exit(main())

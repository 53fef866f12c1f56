"""`make run`: the whole system on loopback with demo data. Ctrl-C stops everything it started."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from local.stack import ROOT
from local.system import System


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", 5001)))
    parser.add_argument("--dynamodb-port", type=int, default=int(os.environ.get("DYNAMODB_PORT", 5003)))
    parser.add_argument("--wecom-port", type=int, default=int(os.environ.get("WECOM_PORT", 5002)))
    parser.add_argument("--data", type=Path, default=ROOT / ".local" / "data")
    args = parser.parse_args()

    system = System(args.data, port=args.port, aws_port=args.aws_port, dynamodb_port=args.dynamodb_port,
                    wecom_port=args.wecom_port, legacy_state=args.data.parent / "state")
    system.start()
    from local import demo
    from local.scheduler import Scheduler

    import app as application

    for note in system.stack.notes:
        print(note, flush=True)
    if system.seeded:
        counts = system.seeded
        print(f"已生成演示数据：{counts['accounts']} 个账号，{counts['enterprises']} 家企业，{counts['staff']} 名员工；"
              "核酸检测、疫苗接种演示数据文件各一份已放入 feeds/，后台导入后可在「数据接入」查看")
    else:
        print(f"已恢复本地数据（{args.data}）")
    jobs = Scheduler(application.app).jobs
    base = system.base_url
    print(f"""
哨点人员健康监测 已启动
  电脑端（数据台账管理系统）: {base}/
  手机端（企业负责人）:       {base}/m/
  本地 DynamoDB（Amazon DynamoDB Local）: {system.stack.dynamodb.endpoint}
  本地 S3 / SQS / SNS（moto）: {system.stack.endpoint}
  本地粤政易（企业微信协议）: {system.wecom_url}（已发送的消息：{system.wecom_url}/_outbox）
  定时任务（EventBridge，UTC）: {", ".join(jobs) or "暂无"}
演示账号（密码均为 {demo.DEMO_PASSWORD}）:
  运维 admin · 委办局 youzheng（快递物流）/ zhujian（建筑工地）/ shijian（农贸市场、冷链食品）
  镇街 nanshajie（南沙街）/ huangge（黄阁镇） · 专班 zhuanban
企业负责人手机号: {demo.DEMO_HEAD_PHONE}（验证码打印在本终端，也可在 {base}/#/dev/sms 查看）
数据随写随存于 {args.data}（强制结束也不丢失）；make reset 清空后重新生成演示数据。按 Ctrl-C 停止。
""", flush=True)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Ctrl-C, even where the launching shell left SIGINT ignored (a background job inherits SIG_IGN)
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    print("正在停止…", flush=True)
    system.stop()
    print("已停止。")
    return 0


if __name__ == "__main__":
    sys.exit(main())

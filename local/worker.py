"""The local event workers and scheduler, each in a process of its own (as Lambda runs them apart from
the API), so an import or the overnight run never holds a page.

A worker long-polls one queue on the moto server and hands each message to the Lambda handler declared
in app.py, shaped as the Lambda event SQS delivers; a handler that raises leaves the message on the
queue for a retry (then the dead-letter queue), as Lambda does.
"""
from __future__ import annotations

import multiprocessing
import os
import traceback

import boto3

from local.background import Background

_CONTEXT = multiprocessing.get_context("spawn")
BACKGROUND_NICENESS = 10


class QueueWorker(Background):
    def __init__(self, queue_url: str, handler):
        super().__init__("worker")
        self.queue_url = queue_url
        self.handler = handler

    def _run(self) -> None:
        sqs = boto3.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self._stop.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1,
                                               AttributeNames=["All"]).get("Messages", [])
            except Exception:  # noqa: BLE001 - the server is stopping
                if self._stop.is_set():
                    return
                raise
            for message in messages:
                event = {"Records": [{
                    "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"], "attributes": message.get("Attributes", {}),
                    "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
                    "eventSourceARN": arn, "awsRegion": "us-east-1"}]}
                try:
                    self.handler(event, None)
                except Exception:  # noqa: BLE001 - like Lambda: leave it on the queue for a retry (then the DLQ)
                    traceback.print_exc()
                    continue
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _child(kind: str, queue_url: str | None, handler_name: str | None) -> None:
    from local.children import quiet_interrupts, watch_parent

    quiet_interrupts()
    watch_parent()
    # Lambda runs an import, an export or the overnight run on machines of its own; here they share the
    # laptop's cores with the pages, so they yield to them: a 45-second export must not hold anyone's page.
    os.nice(BACKGROUND_NICENESS)
    import app as application

    if kind == "worker":
        QueueWorker(queue_url, getattr(application, handler_name))._run()
    else:
        from local.scheduler import Scheduler

        Scheduler(application.app).bind(application)._run()


class ChildProcess:
    def __init__(self, name: str, *args):
        self._process = _CONTEXT.Process(target=_child, args=args, name=name, daemon=True)

    def start(self) -> "ChildProcess":
        self._process.start()
        return self

    def stop(self) -> None:
        """Work in hand is cut off; the next start resumes it (local/recovery.py)."""
        self._process.terminate()
        self._process.join(timeout=5)


def start_workers(queues: dict[str, str]) -> list[ChildProcess]:
    """One worker per event queue of the app: workbook imports and provincial feeds."""
    return [ChildProcess("import-worker", "worker", queues["ImportQueue"], "on_upload").start(),
            ChildProcess("feed-worker", "worker", queues["FeedQueue"], "on_feed").start()]


def start_scheduler() -> ChildProcess:
    """Fires the app's @app.schedule handlers at their EventBridge times (local/scheduler.py)."""
    return ChildProcess("scheduler", "scheduler", None, None).start()

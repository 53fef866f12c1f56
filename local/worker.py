"""The local event worker: long-polls the import queue on the moto server and hands each message to the
Lambda handler declared in app.py, shaped as the Lambda event SQS would deliver."""
from __future__ import annotations

import traceback

import boto3

from local.background import Background


class QueueWorker(Background):
    def __init__(self, queue_url: str, handler, *, max_receives: int = 5):
        super().__init__("worker")
        self.queue_url = queue_url
        self.handler = handler
        self.max_receives = max_receives

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


def start_workers(queues: dict[str, str], application) -> list[QueueWorker]:
    """One worker per event queue of the app: workbook imports and provincial feeds."""
    workers = [QueueWorker(queues["ImportQueue"], application.on_upload),
               QueueWorker(queues["FeedQueue"], application.on_feed)]
    for worker in workers:
        worker.start()
    return workers

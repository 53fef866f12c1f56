"""Helpers for tests that import workbooks through the real path (API → presigned POST → S3 → SQS → handler)."""
from __future__ import annotations

import io
import zipfile

import boto3
import openpyxl

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址", "项目名称"]


def workbook(rows, header=HEADER, before=()):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in before:
        sheet.append(row)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def post_form(upload, data, filename="upload.xlsx"):
    """The page's second step: the file straight to S3 with the form the API signed (in-process moto answers
    the bucket's address). Returns S3's status."""
    import requests

    answer = requests.post(upload["url"], data=upload["fields"], files={"file": (filename, data)}, timeout=600)
    assert answer.status_code in (200, 201, 204), (answer.status_code, answer.text[:300])
    return answer.status_code


def start_upload(api, path, token, data, filename, **fields):
    """Both steps as the page takes them: ask `path` for an upload (its name and size), then post the file
    to S3. Returns the first step's (status, answer); nothing is posted when it was refused."""
    status, answer = api.post(path, token=token, body={"filename": filename, "size": len(data), **fields})
    if status == 202:
        post_form(answer["upload"], data, filename)
    return status, answer


def multipart(fields: dict, filename: str, data: bytes) -> tuple[bytes, str]:
    """A form post's body as a browser's FormData sends it: the fields, then the file (S3 ignores fields
    after it). Returns the body and its Content-Type."""
    import uuid

    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload_over_http(base: str, path: str, token: str, data: bytes, filename: str, **fields):
    """Both steps against a running stack (`make run`, the browser tests, the bench), as the page takes them:
    the upload route over HTTP, then the file to the form's URL — on the local stack the front server's /s3/
    relay to the embedded S3. Returns the first step's (status, answer)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{base}{path}", method="POST", data=json.dumps(
        {"filename": filename, "size": len(data), **fields}).encode(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, started = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    body, content_type = multipart(started["upload"]["fields"], filename, data)
    url = started["upload"]["url"]
    with urllib.request.urlopen(urllib.request.Request(url if "://" in url else f"{base}{url}", data=body,
                                                       method="POST", headers={"Content-Type": content_type}),
                                timeout=600) as answer:
        assert answer.status in (200, 201, 204), answer.status
    return status, started


def deliver(aws, *, times=1, queue="ImportQueue", handler="on_upload"):
    """Hand every queued S3 notification to the Lambda handler, as SQS would (times>1: redelivery)."""
    import app as application

    sqs = boto3.client("sqs")
    url = aws.queues[queue]
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        messages += batch
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    for _ in range(times):
        for m in messages:
            getattr(application, handler)({"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                                                "body": m["Body"], "attributes": {}, "messageAttributes": {},
                                                "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "us-east-1"}]},
                                  None)
    from chalicelib.events import s3_records

    return sum(len(s3_records(m["Body"])) for m in messages)  # moto also queues an s3:TestEvent


def zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


BAD_FILES = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600, "已加密"),
    (b"name,phone\n", "不是 Excel"),
    (b"PK\x03\x04 broken", "已损坏"),
    (b"", "文件为空"),
]


def export(api, aws, token, path, *, times=1):
    """Ask for an export through the real path (POST → job → S3 event → handler) and fetch the file from
    the link the finished job hands out. Returns (job as the page last saw it, workbook bytes or None)."""
    from urllib.parse import unquote, urlparse

    status, job = api.post(path, token=token)
    assert status == 202, (status, job)
    assert job["status"] == "queued" and job["url"] is None, job
    deliver(aws, times=times)
    status, job = api.get(f"/api/exports/{job['id']}", token=token)
    assert status == 200, job
    if job["status"] != "done":
        return job, None
    link = urlparse(job["url"])
    path = unquote(link.path).lstrip("/")
    if ".s3." in link.hostname:  # virtual-hosted style: the bucket is the host's first label
        bucket, key = link.hostname.split(".s3.", 1)[0], path
    else:  # path style (a local endpoint)
        bucket, key = path.split("/", 1)
    assert "response-content-disposition=attachment" in link.query, job["url"]
    return job, boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()

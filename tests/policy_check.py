"""Every AWS call the test suite makes, checked against the IAM policy of the function making it.

The app marks which Lambda function runs (chalicelib/runtime.py: the HTTP middleware, the event and
schedule handlers); a botocore hook records each call made inside one as (function, IAM action,
resource ARN), and at the end of the session each is evaluated against infra/policies.py rendered for
the test stage — a call no statement allows fails the run, as it would answer AccessDenied on AWS.
Calls outside any function (fixtures provisioning moto, tests reading tables) are not the app's.
"""
from __future__ import annotations

import fnmatch
import threading
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from chalicelib.runtime import FUNCTION

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
_S3 = {"HeadObject": "GetObject", "GetObject": "GetObject", "PutObject": "PutObject", "DeleteObject": "DeleteObject",
       "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket"}
_SQS_BATCH = {"DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
              "SendMessageBatch": "SendMessage"}


# Calls a test makes on purpose against a policy (tests/functional/test_iam_enforced.py), not the app's.
_UNRECORDED: ContextVar[bool] = ContextVar("unrecorded", default=False)


@contextmanager
def unrecorded():
    token = _UNRECORDED.set(True)
    try:
        yield
    finally:
        _UNRECORDED.reset(token)


def _table(name: str, index: str | None = None) -> str:
    arn = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def needs(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one API call needs."""
    if service == "dynamodb":
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table(t)) for t in params.get("RequestItems", {})]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    out.append((f"dynamodb:{_TRANSACT.get(kind, 'GetItem')}", _table(body["TableName"])))
            return out
        if "TableName" in params:
            return [(f"dynamodb:{operation}", _table(params["TableName"], params.get("IndexName")))]
        return [(f"dynamodb:{operation}", "*")]
    if service == "s3":
        bucket = params.get("Bucket", "")
        if operation == "CopyObject":
            source = params["CopySource"]
            source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/")
            return [("s3:GetObject", f"arn:{PARTITION}:s3:::{source}"),
                    ("s3:PutObject", f"arn:{PARTITION}:s3:::{bucket}/{params['Key']}")]
        action = _S3.get(operation, operation)
        target = f"{bucket}/{params['Key']}" if "Key" in params else bucket
        return [(f"s3:{action}", f"arn:{PARTITION}:s3:::{target}")]
    if service == "sqs":
        name = params.get("QueueName") or urlsplit(params.get("QueueUrl", "")).path.rsplit("/", 1)[-1]
        return [(f"sqs:{_SQS_BATCH.get(operation, operation)}", f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "sns":
        return [("sns:Publish", params.get("TopicArn") or "*")]
    if service == "secretsmanager":
        name = params.get("SecretId", "")
        arn = name if name.startswith("arn:") else f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
        return [(f"secretsmanager:{operation}", arn)]
    return [(f"{service}:{operation}", "*")]


def allowed(policy: dict, action: str, resource: str) -> bool:
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
                r == "*" or fnmatch.fnmatchcase(resource, r) for r in resources):
            return True
    return False


class Recorder:
    def __init__(self):
        self.calls: dict[tuple[str, str, str], int] = defaultdict(int)
        self.lock = threading.Lock()
        self._original = None

    def install(self) -> None:
        import botocore.client

        original = self._original = botocore.client.BaseClient._make_api_call
        recorder = self

        def recorded(client, operation, params):
            function = FUNCTION.get()
            if function and not _UNRECORDED.get():
                for action, resource in needs(client.meta.service_model.service_name, operation, params):
                    with recorder.lock:
                        recorder.calls[(function, action, resource)] += 1
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = recorded

    def uninstall(self) -> None:
        import botocore.client

        if self._original is not None:
            botocore.client.BaseClient._make_api_call = self._original

    def violations(self, *, stage: str, bucket: str) -> list[str]:
        from infra import policies

        rendered = {f: policies.render(f, stage=stage, partition=PARTITION, account=ACCOUNT, region=REGION,
                                       bucket=bucket) for f in policies.FUNCTIONS}
        out = []
        for (function, action, resource), count in sorted(self.calls.items()):
            if function not in rendered:
                out.append(f"{function}: no policy in infra/policies.py")
            elif not allowed(rendered[function], action, resource):
                out.append(f"{function}: {action} on {resource} ({count}×) is not allowed by infra/policies.py")
        return out

    def functions(self) -> set[str]:
        return {f for f, _, _ in self.calls}

"""The functional suite with moto enforcing IAM: each Lambda function signs its calls as an IAM user whose
only policy is its own from infra/policies.py, so moto answers AccessDenied to a call the policy lacks,
as AWS would, and the test that made it fails.

How: per test (moto forgets IAM with every `mock_aws`), one moto IAM user per function with its rendered
policy, and an `admin` user with `*` for what is not the app's (fixtures provisioning tables, tests reading
them). botocore signs every request with `Credentials.get_frozen_credentials()`; that is patched to hand
out the keys of the function running now (chalicelib/runtime.py's FUNCTION), so clients created once and
shared by every function still sign as the right one.

moto evaluates S3 calls against their resource ARNs, but passes `*` as the resource of every DynamoDB and
Secrets Manager call — so a policy granting Scan on one table would pass a Scan of any — and of an SQS
call naming its queue by QueueName (GetQueueUrl), which no policy naming queues would allow. Here
moto is taught what AWS authorizes instead (tests/policy_check.py's `needs`): a DynamoDB call against its
table's ARN (its index's for a Query on one; each table of a batch), a transaction item by item as the
PutItem, UpdateItem, DeleteItem or ConditionCheckItem it is (IAM has no TransactWriteItems action), and a
secret or a queue by its ARN. So moto holds our policies unchanged and enforces actions and resources alike.

SENTINEL_IAM_ENFORCE=0 turns it off (to measure what it costs); DynamoDB Local does not pass through
moto, so there it is off.
"""
from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager

from chalicelib.runtime import FUNCTION
from tests.policy_check import ACCOUNT, REGION, needs


def enabled() -> bool:
    return (os.environ.get("SENTINEL_IAM_ENFORCE") != "0"
            and os.environ.get("SENTINEL_TEST_DYNAMODB") != "local")


def _iam_match(pattern: str, string: str):
    """IAM's wildcards in a policy's Action / Resource: moto reads `*` but takes `?` (one character) for a
    regex quantifier, and the secrets' ARNs end in six of them (infra/policies.py)."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), string)


def _authorize(handler, resource: str = "*") -> None:
    """DynamoDB and Secrets Manager calls, authorized per resource as AWS does (tests/policy_check.py's
    `needs` names them, from the request's JSON body, whose fields are boto3's parameters)."""
    from moto.iam.access_control import IAMRequest

    body = handler.body if isinstance(handler.body, dict) else json.loads(handler.body or "{}")  # DynamoDB's is parsed
    for action, arn in needs(handler.service_name, handler._get_action(), body):
        handler._get_action = lambda action=action: action.split(":", 1)[1]  # what IAMRequest reads
        try:
            handler._authenticate_and_authorize_action(IAMRequest, arn)
        finally:
            del handler._get_action


def _as_moto_names(document: dict) -> dict:
    """moto names CloudWatch's actions by the service's endpoint prefix (`monitoring:PutMetricData`), where
    IAM says `cloudwatch:PutMetricData`: each such action is granted under both names."""
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = actions + [a.replace("cloudwatch:", "monitoring:", 1) for a in actions
                                         if a.startswith("cloudwatch:")]
    return document


def _users(iam, *, stage: str, bucket: str, account: str, region: str) -> dict:
    from infra import policies

    key = f"arn:aws:kms:{region}:{account}:key/*"  # the stage's key is AWS's only (infra/provision.py)
    documents = {f: _as_moto_names(policies.render(f, stage=stage, partition="aws", account=account, region=region,
                                                   bucket=bucket, key=key)) for f in policies.FUNCTIONS}
    documents["admin"] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    keys = {}
    for name, document in documents.items():
        iam.create_user(UserName=f"lambda-{name}")
        iam.put_user_policy(UserName=f"lambda-{name}", PolicyName="policy", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=f"lambda-{name}")["AccessKey"]
        keys[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    return keys


@contextmanager
def enforced(*, stage: str, bucket: str, account: str = ACCOUNT, region: str = REGION):
    """Inside `mock_aws`, after the fixtures provisioned it: every call from here on is authorized."""
    import boto3
    import botocore.credentials
    from moto.core.authorization import enable_iam_authentication
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMPolicyStatement
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.sqs.responses import SQSResponse

    assert (account, region) == (ACCOUNT, REGION), "policy_check.needs names ARNs in this account and region"

    keys = _users(boto3.client("iam"), stage=stage, bucket=bucket, account=account, region=region)
    frozen = {name: botocore.credentials.ReadOnlyCredentials(key, secret, None) for name, (key, secret) in keys.items()}
    patched = [(botocore.credentials.Credentials, "get_frozen_credentials",
                lambda self: frozen[FUNCTION.get() or "admin"]),  # a function without a policy: KeyError
               (DynamoHandler, "_authenticate_and_authorize_normal_action", _authorize),
               (SecretsManagerResponse, "_authenticate_and_authorize_normal_action", _authorize),
               (SQSResponse, "_authenticate_and_authorize_normal_action", _authorize),
               (IAMPolicyStatement, "_match", staticmethod(_iam_match))]
    originals = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patched]
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    try:
        with enable_iam_authentication():
            yield
    finally:
        for owner, name, original in originals:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

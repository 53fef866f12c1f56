"""Every Lambda function's IAM policy, from one source: what each function calls, on which named
resources, rendered for a stage and a partition (`aws`, `aws-cn`).

Least privilege by function: the API reads and writes the tables and files a request touches, never
scans but the small accounts table (账号管理 lists every account); only the overnight matcher scans staff
and person-health; only the push and the worker that continues it read 粤政易's secret; the functions that
hash ID numbers (API, worker, feeds) read the person-key ring; the app secret only the API and the worker (SMS
codes, audit actors), the edge secret only the API; the scheduled functions publish their failure to the ops
topic. Resources are named (tables, indexes, the bucket, the queues, the secrets, the stage's KMS key, the
topic); the two `*` are SNS Publish to a phone number, which has no ARN, and the watch's CloudWatch
PutMetricData, which has no resource either. One policy is not a function's: the province's drop of its
feed files (PROVINCE_FEEDS, `render_province`). (The network-interface actions of the functions in the optional
egress VPC, VPC_NETWORK_INTERFACES, are a separate policy on `*`, attached only when FixedEgress=true.)

`render(function, stage, partition, account, region)` gives a policy document; `ACTIONS` lists every IAM
action used, each one IAM really has (tests/unit/test_policies.py): `s3:CopyObject` is not one — a copy
is s3:GetObject on the source and s3:PutObject on the target.
"""
from __future__ import annotations

from dataclasses import dataclass

LOGS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable")
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
         "dynamodb:ConditionCheckItem")
FILES_RW = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
QUEUE_CONSUMER = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")

# every table (infra/stateful.json); "*" below means all of them
ALL_TABLES = ("accounts", "sessions", "sms-codes", "throttles", "enterprises", "staff", "staff-search", "unique-keys",
              "import-jobs", "audit", "health-records", "person-health", "feed-files", "alert-settings",
              "compliance-runs", "compliance-shortfalls", "push-outbox", "key-rotations", "feed-parts",
              "stranger-index", "matcher-runs")


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    kind: str  # table | index | bucket | objects | prefixes | queue | secret | key | topic | any
    names: tuple[str, ...] = ()
    via: str = ""  # a KMS grant usable only through this service on the caller's behalf (kms:ViaService)


# The stage's KMS key (infra/stateful.json DataKey): S3 and SQS use it with the caller's permissions —
# GenerateDataKey to write an object or send a message, Decrypt to read one (a presigned GET too, as it is
# signed by the function's role) — and Secrets Manager to decrypt a secret. DynamoDB uses its own grant.
DATA_KEY = Grant(("kms:Decrypt", "kms:GenerateDataKey"), "key")


# A scheduled function's failure destination (infra/package.py): Lambda publishes it with the function's role.
FAILURE_DESTINATION = Grant(("sns:Publish",), "topic", ("ops-alarms",))


def _tables(actions, *names) -> list[Grant]:
    names = names or ALL_TABLES
    return [Grant(actions, "table", names), Grant(tuple(a for a in actions if a == "dynamodb:Query"), "index", names)]


FUNCTIONS: dict[str, list[Grant]] = {
    # HTTP: every route; exports and imports are queued, not built here
    "api_handler": [
        *_tables(READ + WRITE),
        Grant(("dynamodb:Scan",), "table", ("accounts",)),  # 账号管理: the few staff accounts, listed whole
        Grant(FILES_RW, "objects"), Grant(("s3:ListBucket",), "bucket"),
        Grant(("sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage",
               "sqs:DeleteMessage"), "queue", ("imports-dlq", "feeds-dlq", "imports", "feeds")),  # 失败队列 and its retry
        Grant(("sns:Publish",), "any"),  # an SMS code to a phone number: SNS gives it no ARN
        # the SMS provider; the ID-number key ring; the app secret (SMS codes, audit actors); the edge's
        Grant(("secretsmanager:GetSecretValue",), "secret", ("sms", "person-key", "app", "edge")),
    ],
    # uploads/: workbook imports, exports, roster rebuilds, the night's parts, push passes
    "on_upload": [
        *_tables(READ + WRITE),
        Grant(FILES_RW, "objects"), Grant(("s3:ListBucket",), "bucket"),
        Grant(QUEUE_CONSUMER, "queue", ("imports",)),
        Grant(("dynamodb:Scan",), "table", ("staff", "person-health")),  # the matcher's segments: the only scans
        # a push pass; imports, the re-key job; the app secret (the audit's actor of an export)
        Grant(("secretsmanager:GetSecretValue",), "secret", ("wecom", "person-key", "app")),
    ],
    "on_feed": [
        # staff (and their search index), enterprises and shortfalls: a person the re-key job moved while the
        # feed matched them
        *_tables(READ + WRITE, "health-records", "person-health", "feed-files", "feed-parts", "stranger-index",
                 "staff", "staff-search", "compliance-shortfalls", "enterprises"),
        Grant(FILES_RW, "objects"), Grant(("s3:ListBucket",), "bucket"),
        Grant(QUEUE_CONSUMER, "queue", ("feeds",)),
        Grant(("secretsmanager:GetSecretValue",), "secret", ("person-key",)),  # the ID-number key ring
    ],
    # plans the night's matcher segments (compliance/overnight.py); the import worker runs them
    "overnight_matcher": [
        *_tables(READ + WRITE, "matcher-runs", "compliance-runs"),  # and the day's header: 凌晨匹配进行中
        Grant(("s3:PutObject",), "objects"),
        FAILURE_DESTINATION,
    ],
    "morning_push": [
        *_tables(READ + WRITE, "compliance-runs", "push-outbox", "alert-settings"),
        Grant(FILES_RW, "objects"),
        Grant(("secretsmanager:GetSecretValue",), "secret", ("wecom",)),
        FAILURE_DESTINATION,
    ],
    # every half hour: has the night finished, has a NAT file arrived (services/operations/watch.py)
    "ops_watch": [
        *_tables(("dynamodb:GetItem", "dynamodb:Query"), "compliance-runs", "feed-files"),
        Grant(("cloudwatch:PutMetricData",), "any"),  # no resource-level permission exists for it
        FAILURE_DESTINATION,
    ],
}

# Not a function: the province's own drop of its feed files into the stage's bucket (docs/feeds.md,
# "Dropping files from the province"), the role infra/province.json creates for the province's AWS principal
# (or that 运维 attaches to a user without console access). It may put objects under feeds/nat/ and
# feeds/vaccine/ and nothing else: not read them back, list, delete, or write anywhere else in the bucket.
# The bucket encrypts with the stage's key (SSE-KMS): S3 asks the key for a data key with the uploader's
# permission (GenerateDataKey), and for a multipart upload — the AWS CLI's way with a file over 8 MB — reads
# it back to finish (Decrypt); both only through S3 (kms:ViaService), so the key serves the drop and nothing
# else. AbortMultipartUpload lets a failed upload clean up its parts (else the bucket's lifecycle does, in 2 days).
PROVINCE_FEEDS = [
    Grant(("s3:PutObject", "s3:AbortMultipartUpload"), "prefixes", ("feeds/nat/", "feeds/vaccine/")),
    Grant(("kms:GenerateDataKey", "kms:Decrypt"), "key", via="s3"),
]

# The IAM actions of the services used, as the Service Authorization Reference lists them (an API operation
# is not always an action of the same name: CopyObject, HeadObject, ListObjectsV2, the *Batch SQS calls).
IAM_ACTIONS = frozenset({
    *LOGS,
    *(f"dynamodb:{a}" for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                                "BatchWriteItem", "ConditionCheckItem", "DescribeTable")),
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:AbortMultipartUpload",
    *(f"sqs:{a}" for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "ChangeMessageVisibility",
                           "GetQueueUrl", "SendMessage")),
    "sns:Publish", "secretsmanager:GetSecretValue", "kms:Decrypt", "kms:GenerateDataKey", "cloudwatch:PutMetricData",
    *(f"ec2:{a}" for a in ("CreateNetworkInterface", "DescribeNetworkInterfaces", "DescribeSubnets",
                           "DeleteNetworkInterface", "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses")),
})

# With FixedEgress=true (infra/network.json) the functions that call 粤政易 run in the egress VPC, and Lambda
# creates, describes and deletes their network interfaces with the function's own role: the actions of the
# managed AWSLambdaVPCAccessExecutionRole (v3, which added ec2:DescribeSubnets), but for its logs. Not a Grant of
# FUNCTIONS: infra/package.py adds it as a separate policy, only under the HasFixedEgress condition.
# Resource "*" is required: ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no resource-level
# permissions, the interfaces Lambda creates have no ids before it creates them, and Lambda checks the role for
# these actions when the function is created or updated (AWS grants them on "*" in that managed policy). They
# manage network interfaces only; what the function may read and write stays in its own named policy.
VPC_NETWORK_INTERFACES = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                          "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                          "ec2:UnassignPrivateIpAddresses")


def vpc_network_interfaces() -> dict:
    """The policy document of a function in the egress VPC (no ARN to render: see VPC_NETWORK_INTERFACES)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Action": list(VPC_NETWORK_INTERFACES), "Resource": "*"}]}


ACTIONS = sorted({a for grants in (*FUNCTIONS.values(), PROVINCE_FEEDS) for g in grants for a in g.actions}
                 | set(LOGS) | set(DATA_KEY.actions) | set(VPC_NETWORK_INTERFACES))


def resources(grant: Grant, *, stage: str, partition: str, account: str, region: str,
              bucket: str | None = None, key: str = "${DataKey.Arn}") -> list[str]:
    arn = f"arn:{partition}"
    bucket = bucket or f"sentinel-{stage}-files-{account}"  # infra/stateful.json's FilesBucket
    if grant.kind == "table":
        return [f"{arn}:dynamodb:{region}:{account}:table/sentinel-{stage}-{n}" for n in grant.names]
    if grant.kind == "index":
        return [f"{arn}:dynamodb:{region}:{account}:table/sentinel-{stage}-{n}/index/*" for n in grant.names]
    if grant.kind == "bucket":
        return [f"{arn}:s3:::{bucket}"]
    if grant.kind == "objects":
        return [f"{arn}:s3:::{bucket}/*"]
    if grant.kind == "prefixes":
        return [f"{arn}:s3:::{bucket}/{prefix}*" for prefix in grant.names]
    if grant.kind == "queue":
        return [f"{arn}:sqs:{region}:{account}:sentinel-{stage}-{n}" for n in grant.names]
    if grant.kind == "key":  # its id is random: the template's own (Fn::Sub), or the one a caller names
        return [key]
    if grant.kind == "topic":
        return [f"{arn}:sns:{region}:{account}:sentinel-{stage}-{n}" for n in grant.names]
    if grant.kind == "secret":  # Secrets Manager appends six random characters to a secret's ARN
        return [f"{arn}:secretsmanager:{region}:{account}:secret:sentinel-{stage}-{n}-??????" for n in grant.names]
    return ["*"]


def render(function: str, *, stage: str, partition: str = "${AWS::Partition}", account: str = "${AWS::AccountId}",
           region: str = "${AWS::Region}", bucket: str | None = None, key: str = "${DataKey.Arn}") -> dict:
    """The policy document of one function (the defaults leave CloudFormation to fill in the partition)."""
    statements = [{"Sid": "Logs", "Effect": "Allow", "Action": list(LOGS),
                   "Resource": f"arn:{partition}:logs:{region}:{account}:*"}]
    # every function reads or writes encrypted files
    statements += _statements([*FUNCTIONS[function], DATA_KEY], stage=stage, partition=partition, account=account,
                              region=region, bucket=bucket, key=key)
    return {"Version": "2012-10-17", "Statement": statements}


def render_province(*, stage: str, partition: str = "${AWS::Partition}", account: str = "${AWS::AccountId}",
                    region: str = "${AWS::Region}", bucket: str | None = None, key: str = "${DataKey.Arn}") -> dict:
    """The province's drop (PROVINCE_FEEDS): no logs, no other key use — it runs nothing of ours."""
    return {"Version": "2012-10-17", "Statement": _statements(
        PROVINCE_FEEDS, stage=stage, partition=partition, account=account, region=region, bucket=bucket, key=key)}


def _statements(grants: list[Grant], *, stage: str, partition: str, account: str, region: str, bucket: str | None,
                key: str) -> list[dict]:
    statements = []
    for n, grant in enumerate(grants):
        if not grant.actions:
            continue
        statement = {"Sid": f"G{n}", "Effect": "Allow", "Action": list(grant.actions),
                     "Resource": resources(grant, stage=stage, partition=partition, account=account, region=region,
                                           bucket=bucket, key=key)}
        if grant.via:  # S3's endpoint in the partition: s3.<region>.amazonaws.com(.cn)
            suffix = ("${AWS::URLSuffix}" if partition.startswith("${")
                      else "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com")
            statement["Condition"] = {"StringEquals": {"kms:ViaService": f"{grant.via}.{region}.{suffix}"}}
        statements.append(statement)
    return statements

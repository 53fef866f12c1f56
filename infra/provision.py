"""Create the stateful resources of infra/stateful.json on an AWS-compatible endpoint (the local moto
server, or moto in tests), so the embedded stack runs on exactly the tables, queues and bucket that
CloudFormation deploys. Only the resource types and intrinsics the template uses are understood;
anything else raises, so the template cannot silently drift from what local runs use.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

TEMPLATE = Path(__file__).with_name("stateful.json")


def load_template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


@dataclass
class Provisioned:
    tables: dict[str, str]
    queues: dict[str, str]  # logical id → queue URL
    buckets: dict[str, str]


class _Resolver:
    def __init__(self, template: dict[str, Any], params: dict[str, str]):
        self.template = template
        self.params = params
        self.physical: dict[str, str] = {}
        self.arns: dict[str, str] = {}

    def _aws_only(self, logical: str) -> bool:
        resource = self.template["Resources"].get(logical)
        return bool(resource) and resource["Type"] in AWS_ONLY

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Fn::Sub":
                text = arg
                for name, val in self.params.items():
                    text = text.replace("${%s}" % name, val)
                if "${" in text:
                    raise ValueError(f"unresolved Fn::Sub: {arg}")
                return text
            if fn == "Ref":
                if self._aws_only(arg):
                    return None
                return self.params.get(arg) or self.physical[arg]
            if fn == "Fn::GetAtt":
                logical, attribute = arg
                if self._aws_only(logical):
                    return None
                if attribute != "Arn":
                    raise ValueError(f"unsupported GetAtt {arg}")
                return self.arns[logical]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


# What the local and test stacks do without: alarms and their topic (运维 watches 失败队列 locally), the
# secrets (the local stage reads the stand-in's address and credentials from its environment) and the KMS
# key (a reference to it reads as None: the local bucket is encrypted with S3's own key, the tables and
# queues as DynamoDB Local and moto keep them).
AWS_ONLY = frozenset({"AWS::SNS::Topic", "AWS::CloudWatch::Alarm", "AWS::SecretsManager::Secret",
                      "AWS::KMS::Key", "AWS::KMS::Alias"})


def provision(stage: str, *, region: str = "us-east-1", account_id: str = "123456789012") -> Provisioned:
    template = load_template()
    resolve = _Resolver(template, {"Stage": stage, "AWS::AccountId": account_id,
                                   "AWS::Region": region, "AWS::Partition": "aws"})
    ddb = boto3.client("dynamodb", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    s3 = boto3.client("s3", region_name=region)
    out = Provisioned(tables={}, queues={}, buckets={})
    resources = template["Resources"]
    # Queues first (the bucket notifies them and dead-letter queues are redrive targets).
    for logical in sorted(resources, key=lambda lid: _creation_rank(resources[lid])):
        kind = resources[logical]["Type"]
        if kind in AWS_ONLY:
            continue
        # the console's cross-origin rule: the local console posts uploads through its own origin's relay
        # (local/server.py /s3/), and the rule's origins come from the console's parameters (Fn::If)
        props = resolve({k: v for k, v in resources[logical]["Properties"].items() if k != "CorsConfiguration"})
        if kind == "AWS::DynamoDB::Table":
            out.tables[logical] = _table(ddb, props)
        elif kind == "AWS::SQS::Queue":
            url = _queue(sqs, props)
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            resolve.physical[logical], resolve.arns[logical] = url, arn
            out.queues[logical] = url
        elif kind == "AWS::SQS::QueuePolicy":
            for url in props["Queues"]:
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        elif kind == "AWS::S3::Bucket":
            out.buckets[logical] = _bucket(s3, props, region)
        else:
            raise ValueError(f"provision does not know {kind} ({logical})")
    return out


def _creation_rank(resource: dict[str, Any]) -> int:
    kind = resource["Type"]
    if kind == "AWS::SQS::Queue":
        return 1 if "RedrivePolicy" in resource["Properties"] else 0  # a dead-letter queue comes first
    return {"AWS::SQS::QueuePolicy": 2, "AWS::DynamoDB::Table": 3, "AWS::S3::Bucket": 4}.get(kind, 5)


def _table(ddb, props: dict[str, Any]) -> str:
    name = props["TableName"]
    if name in ddb.list_tables()["TableNames"]:
        return name
    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    ddb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return name


def _queue(sqs, props: dict[str, Any]) -> str:
    attributes = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    return sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]


def _bucket(s3, props: dict[str, Any], region: str) -> str:
    name = props["BucketName"]
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": _local_encryption(rule["ServerSideEncryptionByDefault"])}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
    notifications = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if notifications:
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": n["Queue"], "Events": [n["Event"]],
             "Filter": {"Key": {"FilterRules": n["Filter"]["S3Key"]["Rules"]}}}
            for n in notifications]})
    return name


def _local_encryption(default: dict[str, Any]) -> dict[str, Any]:
    if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID") is None:
        return {"SSEAlgorithm": "AES256"}  # the stage's key is AWS's only
    return default

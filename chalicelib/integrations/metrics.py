"""The stage's own CloudWatch metrics (namespace `Sentinel`, dimension `Stage`): what the ops alarms of
infra/operations.json watch that no AWS metric says (services/operations/watch.py)."""
from __future__ import annotations

from datetime import datetime

import boto3

NAMESPACE = "Sentinel"


def publish(stage: str, values: dict[str, float], at: datetime) -> None:
    boto3.client("cloudwatch").put_metric_data(Namespace=NAMESPACE, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "Stage", "Value": stage}], "Timestamp": at, "Value": value,
         "Unit": "Count"} for name, value in sorted(values.items())])

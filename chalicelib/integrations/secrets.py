"""The stage's JSON secrets in Secrets Manager (粤政易's credentials, the SMS provider): read one as a JSON
object, or say it cannot be. Each caller turns that into its own Chinese message."""
from __future__ import annotations

import json

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class Unreadable(Exception):
    """Missing, not permitted, unreachable, or not a JSON object."""


def json_object(secret_id: str) -> dict:
    try:
        value = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    except (ClientError, BotoCoreError, KeyError, TypeError, ValueError) as exc:
        raise Unreadable(repr(exc)) from exc
    if not isinstance(value, dict):
        raise Unreadable("not a JSON object")
    return value

"""The stage's secrets in Secrets Manager: a JSON one (粤政易's credentials, the SMS provider, the person-key
ring) read as an object, a plain one (the app and edge secrets, services/common/stage_secrets.py) as its
string at a version stage — or say it cannot be. Each caller turns that into its own Chinese message."""
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


def text(secret_id: str, *, stage: str = "AWSCURRENT") -> str | None:
    """The secret's string at a version stage. None when no version has that stage (AWSPREVIOUS before
    the first rotation, or after `python -m infra.stage_secrets finish-edge` removed it)."""
    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id, VersionStage=stage)
    except ClientError as exc:
        if stage != "AWSCURRENT" and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise Unreadable(repr(exc)) from exc
    except BotoCoreError as exc:
        raise Unreadable(repr(exc)) from exc
    found = value.get("SecretString")
    if not isinstance(found, str) or not found:
        raise Unreadable("no SecretString")
    return found

"""The files bucket: uploaded workbooks, failure workbooks. The client is created on first use."""
from __future__ import annotations

from urllib.parse import quote

import boto3

from chalicelib.config import settings

_client = None


def s3():
    global _client
    if _client is None:
        _client = boto3.client("s3")
    return _client


def put(key: str, data: bytes, *, content_type: str, metadata: dict[str, str] | None = None) -> None:
    s3().put_object(Bucket=settings().files_bucket, Key=key, Body=data, ContentType=content_type,
                    Metadata=metadata or {})


def get(key: str, *, bucket: str | None = None) -> bytes:
    return s3().get_object(Bucket=bucket or settings().files_bucket, Key=key)["Body"].read()


def reset_client() -> None:
    """Tests that start a fresh moto backend call this so no client outlives it."""
    global _client
    _client = None


def stream(key: str, *, bucket: str | None = None):
    """The object's body as a file-like stream (read(n)), never the whole file in memory."""
    return s3().get_object(Bucket=bucket or settings().files_bucket, Key=key)["Body"]


def move(key: str, new_key: str, *, bucket: str | None = None) -> None:
    bucket = bucket or settings().files_bucket
    s3().copy_object(Bucket=bucket, Key=new_key, CopySource={"Bucket": bucket, "Key": key})
    s3().delete_object(Bucket=bucket, Key=key)


def link(key: str, *, filename: str, seconds: int) -> str:
    """A presigned GET of the object that the browser saves as `filename`: large files go from S3 to the
    browser directly, never through a Lambda response (6 MB at most) or API Gateway (29 s)."""
    return s3().generate_presigned_url("get_object", ExpiresIn=seconds, Params={
        "Bucket": settings().files_bucket, "Key": key,
        "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}"})

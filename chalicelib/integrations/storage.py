"""The files bucket: uploaded workbooks, failure workbooks. The client is created on first use."""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from urllib.parse import quote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.config import settings
from chalicelib.rules.clock import now

_client = None
_signer = None


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
    global _client, _signer
    _client = _signer = None


def size(key: str, *, bucket: str | None = None) -> int | None:
    """The object's size in bytes, or None when there is no such object (HEAD: nothing is read)."""
    try:
        return int(s3().head_object(Bucket=bucket or settings().files_bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def upload_form(key: str, *, max_bytes: int, content_type: str, seconds: int) -> tuple[dict, datetime]:
    """A presigned POST that lets its holder put one file at exactly `key`, of 1 … `max_bytes` bytes and of
    `content_type`, for `seconds`: the browser sends the file to S3 itself, never through the API (API
    Gateway takes 10 MB, a Lambda event 6 MB). S3 checks every condition; the importer checks the size and
    the content again (moto checks none of them). Returns {url, fields} and when it expires.

    Signed with SigV4 against the bucket's regional virtual-hosted endpoint
    (https://<bucket>.s3.<region>.<suffix>/): the address the console's CSP connect-src names
    (infra/hosting.json). On the local stack the URL is the same-origin relay's (settings().upload_relay)."""
    global _signer
    if _signer is None:
        _signer = _regional_signer()
    bucket = settings().files_bucket
    form = _signer.generate_presigned_post(
        bucket, key, Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]], ExpiresIn=seconds)
    if settings().upload_relay:  # forwarded unchanged: a POST policy's signature does not cover the host
        form["url"] = settings().upload_relay + urlparse(form["url"]).path
    return {"url": form["url"], "fields": form["fields"]}, now() + timedelta(seconds=seconds)


def _regional_signer():
    """An S3 client that signs for https://<bucket>.s3.<region>.<suffix>/ in every region: left to itself
    boto3 names the global s3.amazonaws.com for some (us-east-1, ap-east-1 …), which the CSP does not list
    and which redirects a browser's cross-origin POST. An endpoint the environment names (the local moto,
    AWS_ENDPOINT_URL) is used as it is."""
    if os.environ.get("AWS_ENDPOINT_URL_S3", "") or os.environ.get("AWS_ENDPOINT_URL", ""):
        return boto3.client("s3", config=Config(signature_version="s3v4"))
    region = boto3.session.Session().region_name or "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return boto3.client("s3", region_name=region, endpoint_url=f"https://s3.{region}.{suffix}",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))


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

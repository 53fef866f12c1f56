"""What S3 checks of a presigned POST (a browser-based upload, SigV4), taught to moto, which checks none of
it: the policy's signature by the signer's secret key, its expiry, and each of its conditions against the
form and the file (the bucket, the exact key, Content-Type, content-length-range). And, when moto enforces
IAM (tests/iam_moto.py), that the signer may s3:PutObject the object: moto would look for an Authorization
header a form post has not got.

So the functional suite proves on both passes that a form the API signed (chalicelib/integrations/storage.py
upload_form) carries exactly the file it was made for, as S3 would: a larger file, another key or type, an
expired form are refused with S3's own error codes (EntityTooLarge, AccessDenied).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone


def _error(status: int, code: str, message: str):
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>")
    return status, {"Content-Type": "application/xml"}, body


def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _secret(account: str, access_key: str) -> str | None:
    from moto.iam.models import iam_backends

    for user in iam_backends[account]["aws"].users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key:
                return key.secret_access_key
    if access_key == os.environ.get("AWS_ACCESS_KEY_ID"):  # the suite's own credentials, moto not enforcing IAM
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


def refusal(form: dict[str, str], size: int, bucket: str, account: str):
    """None when S3 would accept this form post, else moto's (status, headers, body) of S3's refusal."""
    try:
        policy = json.loads(base64.b64decode(form["policy"]))
        access_key, day, region, service, _ = form["x-amz-credential"].split("/")
    except (KeyError, ValueError):
        return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if form.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or service != "s3":
        return _error(400, "InvalidRequest", "The authorization mechanism you have provided is not supported.")
    secret = _secret(account, access_key)
    if secret is None:
        return _error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    expected = hmac.new(_signing_key(secret, day, region), form["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, form.get("x-amz-signature", "")):
        return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
    expiry = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if expiry < datetime.now(timezone.utc):
        return _error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    fields = {k.lower(): v for k, v in form.items()}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            (name, value), = condition.items()
            got = bucket if name == "bucket" else fields.get(name.lower())
            if got != value:
                return _error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {name}")
        elif condition[0] == "content-length-range":
            if size < condition[1]:
                return _error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
            if size > condition[2]:
                return _error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        elif condition[0] == "eq":
            if fields.get(condition[1].lstrip("$").lower()) != condition[2]:
                return _error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")
        elif condition[0] == "starts-with":
            if not str(fields.get(condition[1].lstrip("$").lower(), "")).startswith(condition[2]):
                return _error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")
    signed = {"policy", "x-amz-signature", "file"}
    named = {(next(iter(c)) if isinstance(c, dict) else str(c[1]).lstrip("$")).lower() for c in policy["conditions"]
             if isinstance(c, dict) or c[0] != "content-length-range"}
    extra = {k for k in fields if k not in signed and k not in named and not k.startswith("x-ignore-")}
    if extra:  # S3: every form field but these must be named by a condition
        return _error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {sorted(extra)}")
    return None


def _put_allowed(account: str, access_key: str, resource: str) -> bool:
    from moto.iam.access_control import IAMPolicy, PermissionResult, create_access_key

    results = [IAMPolicy(p).is_action_permitted("s3:PutObject", resource)
               for p in create_access_key(account_id=account, partition="aws", access_key_id=access_key,
                                          headers={}).collect_policies()]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


@contextmanager
def taught(*, enforce_iam: bool):
    """Inside `mock_aws`: every form post to a bucket is checked as S3 would check it."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def checked_post(self, request, bucket_name):
        form = dict(self.form_data.items())  # the posted fields alone (moto adds BucketName to its querystring)
        if "policy" not in form:  # not a form upload (a batch delete …): moto's own path
            return original(self, request, bucket_name)
        body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
        problem = refusal(form, len(body), bucket_name, self.current_account)
        if problem:
            return problem
        access_key = form["x-amz-credential"].split("/")[0]
        if enforce_iam and not _put_allowed(self.current_account, access_key,
                                            f"arn:aws:s3:::{bucket_name}/{form['key']}"):
            return _error(403, "AccessDenied", "Access Denied")
        self._authenticate_and_authorize_s3_action = lambda **_: None  # authorized above, by the form's signer
        return original(self, request, bucket_name)

    S3Response._bucket_response_post = checked_post
    try:
        yield
    finally:
        S3Response._bucket_response_post = original


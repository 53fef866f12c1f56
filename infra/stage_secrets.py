"""Rotating the stage's app and edge secrets, with the deploying engineer's AWS credentials (docs/deploy.md,
"Secrets"). The functions read both at run time and trust what they read for a minute
(chalicelib/services/common/stage_secrets.py), so a new value needs no deploy to reach them:

    python -m infra.stage_secrets status      --stage prod   # versions, and whether an edge rotation is under way
    python -m infra.stage_secrets rotate-app  --stage prod   # a new app secret, used everywhere within a minute
    python -m infra.stage_secrets rotate-edge --stage prod   # a new edge secret; the API accepts the old one too
    make deploy STAGE=prod PARTITION=…                       # CloudFront's header becomes the new version
    python -m infra.stage_secrets finish-edge --stage prod   # CloudFront sends the new one: the old is refused

The edge secret has two holders: the API reads it, and CloudFront sends it in X-Sentinel-Edge, resolved by
CloudFormation when the distribution changes. CloudFormation re-resolves a dynamic reference only when its
text changes, so the header names the secret's version (EdgeSecretVersion, which `make deploy` sets to the
AWSCURRENT one). Meanwhile the API accepts AWSCURRENT and AWSPREVIOUS; `finish-edge` removes AWSPREVIOUS once
the stack's EdgeSecretVersion is the current version and the distribution has deployed it. A value is never
printed.
"""
from __future__ import annotations

import argparse
import json
import secrets
import string
import sys

import boto3
from botocore.exceptions import ClientError

ALPHABET = string.ascii_letters + string.digits  # as the template generates them (ExcludePunctuation)
LENGTHS = {"app": 64, "edge": 48}


class Refused(Exception):
    """A step that may not run now; its message says why."""


def secret_id(stage: str, which: str) -> str:
    return f"sentinel-{stage}-{which}"


def stages_of(secret: str) -> dict[str, str]:
    """Version stage (AWSCURRENT, AWSPREVIOUS) → version id."""
    described = boto3.client("secretsmanager").describe_secret(SecretId=secret)
    return {stage: version for version, stages in described.get("VersionIdsToStages", {}).items() for stage in stages}


def _put(secret: str, length: int) -> str:
    value = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=value)["VersionId"]


def _stack(stage: str) -> dict:
    try:
        return boto3.client("cloudformation").describe_stacks(StackName=f"sentinel-{stage}")["Stacks"][0]
    except ClientError as exc:
        raise Refused(f"stack sentinel-{stage} cannot be read: {exc}") from exc


def _parameter(stack: dict, name: str) -> str:
    return next((p.get("ParameterValue", "") for p in stack.get("Parameters", []) if p["ParameterKey"] == name), "")


def _output(stack: dict, name: str) -> str:
    return next((o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == name), "")


def rotate_app(stage: str) -> str:
    """A new app secret: every function keys with it within a minute. SMS codes sent before then stop
    working (heads ask for a new one) and the audit's filter by 操作人 starts anew; nothing else changes."""
    return _put(secret_id(stage, "app"), LENGTHS["app"])


def rotate_edge(stage: str) -> str:
    secret = secret_id(stage, "edge")
    versions = stages_of(secret)
    sent = _parameter(_stack(stage), "EdgeSecretVersion")
    if "AWSPREVIOUS" in versions and sent != versions["AWSCURRENT"]:
        raise Refused("the last edge rotation is not finished: CloudFront may still send the previous value, "
                      "which a new rotation would stop accepting. Run make deploy, then finish-edge, first")
    return _put(secret, LENGTHS["edge"])


def finish_edge(stage: str) -> str:
    """Stop accepting the previous edge value, once CloudFront sends the current one everywhere."""
    secret = secret_id(stage, "edge")
    versions = stages_of(secret)
    if "AWSPREVIOUS" not in versions:
        raise Refused("no edge rotation is under way")
    stack = _stack(stage)
    if _parameter(stack, "EdgeSecretVersion") != versions["AWSCURRENT"]:
        raise Refused(f"CloudFront does not send the current version yet: run make deploy STAGE={stage} "
                      "(it sets EdgeSecretVersion), then finish-edge again")
    distribution = _output(stack, "ConsoleDistributionId")
    if distribution:
        status = boto3.client("cloudfront").get_distribution(Id=distribution)["Distribution"]["Status"]
        if status != "Deployed":
            raise Refused(f"the distribution is {status}: its edges may still send the previous value; "
                          "try again when it is Deployed (minutes)")
    boto3.client("secretsmanager").update_secret_version_stage(
        SecretId=secret, VersionStage="AWSPREVIOUS", RemoveFromVersionId=versions["AWSPREVIOUS"])
    return versions["AWSCURRENT"]


def status(stage: str) -> dict:
    out = {}
    for which in ("app", "edge"):
        out[which] = stages_of(secret_id(stage, which))
    try:
        sent = _parameter(_stack(stage), "EdgeSecretVersion")
    except Refused:
        sent = ""
    out["cloudfront_sends"] = sent or "(the version current when the distribution last changed)"
    out["edge_rotation_under_way"] = "AWSPREVIOUS" in out["edge"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="轮换应用密钥与边缘密钥（sentinel-<stage>-app / -edge）")
    parser.add_argument("action", choices=("status", "rotate-app", "rotate-edge", "finish-edge"))
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        if args.action == "status":
            print(json.dumps(status(args.stage), indent=2))
        elif args.action == "rotate-app":
            print(f"app secret: new version {rotate_app(args.stage)}; every function uses it within a minute. "
                  "SMS codes sent before then no longer work.")
        elif args.action == "rotate-edge":
            version = rotate_edge(args.stage)
            print(f"edge secret: new version {version}; the API accepts it and the previous one. Next: "
                  f"make deploy STAGE={args.stage} PARTITION=… (CloudFront's header becomes {version}), "
                  f"then python -m infra.stage_secrets finish-edge --stage {args.stage}")
        else:
            print(f"edge secret: only version {finish_edge(args.stage)} is accepted from now (within a minute)")
    except Refused as exc:
        print(f"未执行：{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

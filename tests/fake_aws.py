"""A stand-in for the AWS CLI, for `make deploy` offline (tests/unit/test_deploy.py): it answers the calls
infra/deploy.py makes from a JSON state file (FAKE_AWS_STATE: region, account, buckets, stacks, the edge
secret's versions, the account's unreserved Lambda concurrency), records every call (FAKE_AWS_LOG, one JSON
list per line), and refuses what CloudFormation and S3 refuse: a template body over 51,200 bytes
(`aws cloudformation deploy` without --s3-bucket answers exactly as the CLI does), a bucket that does not
exist, a call it does not know.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TOO_LARGE = ("Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket. Please add the "
             "--s3-bucket parameter to your command. The local template will be copied to that S3 bucket and "
             "then deployed.")


def option(args: list[str], name: str, default=None):
    return args[args.index(name) + 1] if name in args else default


def main(argv: list[str]) -> int:
    path = Path(os.environ["FAKE_AWS_STATE"])
    state = json.loads(path.read_text())
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    service, command, args = argv[0], argv[1], argv[2:]
    region = option(args, "--region", state["region"])
    out, code = answer(state, service, command, args, region)
    path.write_text(json.dumps(state))
    if code:
        print(out, file=sys.stderr)
    elif out:
        print(out)
    return code


def answer(state: dict, service: str, command: str, args: list[str], region: str) -> tuple[str, int]:
    if (service, command) == ("configure", "get"):
        return state["region"], 0
    if (service, command) == ("sts", "get-caller-identity"):
        return state["account"], 0
    if service == "s3api":
        bucket = option(args, "--bucket")
        if command == "head-bucket":
            if bucket in state["buckets"]:
                return "", 0
            return "An error occurred (404) when calling the HeadBucket operation: Not Found", 254
        if command == "create-bucket":
            constraint = option(args, "--create-bucket-configuration", "")
            if (region == "us-east-1") != (constraint == ""):
                return f"An error occurred (IllegalLocationConstraintException): {constraint!r} in {region}", 254
            state["buckets"][bucket] = {"region": region, "objects": []}
            return json.dumps({"Location": f"/{bucket}"}), 0
        if command in ("put-public-access-block", "put-bucket-encryption"):
            state["buckets"][bucket][command] = True
            return "", 0
    if (service, command) == ("lambda", "get-account-settings"):
        return str(state["unreserved"]), 0
    if (service, command) == ("secretsmanager", "describe-secret"):
        if "edge_versions" not in state:
            return "An error occurred (ResourceNotFoundException) when calling the DescribeSecret operation", 254
        return json.dumps(state["edge_versions"]), 0
    if service == "cloudformation":
        stack = option(args, "--stack-name")
        if command == "describe-stacks":
            if stack not in state["stacks"]:
                return f"An error occurred (ValidationError): Stack with id {stack} does not exist", 254
            return json.dumps(state["stacks"][stack]["outputs"]), 0
        if command == "package":
            bucket = option(args, "--s3-bucket")
            if bucket not in state["buckets"]:
                return f"S3 Bucket does not exist: {bucket}", 255
            template = json.loads(Path(option(args, "--template-file")).read_text())
            key = f"{option(args, '--s3-prefix', '')}/0123456789abcdef".lstrip("/")
            for resource in template["Resources"].values():
                if resource["Type"] == "AWS::Serverless::Function":
                    resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
            state["buckets"][bucket]["objects"].append(key)
            Path(option(args, "--output-template-file")).write_text(json.dumps(template, indent=4))
            return "", 0
        if command == "deploy":
            body = Path(option(args, "--template-file")).read_bytes()
            bucket = option(args, "--s3-bucket")
            if bucket is None and len(body) > 51_200:
                return TOO_LARGE, 255
            if bucket is not None and bucket not in state["buckets"]:
                return f"S3 Bucket does not exist: {bucket}", 255
            overrides = args[args.index("--parameter-overrides") + 1:] if "--parameter-overrides" in args else []
            overrides = [o for o in overrides if "=" in o]
            state["stacks"][stack] = {"outputs": state.get("outputs", []), "template_bytes": len(body),
                                      "parameters": dict(o.split("=", 1) for o in overrides),
                                      "capabilities": args[args.index("--capabilities") + 1:][:2]}
            return f"Successfully created/updated stack - {stack}", 0
    return f"fake aws: unknown call {service} {command}", 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

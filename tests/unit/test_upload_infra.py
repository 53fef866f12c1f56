"""Uploads past 6 MB on AWS (issue 24, item 7), offline: the console's pages may post to exactly the address
the API signs its forms for (the CSP's connect-src), the files bucket answers that console's origin (CORS),
and the province's drop can put objects under feeds/nat/ and feeds/vaccine/ and do nothing else."""
from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import boto3
import pytest

from infra import package, policies
from local.server import PAGE_HEADERS
from tests.cfn_effective import Effective

ACCOUNT = "123456789012"
SUFFIX = {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn"}
REGIONS = [("aws", "us-east-1"), ("aws", "ap-east-1"), ("aws-cn", "cn-north-1"), ("aws-cn", "cn-northwest-1")]


@pytest.fixture(scope="module")
def template() -> dict:
    return package.merge_fragments()


def _evaluate(node, values: dict):
    """Fn::Sub, Fn::Join, Fn::Select and Fn::Split of plain strings, as CloudFormation evaluates them
    (tests/cfn_effective.py has taken the conditions already)."""
    if isinstance(node, list):
        return [_evaluate(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    (fn, arg), = node.items()
    if fn == "Ref":
        return values[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: values[m.group(1)], arg)
    if fn == "Fn::Join":
        return arg[0].join(_evaluate(arg[1], values))
    if fn == "Fn::Select":
        return _evaluate(arg[1], values)[arg[0]]
    if fn == "Fn::Split":
        return _evaluate(arg[1], values).split(arg[0])
    raise AssertionError(fn)


def _values(partition: str, region: str, **parameters) -> dict:
    return {"Stage": "prod", "AWS::AccountId": ACCOUNT, "AWS::Region": region, "AWS::Partition": partition,
            "AWS::URLSuffix": SUFFIX[partition], **parameters}


def _csp(template, partition, region) -> str:
    policy = template["Resources"]["ConsolePageHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return _evaluate(policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"],
                     _values(partition, region))


@pytest.mark.parametrize("partition,region", REGIONS)
def test_the_pages_may_post_to_exactly_where_the_api_signs_its_forms(template, monkeypatch, partition, region):
    """The console's CSP is the local server's, with the files bucket's endpoint added to connect-src; and
    that endpoint is the origin of the form storage.upload_form signs in that region (SigV4, regional,
    virtual-hosted: boto3's default in us-east-1 would be the global name, and SigV2)."""
    from chalicelib.integrations import storage

    bucket = f"sentinel-prod-files-{ACCOUNT}"
    monkeypatch.setenv("FILES_BUCKET", bucket)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.delenv("UPLOAD_RELAY", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a Lambda's region is its environment's, read once
    storage.reset_client()
    try:
        form, _ = storage.upload_form("uploads/staff/x.xlsx", max_bytes=10, content_type="text/csv", seconds=60)
    finally:
        storage.reset_client()
    url = urlparse(form["url"])
    origin = f"{url.scheme}://{url.netloc}"
    assert origin == f"https://{bucket}.s3.{region}.{SUFFIX[partition]}"
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    local = PAGE_HEADERS["Content-Security-Policy"]
    assert _csp(template, partition, region) == local.replace("connect-src 'self'", f"connect-src 'self' {origin}")
    assert len(_csp(template, partition, region)) < 1783  # CloudFront's limit for a CSP value


@pytest.mark.parametrize("partition,parameters,origins", [
    ("aws", {}, ["https://*.cloudfront.net"]),  # the distribution's own name, unknown until it exists
    ("aws-cn", {}, ["https://*.cloudfront.cn"]),
    ("aws", {"ConsoleDomain": "jkjc.example.gov.cn"}, ["https://jkjc.example.gov.cn"]),
    ("aws-cn", {"ConsolePublicUrl": "https://jkjc.example.gov.cn/#/alerts"}, ["https://jkjc.example.gov.cn"]),
    ("aws", {"ConsolePublicUrl": "http://10.0.0.8:8080/", "ConsoleDomain": "a.example.cn"},
     ["http://10.0.0.8:8080", "https://a.example.cn"]),
])
def test_the_files_bucket_takes_form_posts_from_the_consoles_origin_only(template, partition, parameters, origins):
    """A presigned POST from the console is a cross-origin request to the bucket (with an upload progress
    listener, preflighted): its CORS rule allows POST from the console's origin — the parameters'
    address, else the partition's CloudFront names — and nothing else (no GET, PUT or DELETE)."""
    effective = Effective(template, **parameters, **{"AWS::Partition": partition})
    bucket = effective.resolve(template["Resources"]["FilesBucket"]["Properties"])
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    values = _values(partition, "cn-north-1" if partition == "aws-cn" else "us-east-1",
                     ConsolePublicUrl=parameters.get("ConsolePublicUrl", ""),
                     ConsoleDomain=parameters.get("ConsoleDomain", ""))
    assert [_evaluate(o, values) for o in rule["AllowedOrigins"]] == origins


def test_the_stateful_fragment_declares_the_consoles_parameters_as_hosting_does():
    """The bucket's rule reads the console's parameters; the fragments merge only if both say the same."""
    fragments = {n: json.loads((package.ROOT / "infra" / n).read_text(encoding="utf-8"))
                 for n in ("stateful.json", "hosting.json")}
    for name in ("ConsoleDomain", "ConsolePublicUrl"):
        assert fragments["stateful.json"]["Parameters"][name] == fragments["hosting.json"]["Parameters"][name]


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_the_provinces_drop_puts_feed_files_and_nothing_else(partition):
    region = "cn-north-1" if partition == "aws-cn" else "us-east-1"
    document = policies.render_province(stage="prod", partition=partition, account=ACCOUNT, region=region,
                                        key="arn:key")
    bucket = f"arn:{partition}:s3:::sentinel-prod-files-{ACCOUNT}"
    (objects, key) = document["Statement"]
    assert objects["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert objects["Resource"] == [f"{bucket}/feeds/nat/*", f"{bucket}/feeds/vaccine/*"]
    assert "Condition" not in objects
    assert key["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"] and key["Resource"] == ["arn:key"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{region}.{SUFFIX[partition]}"}}
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert not actions & {"s3:GetObject", "s3:DeleteObject", "s3:ListBucket", "s3:*", "kms:*"}
    assert actions <= policies.IAM_ACTIONS


def test_the_package_gives_the_drop_its_policy_and_the_provinces_principal_a_role(template):
    placeholder = template["Resources"]["ProvinceFeedPolicy"]["Properties"]["PolicyDocument"]
    assert placeholder["Statement"] == [{"Effect": "Deny", "Action": "*", "Resource": "*"}]  # until package.py
    finished = package.finish(json.loads(json.dumps(template)), stage="prod", partition="aws-cn")
    resources = finished["Resources"]
    assert resources["ProvinceFeedPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    assert resources["ProvinceFeedPolicy"]["Properties"]["PolicyDocument"] == {
        "Fn::Sub": json.dumps(policies.render_province(stage="${Stage}"))}
    role = resources["ProvinceFeedRole"]
    assert role["Condition"] == "HasProvinceFeedPrincipal"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"AWS": {"Ref": "ProvinceFeedPrincipal"}},
                      "Action": "sts:AssumeRole"}]
    assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": "ProvinceFeedPolicy"}]
    assert "Policies" not in role["Properties"]  # its one policy is the managed one a user can hold instead
    pattern = re.compile(template["Parameters"]["ProvinceFeedPrincipal"]["AllowedPattern"])
    for good in ("", "111122223333", "arn:aws-cn:iam::111122223333:root", "arn:aws:iam::111122223333:role/feeds"):
        assert pattern.fullmatch(good), good
    for bad in ("*", "arn:aws:iam::*:root", "111122223333; drop", "arn:aws:sts::111122223333:assumed-role/x/y"):
        assert not pattern.fullmatch(bad), bad

"""The console's hosting (infra/hosting.json, infra/publish.py) is what the local server is, on AWS.

One CloudFront origin serves the built console and mobile page from a private bucket and relays `/api/*`
to the API, so the pages' relative `/api/...` calls and their CSP (`connect-src 'self'`) hold as they do
on `make run`. Checked here on the real JSON: the pages get exactly local/server.py's security headers
(and HSTS); `/api/*` reaches the API's stage uncached with the Bearer token; only the distribution can
read the bucket; in aws-cn the console is served only on its ICP-filed domain with an IAM certificate;
every resource type exists in the China regions; and `make deploy`'s upload gives the mobile page the
keys CloudFront asks for and each file the caching it may have.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import package, publish
from local.server import PAGE_HEADERS
from tests.cfn_effective import Effective

ROOT = Path(__file__).resolve().parents[2]
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


@pytest.fixture(scope="module")
def template() -> dict:
    return package.merge_fragments()  # what is merged with Chalice's template: a conflict would raise here


def _resource(template: dict, logical: str) -> dict:
    return template["Resources"][logical]


def _config(template: dict) -> dict:
    return _resource(template, "ConsoleDistribution")["Properties"]["DistributionConfig"]


def _ref(value) -> str:
    assert isinstance(value, dict) and set(value) == {"Ref"}, value
    return value["Ref"]


def _resolve(node, template: dict, *, partition: str, **parameters):
    """The value CloudFormation would use for the given parameters and partition, and its conditions."""
    effective = Effective(template, **parameters, **{"AWS::Partition": partition})
    return effective.resolve(node), effective.condition


def test_the_pages_get_exactly_the_local_servers_security_headers_and_hsts(template):
    behavior = _config(template)["DefaultCacheBehavior"]
    policy = _resource(template, _ref(behavior["ResponseHeadersPolicyId"]))
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    # the local server's, but connect-src also names the files bucket, where the pages post presigned uploads
    # (locally they go to the same-origin /s3/ relay): tests/unit/test_upload_infra.py holds it to the forms
    bucket = "https://sentinel-${Stage}-files-${AWS::AccountId}.s3.${AWS::Region}.${AWS::URLSuffix}"
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == {"Fn::Sub": PAGE_HEADERS[
        "Content-Security-Policy"].replace("connect-src 'self'", f"connect-src 'self' {bucket}")}
    assert PAGE_HEADERS["X-Content-Type-Options"] == "nosniff" and "ContentTypeOptions" in headers  # its only value
    assert headers["FrameOptions"]["FrameOption"] == PAGE_HEADERS["X-Frame-Options"]
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == PAGE_HEADERS["Referrer-Policy"]
    assert headers["StrictTransportSecurity"] == {"AccessControlMaxAgeSec": 31536000, "IncludeSubdomains": True,
                                                  "Preload": False, "Override": True}
    assert len(headers) == len(PAGE_HEADERS) + 1  # the local server's four and HSTS, nothing else
    assert all(header["Override"] for header in headers.values())  # whatever an object's metadata says
    assert behavior["TargetOriginId"] == "console-bucket" and behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert _config(template)["DefaultRootObject"] == "index.html"


def test_api_paths_reach_the_api_stage_uncached_with_the_bearer_token(template):
    config = _config(template)
    (behavior,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    # Chalice's routes are /api/..., under its stage: /api/staff is the stage's /api/api/staff
    assert {stage["api_gateway_stage"] for stage in stages.values()} == {"api"}
    assert origin["OriginPath"] == "/api"
    assert origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert set(behavior["AllowedMethods"]) == ALL_METHODS and "ForwardedValues" not in behavior
    # the proof a request came through the edge, so the API may take the viewer's address from it
    # (chalicelib/api/common.py viewer_address), which reads the same secret at run time; at the version
    # make deploy names (EdgeSecretVersion: a rotation changes the reference, so CloudFormation resolves it again)
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Sentinel-Edge"
    assert _resolve(header["HeaderValue"], template, partition="aws")[0] == {
        "Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString}}"}
    assert _resolve(header["HeaderValue"], template, partition="aws", EdgeSecretVersion="v2")[0] == {
        "Fn::Sub": "{{resolve:secretsmanager:${EdgeSecret}:SecretString:::${EdgeSecretVersion}}}"}
    assert template["Resources"]["EdgeSecret"]["Type"] == "AWS::SecretsManager::Secret"

    cache = _resource(template, _ref(behavior["CachePolicyId"]))["Properties"]["CachePolicyConfig"]
    assert (cache["MinTTL"], cache["DefaultTTL"], cache["MaxTTL"]) == (0, 0, 0)
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == key["CookiesConfig"]["CookieBehavior"] == \
        key["QueryStringsConfig"]["QueryStringBehavior"] == "none"

    forwarded = _resource(template, _ref(behavior["OriginRequestPolicyId"]))["Properties"]["OriginRequestPolicyConfig"]
    # every viewer header (Authorization: Bearer among them) but Host: API Gateway answers only its own name
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["Host"]}
    assert forwarded["CookiesConfig"]["CookieBehavior"] == "all"
    assert forwarded["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    # error pages apply to every path: an SPA fallback would turn the API's JSON 403 and 404 into the
    # console's page. The routers use hash history (frontend/src/*/router.js), so none is needed.
    assert "CustomErrorResponses" not in config
    for router in ("console", "mobile"):
        assert "createWebHashHistory()" in (ROOT / "frontend" / "src" / router / "router.js").read_text()


def test_the_bucket_is_private_and_only_the_distribution_reads_it(template):
    bucket = _resource(template, "ConsoleBucket")["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True} and len(
        bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}  # no ACLs
    assert "WebsiteConfiguration" not in bucket  # a website endpoint is public by design

    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"
                and r["Properties"]["Bucket"] == {"Ref": "ConsoleBucket"}]
    (policy,) = policies
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [{"Sid": "OnlyTheDistributionReads", "Effect": "Allow",
                       "Principal": {"CanonicalUser": {"Fn::GetAtt": ["ConsoleOriginAccessIdentity",
                                                                      "S3CanonicalUserId"]}},
                       "Action": "s3:GetObject",
                       "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ConsoleBucket}/*"}}]
    (origin,) = [o for o in _config(template)["Origins"] if o["Id"] == "console-bucket"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == {
        "Fn::Sub": "origin-access-identity/cloudfront/${ConsoleOriginAccessIdentity}"}


def test_aws_cn_serves_the_console_only_on_its_filed_domain_with_the_iam_certificate(template):
    config = _config(template)
    china = dict(ConsoleDomain="jkjc.example.gov.cn", ConsoleCertificateId="ASCAEXAMPLE1234567890")
    resolved, condition = _resolve(config, template, partition="aws-cn", **china)
    assert condition("HostsConsole")
    assert resolved["Aliases"] == ["jkjc.example.gov.cn"]
    assert resolved["ViewerCertificate"] == {"IamCertificateId": "ASCAEXAMPLE1234567890",
                                             "SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}
    url, _ = _resolve(template["Outputs"]["ConsoleUrl"]["Value"], template, partition="aws-cn", **china)
    assert url == {"Fn::Sub": "https://${ConsoleDomain}/"}

    # no *.cloudfront.cn serving in China: without a filed domain, no console resources at all
    _, condition = _resolve(config, template, partition="aws-cn")
    assert not condition("HostsConsole")
    hosting = json.loads((ROOT / "infra" / "hosting.json").read_text(encoding="utf-8"))
    assert {r.get("Condition") for r in hosting["Resources"].values()} == {"HostsConsole"}
    assert {o.get("Condition") for o in hosting["Outputs"].values()} == {"HostsConsole"}
    assert set(hosting["Outputs"]) == {"ConsoleUrl", "ConsoleBucketName", "ConsoleDistributionId",
                                       "ConsoleDistributionDomainName"}  # the last: the CNAME's target

    # aws: the distribution's own name and certificate, or a domain with an ACM certificate
    resolved, condition = _resolve(config, template, partition="aws")
    assert condition("HostsConsole") and "Aliases" not in resolved
    assert resolved["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    url, _ = _resolve(template["Outputs"]["ConsoleUrl"]["Value"], template, partition="aws")
    assert url == {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/"}
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
    resolved, _ = _resolve(config, template, partition="aws", ConsoleDomain="jkjc.example.org",
                           ConsoleAcmCertificateArn=arn)
    assert resolved["Aliases"] == ["jkjc.example.org"] and resolved["ViewerCertificate"]["AcmCertificateArn"] == arn


def test_the_aws_cn_package_passes_cfn_lint_in_both_china_regions(tmp_path):
    """No resource type the China regions lack: their CloudFormation knows neither
    AWS::CloudFront::OriginAccessControl nor AWS::CloudFront::Function ("Unrecognized resource types")."""
    base = package.chalice_package("prod", tmp_path / "chalice", region="cn-north-1")
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(package.finish(base, stage="prod", partition="aws-cn")))
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, "--regions", "cn-north-1", "cn-northwest-1", "--", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(path.read_text())["Resources"]["ConsoleDistribution"]["Condition"] == "HostsConsole"


@pytest.fixture
def dist(tmp_path) -> Path:
    """A build as Vite writes it: two pages, hashed assets."""
    for name, text in {"index.html": "<title>console</title>", "m/index.html": "<title>mobile</title>",
                       "assets/console-Ab12.js": "console()", "assets/console-Cd34.css": "body{}"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_upload_gives_the_mobile_page_its_keys_and_each_file_its_caching(dist):
    from moto import mock_aws
    import boto3

    uploads = publish.plan(dist)
    keys = [u.key for u in uploads]
    assert keys[:2] == ["assets/console-Ab12.js", "assets/console-Cd34.css"]  # before any page names them
    assert set(keys[2:]) == {"index.html", "m/index.html", "m/", "m"}
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="sentinel-dev-console-123456789012")
        publish.upload(s3, "sentinel-dev-console-123456789012", uploads)
        get = lambda key: s3.get_object(Bucket="sentinel-dev-console-123456789012", Key=key)  # noqa: E731
        for key in ("m/", "m", "m/index.html"):  # what CloudFront asks S3 for on /m/, /m and /m/index.html
            answer = get(key)
            assert answer["Body"].read() == b"<title>mobile</title>", key
            assert answer["CacheControl"] == "no-cache" and answer["ContentType"] == "text/html; charset=utf-8"
        assert get("index.html")["CacheControl"] == "no-cache"
        script = get("assets/console-Ab12.js")
        assert script["CacheControl"] == "public, max-age=31536000, immutable"
        assert script["ContentType"] == "text/javascript; charset=utf-8"


def test_the_invalidation_names_the_pages():
    class CloudFront:
        def create_invalidation(self, **kwargs):
            self.asked = kwargs
            return {"Invalidation": {"Id": "I2J0I21PCUYOIK"}}

    cloudfront = CloudFront()
    assert publish.invalidate(cloudfront, "E2QWRUHEXAMPLE") == "I2J0I21PCUYOIK"
    assert cloudfront.asked["DistributionId"] == "E2QWRUHEXAMPLE"
    paths = cloudfront.asked["InvalidationBatch"]["Paths"]
    assert {"/index.html", "/m/*"} <= set(paths["Items"]) and paths["Quantity"] == len(paths["Items"])


def test_a_build_missing_a_page_is_not_published(dist):
    (dist / "m" / "index.html").unlink()
    with pytest.raises(SystemExit, match="make frontend"):
        publish.plan(dist)

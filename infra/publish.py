"""`make deploy`'s last step: the built frontend (frontend/dist) into the console bucket, then CloudFront
told to fetch the pages again.

    python -m infra.publish --bucket <ConsoleBucketName> --distribution <ConsoleDistributionId>

Both names are the stack's outputs (infra/hosting.json; the Makefile reads them with `aws cloudformation
describe-stacks`). What is uploaded, and how browsers and CloudFront may keep it:
- `assets/` (Vite's content-hashed names): `public, max-age=31536000, immutable`. Uploaded first, so no
  page is ever served that names an asset not there yet;
- the pages (`*.html`): `no-cache` — asked for again each time, so a deploy shows at the next load;
- `m/index.html` a second and third time, as the keys `m/` and `m`: CloudFront asks S3 for the exact key
  of the path (`DefaultRootObject` covers only `/`), and the China regions have no CloudFront Functions
  to rewrite `/m/` to `/m/index.html` — so the object of that key is the mobile page, in both partitions.
Assets of earlier builds are kept: a browser that loaded the page before the deploy still fetches its
lazily loaded chunks. Then one invalidation of `/`, `/index.html`, `/m` and `/m/*`.
"""
from __future__ import annotations

import argparse
import mimetypes
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "frontend" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE = "no-cache"
OTHER = "public, max-age=3600"  # anything else at the top (an icon): as the local server sends it
MOBILE_ALIASES = ("m/", "m")
INVALIDATED = ("/", "/index.html", "/m", "/m/*")


@dataclass(frozen=True)
class Upload:
    key: str
    path: Path
    content_type: str
    cache_control: str


def _content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("javascript", "json")) else kind


def plan(dist: Path = DIST) -> list[Upload]:
    """Every object of one build, assets first and the pages last."""
    if not (dist / "index.html").is_file() or not (dist / "m" / "index.html").is_file():
        raise SystemExit(f"publish: {dist} has no built console and mobile page (make frontend)")
    assets, pages, other = [], [], []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        if key.startswith("assets/"):
            assets.append(Upload(key, path, _content_type(path), IMMUTABLE))
        elif path.suffix == ".html":
            pages.append(Upload(key, path, "text/html; charset=utf-8", PAGE))
        else:
            other.append(Upload(key, path, _content_type(path), OTHER))
    mobile = dist / "m" / "index.html"
    pages += [Upload(alias, mobile, "text/html; charset=utf-8", PAGE) for alias in MOBILE_ALIASES]
    return assets + other + pages


def upload(s3, bucket: str, uploads: list[Upload]) -> None:
    for item in uploads:
        s3.put_object(Bucket=bucket, Key=item.key, Body=item.path.read_bytes(),
                      ContentType=item.content_type, CacheControl=item.cache_control)


def invalidate(cloudfront, distribution_id: str) -> str:
    answer = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
        "Paths": {"Quantity": len(INVALIDATED), "Items": list(INVALIDATED)},
        "CallerReference": f"publish-{time.time_ns()}"})
    return answer["Invalidation"]["Id"]


def main() -> int:
    parser = argparse.ArgumentParser(description="Upload frontend/dist to the console bucket, then invalidate the pages")
    parser.add_argument("--bucket", required=True, help="the stack's output ConsoleBucketName")
    parser.add_argument("--distribution", required=True, help="the stack's output ConsoleDistributionId")
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args()
    import boto3

    uploads = plan(args.dist)
    upload(boto3.client("s3"), args.bucket, uploads)
    invalidation = invalidate(boto3.client("cloudfront"), args.distribution)
    print(f"publish: {len(uploads)} objects into s3://{args.bucket}; invalidation {invalidation} of "
          f"{', '.join(INVALIDATED)} on {args.distribution}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

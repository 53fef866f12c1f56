"""Each enterprise's and staff record's by-reach partition (district#category, rules/geography.py) for
records written before it existed, or after districts.json moved a town, with the deploying engineer's
AWS credentials (docs/deploy.md, "Districts and towns"):

    python -m infra.reach backfill --stage prod

Scans in parallel segments (--segments, default 8) and writes only records whose partition differs
(services/registry/reach.py), so it is idempotent. Nothing personal is printed: counts only.
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.services.registry import reach
from infra.commands import report, segmented, use_stage


def run(*, segments: int = 8) -> dict:
    return segmented(reach.backfill, segments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="为企业和人员记录写入所属区的分区")
    parser.add_argument("action", choices=("backfill",))
    parser.add_argument("--stage", required=True)
    parser.add_argument("--segments", type=int, default=8, help="parallel Scan segments (default 8)")
    args = parser.parse_args(argv)
    use_stage(args.stage, "reach")
    return report(lambda: run(segments=args.segments))


if __name__ == "__main__":
    sys.exit(main())

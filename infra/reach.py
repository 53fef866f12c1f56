"""Each enterprise's and staff record's by-reach partition (district#category, rules/geography.py) for
records written before it existed, or after districts.json moved a town, with the deploying engineer's
AWS credentials (docs/deploy.md, "Districts and towns"):

    python -m infra.reach backfill --stage prod

Scans in parallel segments (--segments, default 8) and writes only records whose partition differs
(services/registry/reach.py), so it is idempotent. Nothing personal is printed: counts only.
"""
from __future__ import annotations

import argparse
import json
import sys

from chalicelib.services.common.parallel import in_parallel
from infra.commands import use_stage
from chalicelib.services.registry import reach


def run(*, segments: int = 8) -> dict:
    parts = in_parallel([lambda segment=segment: reach.backfill(segment, segments) for segment in range(segments)])
    return {key: sum(part[key] for part in parts) for key in parts[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="为企业和人员记录写入所属区的分区")
    parser.add_argument("action", choices=("backfill",))
    parser.add_argument("--stage", required=True)
    parser.add_argument("--segments", type=int, default=8, help="parallel Scan segments (default 8)")
    args = parser.parse_args(argv)
    use_stage(args.stage, "reach")
    try:
        counts = run(segments=max(1, args.segments))
    except RuntimeError as exc:  # DISTRICTS names a district districts.json does not have
        print(f"未执行：{exc}", file=sys.stderr)
        return 1
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

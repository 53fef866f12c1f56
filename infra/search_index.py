"""The staff search index for data written before it existed, and its repair, with the deploying
engineer's AWS credentials (docs/deploy.md, "The staff search index"):

    python -m infra.search_index backfill --stage prod   # every staff record indexed as it is now
    python -m infra.search_index prune    --stage prod   # the index of records that are gone, removed

Both scan in parallel segments (--segments, default 8; IMPORT_WRITERS of them at a time, default 8) and
are idempotent: `backfill` run again writes only what differs from each record's manifest
(services/search/index.py), so it is also the repair after a failed write; `prune` reads the whole index table and removes the items of records no longer there (a
delete whose index step never ran). Nothing personal is printed: counts only.
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.services.search import index  # settings and table names are read at call time, after --stage
from infra.commands import report, segmented, use_stage


def run(action: str, *, segments: int = 8) -> dict:
    """One action over every segment, side by side; the counts summed."""
    return segmented(index.backfill if action == "backfill" else index.prune, segments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="建立或修复人员搜索索引")
    parser.add_argument("action", choices=("backfill", "prune"))
    parser.add_argument("--stage", required=True)
    parser.add_argument("--segments", type=int, default=8, help="parallel Scan segments (default 8)")
    args = parser.parse_args(argv)
    use_stage(args.stage, "search-index")
    return report(lambda: run(args.action, segments=args.segments))


if __name__ == "__main__":
    sys.exit(main())

"""Pages newest first across index partitions, reading keys only.

A list of a town, a category or the district is the union of a few index partitions sorted by
created_at. Page p of size n needs at most p·n keys from each partition: read that many (newest
first, keys only), merge, take the page, then fetch only the page's items whole.
"""
from __future__ import annotations

import heapq
from typing import Callable, Sequence


def newest(index, partitions: Sequence[str], *, key: Callable, attributes: list[str], page: int,
           page_size: int) -> list:
    """The page's rows (with only `attributes`), newest first; `key(row)` breaks ties stably."""
    need = max(page, 1) * page_size
    streams = [index.query(p, scan_index_forward=False, limit=need, attributes_to_get=attributes)
               for p in partitions]
    merged = heapq.merge(*streams, key=lambda r: (r.created_at, key(r)), reverse=True)
    rows = [r for _, r in zip(range(need), merged)]
    return rows[need - page_size:]


def count(index, partitions: Sequence[str]) -> int:
    return sum(index.count(p) for p in partitions)

"""Running many small DynamoDB calls side by side (a feed's batch writes, the overnight rebuilds)."""
from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from chalicelib.config import settings

BATCH = 1000


def in_parallel(tasks: list[Callable[[], object]]) -> list:
    """Run every task on the writer pool (settings().import_writers threads; 1 on the local stack,
    whose moto server is not thread-safe), a bounded batch at a time so a night's 100,000 tasks never
    hold 100,000 futures. Returns their results in order; a failure is raised once its batch has run."""
    writers = settings().import_writers
    if writers <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    results = []
    with ThreadPoolExecutor(writers) as pool:
        for start in range(0, len(tasks), BATCH):
            # each task in a copy of the caller's context: the audit's caller and the running function go along
            results += [future.result() for future in [pool.submit(contextvars.copy_context().run, task)
                                                       for task in tasks[start:start + BATCH]]]
    return results

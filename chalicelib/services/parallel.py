"""Running many small DynamoDB calls side by side (a feed's batch writes, the overnight rebuilds)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from chalicelib.config import settings


def in_parallel(tasks: list[Callable[[], object]]) -> None:
    """Run every task on the writer pool (settings().import_writers threads; 1 on the local stack,
    whose moto server is not thread-safe). The first failure is raised once all have run."""
    writers = settings().import_writers
    if writers <= 1 or len(tasks) <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()

"""Run blocking calls in threads without blocking an interrupt (Ctrl-C) on their completion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    items = list(items)
    pool = ThreadPoolExecutor(max_workers=max(1, len(items)))
    try:
        futures = [pool.submit(function, item) for item in items]
    except RuntimeError:  # at interpreter exit (atexit cleanup) no thread can start: go one by one
        return [function(item) for item in items]
    try:
        return [future.result() for future in futures]
    finally:
        # On an interrupt the caller stops everything at once; waiting here would block that.
        pool.shutdown(wait=False, cancel_futures=True)

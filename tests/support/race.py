"""Requests released at the same moment, to show that of two racing changes exactly one wins."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import httpx2 as httpx

Timed = tuple[int, float, float]  # status, start, end (perf_counter seconds)


def post_together(posts: Sequence[Callable[[], httpx.Response]]) -> list[Timed]:
    """Run each post in its own thread, all released by one barrier; (status, start, end) per post."""
    barrier = threading.Barrier(len(posts))
    results: list[Timed] = [(0, 0.0, 0.0)] * len(posts)

    def run(i: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        response = posts[i]()
        results[i] = (response.status_code, start, time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results

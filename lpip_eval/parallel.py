"""One ``map`` for embarrassingly parallel loops (placebos, bootstrap draws, batches).

Serial by default, so results are identical whatever the machine; ``workers > 1`` uses a
process pool (the function and items must be picklable). Results keep the input order.
A local pool never has more processes than the CPUs this process may run on
(:func:`local_workers`): more only adds start-up cost and memory (issue 10, item 15).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask where the OS has one, else all CPUs."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return max(1, int(counter() or 1))
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def local_workers(requested: int) -> int:
    """The number of local processes to start for ``requested`` workers: 1 to cpu_count()."""
    return max(1, min(requested, cpu_count()))


def workers_notice(requested: int) -> str | None:
    """A sentence for a result's warnings when ``requested`` workers are capped, else None."""
    used = local_workers(requested)
    if used >= requested:
        return None
    cpus = cpu_count()
    return (f"workers = {requested} was capped at {used}: this machine gives the run "
            f"{cpus} CPU{'s' if cpus != 1 else ''}, and more processes than CPUs only add "
            "start-up time and memory")


def map_items(fn: Callable[[T], R], items: Iterable[T], *, workers: int = 1) -> list[R]:
    """Apply ``fn`` to every item, in order, serially or over up to ``workers`` processes
    (at most :func:`cpu_count`)."""
    workers = local_workers(workers)
    if workers <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items, chunksize=16))

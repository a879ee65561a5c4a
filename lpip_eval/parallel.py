"""One ``map`` for embarrassingly parallel loops (placebos, bootstrap draws, batches).

Serial by default, so results are identical whatever the machine; ``workers > 1`` uses a
process pool (the function and items must be picklable). Results keep the input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_items(fn: Callable[[T], R], items: Iterable[T], *, workers: int = 1) -> list[R]:
    """Apply ``fn`` to every item, in order, serially or over ``workers`` processes."""
    if workers <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items, chunksize=16))

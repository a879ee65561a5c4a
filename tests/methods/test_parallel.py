"""Local process pools are capped at the CPUs the process may use (issue 10, item 15)."""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lpip_eval import parallel
from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.registry import estimate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"


class _SerialPool:
    """Stands in for ProcessPoolExecutor: records ``max_workers``, runs in this process."""

    started: ClassVar[list[int]] = []

    def __init__(self, max_workers: int, mp_context: Any = None,
                 initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
                 ) -> None:
        self.started.append(max_workers)
        if initializer is not None:
            initializer(*initargs)

    def __enter__(self) -> _SerialPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    chunksizes: ClassVar[list[int]] = []

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], chunksize: int = 1
            ) -> Iterable[Any]:
        self.chunksizes.append(chunksize)
        return [fn(item) for item in items]


def _cpus(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: n)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _SerialPool)
    _SerialPool.started = []
    _SerialPool.chunksizes = []


def test_few_items_are_spread_over_the_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of 9 evaluations went to one process in one chunk of 16 (2 workers: 13.3 s, as
    1 worker); chunks are now small enough for every process to get some."""
    _cpus(monkeypatch, 2)
    assert parallel.map_items(abs, list(range(-9, 0)), workers=2) == list(range(9, 0, -1))
    assert _SerialPool.chunksizes == [1]
    parallel.map_items(abs, list(range(1000)), workers=2)
    assert _SerialPool.chunksizes[-1] == 16  # many items: chunks of 16 as before


def test_pool_has_at_most_one_process_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 2)
    assert parallel.map_items(abs, [-3, 1, -2], workers=16) == [3, 1, 2]
    assert _SerialPool.started == [2]


def test_one_cpu_runs_serially(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 1)
    assert parallel.map_items(abs, [-1, -2], workers=4) == [1, 2]
    assert _SerialPool.started == []


def test_capped_workers_change_nothing_in_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # workers is an execution setting: capped at the CPUs, and the result (warnings and
    # provenance included) is the same as with 1 worker; the CLI notes the cap on stderr.
    _cpus(monkeypatch, 2)
    panel = load_panel(PanelSpec(data=EXAMPLES / "pilot.csv",
                                 comparators=EXAMPLES / "comparators.csv",
                                 outcome="employment_rate", start="2021Q3"))
    result = estimate("synth", panel, {"workers": 16, "seed": 1})
    assert max(_SerialPool.started) <= 2
    assert not any("capped" in w for w in result.warnings), result.warnings
    assert result.to_json() == estimate("synth", panel, {"workers": 1, "seed": 1}).to_json()


def test_a_map_inside_a_task_runs_serially(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 2)
    with parallel.use_backend(parallel.Backend(workers=2)):
        assert parallel.active_workers() == 2
        inner = parallel.map_items(_inner_workers, [0, 1])
    assert inner == [1, 1] and _SerialPool.started == [2]


def _inner_workers(item: int) -> int:
    return parallel.active_workers(4)

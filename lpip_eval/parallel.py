"""One ``map`` for embarrassingly parallel loops (placebos, randomization draws, batches).

Where the work runs is an execution setting, chosen once by the caller with
:func:`use_backend` (the CLI's ``--backend``/``--workers``/``--scheduler``, a config's
``[run]``): serially (the default), on a local process pool, or on a Dask cluster (a
``dask.distributed.LocalCluster`` of ``workers`` processes, or the scheduler at an address).
The estimators only call :func:`map_items` and never see which. Every ``fn`` is a pure
function of its item (random draws are made before the map, from the seed), and results keep
the input order, so the output is byte-identical whatever the backend and the number of
workers. A map inside a task runs serially in that task (no nested pools).

On Dask, the items go in chunks (a few per worker, never one task per draw); ``fn`` (with
the data it closes over) is scattered to the cluster once per map; a worker lost mid-map has
its tasks rerun elsewhere by the scheduler (Dask's own retry), which changes nothing since
tasks are pure. Dask is an optional extra (``pip install 'lpip-eval[dask]'``), imported only
here and only when the backend is ``dask``.

A local pool never has more processes than the CPUs this process may run on
(:func:`local_workers`): more only adds start-up cost and memory (issue 10, item 15).
References: Dask distributed, https://distributed.dask.org (Client, LocalCluster, futures).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from lpip_eval.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local", "dask")
# Execution settings: left out of a result's provenance and recorded command (they change
# nothing in the result).
EXECUTION_OPTIONS = ("workers", "backend", "scheduler")
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
DASK_HINT = "install the extra: pip install 'lpip-eval[dask]'"
CHUNKS_PER_WORKER = 4  # Dask tasks per worker and map: enough to balance, few to schedule
CONNECT_TIMEOUT = "10s"
_ADDRESS = re.compile(r"^((tcp|tls|ucx|ws|wss)://)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$")


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
    """A sentence for the user when ``requested`` local workers are capped, else None."""
    used = local_workers(requested)
    if used >= requested:
        return None
    cpus = cpu_count()
    return (f"workers = {requested} was capped at {used}: this machine gives the run "
            f"{cpus} CPU{'s' if cpus != 1 else ''}, and more processes than CPUs only add "
            "start-up time and memory")


@dataclass(frozen=True)
class Backend:
    """Where :func:`map_items` runs: ``local`` (``workers`` processes, 1 = serially) or
    ``dask`` (a LocalCluster of ``workers`` processes, or the cluster at ``scheduler``)."""

    name: str = "local"
    workers: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise UsageError(f"--backend: unknown backend '{self.name}'",
                             hint="use local or dask")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) \
                or self.workers < 1:
            raise UsageError(f"--workers: must be at least 1, got {self.workers}",
                             hint="e.g. --workers 2")
        if self.scheduler is not None:
            if self.name != "dask":
                raise UsageError("--scheduler: only used with --backend dask",
                                 hint="add --backend dask, or leave --scheduler out")
            if not _ADDRESS.match(self.scheduler):
                raise UsageError(f"--scheduler: '{self.scheduler}' is not a scheduler address",
                                 hint="e.g. tcp://10.0.0.5:8786 (the address `dask scheduler` "
                                 "prints)")


def backend_from(name: str | None, workers: int | None, scheduler: str | None,
                 default: Backend | None = None) -> Backend:
    """The backend of command-line values over ``default`` (a config's ``[run]``); the
    scheduler falls back to ``$DASK_SCHEDULER_ADDRESS`` when the backend is dask."""
    base = default or Backend()
    chosen = name or base.name
    address = scheduler or (base.scheduler if chosen == "dask" else None)
    if chosen == "dask" and not address:
        address = os.environ.get(SCHEDULER_ENV) or None
    return Backend(chosen, workers if workers is not None else base.workers, address)


@dataclass
class _Active:
    backend: Backend
    client: Any = None  # a dask.distributed.Client on the dask backend


_ACTIVE: ContextVar[_Active | None] = ContextVar("lpip_eval_backend", default=None)
_IN_TASK = _Active(Backend())  # inside a task: every map runs serially


@contextmanager
def use_backend(backend: Backend, *, client: Any = None) -> Iterator[None]:
    """Run the :func:`map_items` calls inside on ``backend`` (Dask: connect to, or start,
    the cluster here, and close it on leaving). ``client``: an existing Dask client to use."""
    own = None
    if backend.name == "dask" and client is None:
        client = own = _dask_client(backend)
    token = _ACTIVE.set(_Active(backend, client))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        if own is not None:
            cluster = own.cluster
            own.close()
            if cluster is not None:
                cluster.close()


def _dask_client(backend: Backend) -> Any:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--backend dask: Dask is not installed", hint=DASK_HINT) from None
    if backend.scheduler is None:
        import logging
        import warnings

        with warnings.catch_warnings():  # "port 8787 is in use": no dashboard is started
            warnings.simplefilter("ignore", UserWarning)
            # silence_logs: the workers' shutdown chatter (a heartbeat missing the closed
            # scheduler) is not the user's business; errors still reach the caller.
            cluster = LocalCluster(n_workers=backend.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None,
                                   silence_logs=logging.CRITICAL)
        return Client(cluster)
    try:
        return Client(backend.scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--scheduler: no Dask scheduler answers at {backend.scheduler} "
                         f"({type(exc).__name__})",
                         hint="start one with `dask scheduler`, check the address, or leave "
                         "--scheduler out for a local cluster") from None


def active_workers(requested: int = 1) -> int:
    """How many processes a map may use: on Dask, the cluster's workers; locally, the
    larger of ``requested`` (a design's own ``workers``) and the backend's, capped at the
    CPUs; inside a task, 1."""
    active = _ACTIVE.get()
    if active is _IN_TASK:
        return 1
    if active is not None and active.client is not None:
        return max(1, len(active.client.nthreads()) or active.backend.workers)
    return local_workers(max(requested, active.backend.workers if active else 1))


def map_items(fn: Callable[[T], R], items: Iterable[T], *, workers: int = 1) -> list[R]:
    """Apply ``fn`` to every item, in order, on the active backend (:func:`use_backend`):
    a Dask cluster, or up to :func:`active_workers` local processes (1: serially)."""
    active = _ACTIVE.get()
    if active is not None and active.client is not None:
        return _dask_map(active.client, fn, list(items))
    count = active_workers(workers)
    if count <= 1:
        return [fn(item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    items = list(items)
    # a few items per chunk: 9 evaluations in chunks of 16 all went to one process
    chunksize = max(1, min(16, len(items) // (4 * count)))
    if "fork" not in multiprocessing.get_all_start_methods():  # fn must pickle
        with ProcessPoolExecutor(max_workers=count) as pool:
            return list(pool.map(partial(_serially, fn), items, chunksize=chunksize))
    # Forked processes inherit fn, so closures (a design's randomization batch) run too.
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"),
                             initializer=_install, initargs=(fn,)) as pool:
        return list(pool.map(_installed, items, chunksize=chunksize))


_INSTALLED: list[Callable[[Any], Any]] = []


def _install(fn: Callable[[Any], Any]) -> None:
    """Pool initializer: the map's function, inherited through fork, not pickled."""
    _INSTALLED[:] = [fn]


def _installed(item: Any) -> Any:
    return _serially(_INSTALLED[0], item)


def _serially(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)`` as a task: a map inside it runs serially, in the task's process."""
    token = _ACTIVE.set(_IN_TASK)
    try:
        return fn(item)
    finally:
        _ACTIVE.reset(token)


def _chunk(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [_serially(fn, item) for item in chunk]


def _dask_map(client: Any, fn: Callable[[T], R], items: list[T]) -> list[R]:
    """``items`` in ordered chunks of a fixed number per worker, ``fn`` scattered once."""
    if not items:
        return []
    workers = max(1, len(client.nthreads()))
    n_chunks = min(len(items), CHUNKS_PER_WORKER * workers)
    bounds = [i * len(items) // n_chunks for i in range(n_chunks + 1)]
    chunks = [items[bounds[i]:bounds[i + 1]] for i in range(n_chunks)]
    [shipped] = client.scatter([fn], hash=False, broadcast=True)
    futures = client.map(_chunk, [shipped] * len(chunks), chunks, pure=False)
    try:
        return [r for part in client.gather(futures) for r in part]
    finally:
        client.cancel([*futures, shipped])

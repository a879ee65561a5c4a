"""The Dask backend against a real LocalCluster (processes): byte-identical outputs to the
local backend, a worker killed mid-run, and the one-line errors (issue 17, item 2)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from lpip_eval import parallel
from tests.cli_runner import check_error_line, run_cli
from tests.runs.test_batch import copy_example, files_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"
PANEL = ["--comparators", "comparators.csv", "--outcome", "employment_rate",
         "--start", "2021Q3"]
RUN = """\
title = "Dask test"

[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "2021Q3"

[[outcome]]
column = "employment_rate"

[[outcome]]
column = "claimant_rate"

[run]
seed = 7
draws = 99

[did]
design = "twfe"

[synth]
design = "classic"
leave_one_out = false
placebo_in_time = false

[output]
markdown = "summary.md"
"""


class TaskCounter(WorkerPlugin):
    """Counts the tasks each worker starts; with ``marker``, the worker whose ``kill_at``-th
    task it is exits at once (as if killed), once in all (the marker file says it happened)."""

    name = "lpip-task-counter"

    def __init__(self, kill_at: int = 0, marker: str = "") -> None:
        self.kill_at, self.marker, self.started = kill_at, marker, 0

    def setup(self, worker: Any) -> None:
        self.started = 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing":
            return
        self.started += 1
        if self.marker and self.started == self.kill_at:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            os._exit(1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A 2-process LocalCluster for the module; yields its scheduler address."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:
        yield local.scheduler_address


@pytest.fixture()
def counted(cluster: str) -> Iterator[Client]:
    """A client whose workers count the tasks they run (a fresh count per test)."""
    with Client(cluster) as client:
        client.register_plugin(TaskCounter())
        yield client
        client.unregister_worker_plugin(TaskCounter.name)


def tasks_run(client: Client) -> int:
    counts = client.run(lambda dask_worker: dask_worker.plugins[TaskCounter.name].started)
    return int(sum(counts.values()))


def _unbalanced(folder: Path) -> None:
    """The example with 1 row in 20 of the comparison areas dropped: randomization inference
    then refits draws in chunks (no closed form), through ``parallel.map_items``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "pilot.csv", folder / "pilot.csv")
    comparators = pd.read_csv(EXAMPLE / "comparators.csv")
    keep = np.random.default_rng(3).random(len(comparators)) > 0.05
    comparators[keep].to_csv(folder / "comparators.csv", index=False)


def _twice(args: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch,
           address: str) -> tuple[bytes, bytes]:
    """The JSON of ``args`` run locally, then on the cluster at ``address`` (same paths)."""
    outputs = []
    for execution in ([], ["--backend", "dask", "--scheduler", address, "--workers", "2"]):
        code, _, err = run_cli([*args, *execution, "--json", "out.json", "-q"], folder,
                               monkeypatch)
        assert code == 0, err
        outputs.append((folder / "out.json").read_bytes())
    return outputs[0], outputs[1]


def test_did_randomization_is_byte_identical_on_dask(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: Client) -> None:
    _unbalanced(tmp_path)
    args = ["did", "pilot.csv", *PANEL, "--design", "twfe", "--inference", "randomization",
            "--draws", "199", "--seed", "11"]
    local, dask = _twice(args, tmp_path, monkeypatch, counted.scheduler.address)
    assert b'"randomization"' in local
    assert dask == local
    assert tasks_run(counted) >= 2  # the draws went to the cluster, in chunks


def test_synth_placebos_are_byte_identical_on_dask(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: Client) -> None:
    copy_example(tmp_path)
    args = ["synth", "pilot.csv", *PANEL, "--seed", "3", "--no-leave-one-out"]
    local, dask = _twice(args, tmp_path, monkeypatch, counted.scheduler.address)
    assert dask == local
    assert b"--workers" not in dask and b'"workers"' not in dask  # not provenance
    assert tasks_run(counted) >= 2


def test_run_is_byte_identical_on_dask_and_survives_a_killed_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cluster: str) -> None:
    found = []
    marker = tmp_path / "killed"
    for name, execution in (("local", []), ("dask", ["--backend", "dask", "--workers", "2"]),
                            ("killed", ["--backend", "dask"])):
        shutil.rmtree(tmp_path / "w", ignore_errors=True)  # same paths: same provenance
        config = copy_example(tmp_path / "w", RUN)
        if name == "killed":  # the scheduler from the environment
            monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
        with Client(cluster) as client:
            if name == "killed":  # a worker dies on its 2nd task; Dask reruns it elsewhere
                client.register_plugin(TaskCounter(kill_at=2, marker=str(marker)))
            try:
                code, _, err = run_cli(["run", "w/evaluation.toml", "-q", *execution],
                                       tmp_path, monkeypatch)
            finally:
                if name == "killed":
                    client.unregister_worker_plugin(TaskCounter.name)
        assert code == 0, err
        found.append(files_of(config.parent / "lpip-eval-output"))
    assert marker.exists()  # a worker was killed during the last run
    assert sorted(found[0]) == ["claimant_rate-did.json", "claimant_rate-synth.json",
                                "employment_rate-did.json", "employment_rate-synth.json",
                                "index.json", "report.html", "summary.md"]
    assert found[1] == found[0]
    assert found[2] == found[0]


@pytest.mark.parametrize("address", ["not an address", "http://host:8786", "tcp://h:port"])
def test_a_malformed_scheduler_address_is_one_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    copy_example(tmp_path)
    code, _, err = run_cli(["did", "pilot.csv", *PANEL, "--backend", "dask",
                            "--scheduler", address], tmp_path, monkeypatch)
    assert code == 2
    check_error_line(err, files=(), mentions=("--scheduler", address))


def test_an_unreachable_scheduler_is_one_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy_example(tmp_path, RUN)
    code, _, err = run_cli(["run", str(config), "--backend", "dask", "--scheduler",
                            "tcp://127.0.0.1:1"], tmp_path, monkeypatch)
    assert code == 2
    check_error_line(err, files=(), mentions=("tcp://127.0.0.1:1", "dask scheduler"))


def test_a_config_scheduler_address_is_checked_with_its_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy_example(tmp_path, RUN.replace("draws = 99\n", "draws = 99\nbackend = "
                                                "\"dask\"\nscheduler = \"no such thing\"\n"))
    code, _, err = run_cli(["run", str(config)], tmp_path, monkeypatch)
    assert code == 2
    check_error_line(err, files=("evaluation.toml",), mentions=("[run]", "scheduler"))


def test_dask_missing_is_one_error_line_with_the_install_hint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_example(tmp_path)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    code, _, err = run_cli(["synth", "pilot.csv", *PANEL, "--backend", "dask"], tmp_path,
                           monkeypatch)
    assert code == 2
    check_error_line(err, files=(), mentions=("Dask is not installed",
                                              "pip install 'lpip-eval[dask]'"))


def test_scheduler_without_dask_backend_is_a_usage_error() -> None:
    with pytest.raises(parallel.UsageError, match="only used with --backend dask"):
        parallel.Backend("local", 1, "tcp://127.0.0.1:8786")
    assert parallel.backend_from(None, None, None) == parallel.Backend()


def test_did_randomization_on_a_local_pool_is_byte_identical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the draws' batch is a closure: forked processes inherit it (it would not pickle)
    _unbalanced(tmp_path)
    args = ["did", "pilot.csv", *PANEL, "--design", "twfe", "--inference", "randomization",
            "--draws", "199", "--seed", "11", "--json", "out.json", "-q"]
    found = []
    for execution in ([], ["--workers", "2"]):
        code, _, err = run_cli([*args, *execution], tmp_path, monkeypatch)
        assert code == 0, err
        found.append((tmp_path / "out.json").read_bytes())
    assert found[1] == found[0]


@pytest.mark.parametrize("case", ["wild-bootstrap", "multiplier-bootstrap"])
def test_bootstrap_draws_go_to_the_cluster_in_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: Client, case: str) -> None:
    """Issue 17 item 2: bootstrap draws run on the cluster in chunks (the wild cluster
    bootstrap's 256-draw chunks; the multiplier bootstrap's 200-draw chunks, each from its own
    SeedSequence stream), with the same JSON bytes as the local backend."""
    if case == "wild-bootstrap":
        _unbalanced(tmp_path)
        args = ["did", "pilot.csv", *PANEL, "--design", "twfe", "--inference", case,
                "--draws", "999", "--seed", "5"]
    else:
        shutil.copy(Path(__file__).parents[1] / "reference" / "mpdta.csv", tmp_path)
        args = ["did", "mpdta.csv", "--area-col", "countyreal", "--period-col", "year",
                "--outcome", "lemp", "--first-treated-col", "first.treat", "--design",
                "callaway-santanna", "--inference", case, "--draws", "999", "--seed", "5"]
    before = tasks_run(counted)
    local, dask = _twice(args, tmp_path, monkeypatch, counted.scheduler.address)
    assert dask == local
    assert tasks_run(counted) - before >= 4  # the chunks ran as tasks on the workers

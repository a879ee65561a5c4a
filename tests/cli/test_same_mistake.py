"""The same mistake from the command line and from a config file: the same exit code, and the
message names the option as the user wrote it (the flag, or the config key) (issue 9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli

from lpip_eval.errors import EXIT_DESIGN, EXIT_OK, EXIT_USAGE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
DATA = ["pilot.csv", "--comparators", "comparators.csv", "--start", "2021Q3",
        "--outcome", "employment_rate"]
CONFIG = """title = "t"
[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "2021Q3"
[[outcome]]
column = "employment_rate"
{table}
[output]
dir = "out"
"""

# (id, command-line arguments after DATA, config table, exit code, CLI words, config words)
MISTAKES = [
    ("draws-too-few", ["did", "--draws", "5"], "[did]\ndraws = 5", EXIT_USAGE,
     "--draws: must be at least 19", "[did] 'draws': must be at least 19"),
    ("ci-level", ["did", "--ci-level", "1.5"], "[did]\nci_level = 1.5", EXIT_USAGE,
     "--ci-level: 1.5 is not between 0 and 1", "[did] 'ci_level': 1.5 is not between"),
    ("unknown-inference", ["did", "--inference", "magic"], '[did]\ninference = "magic"',
     EXIT_USAGE, "--inference: cannot be 'magic'", "[did] 'inference': cannot be 'magic'"),
    ("area-distance", ["match", "--distance", "euclidean"], '[match]\ndistance = "euclidean"',
     EXIT_USAGE, "--distance: 'euclidean' is only used", "[match] 'distance': 'euclidean'"),
    ("classic-option-with-sdid", ["synth", "--design", "sdid", "--v", "equal"],
     '[synth]\ndesign = "sdid"\nv = "equal"', EXIT_USAGE, "--v", "[synth] 'v'"),
    ("malformed-predictor", ["synth", "--predictor", "x:1:2:3"],
     '[synth]\npredictors = ["x:1:2:3"]', EXIT_USAGE,
     "--predictor: 'x:1:2:3' is not COLUMN", "[synth] 'predictors': 'x:1:2:3' is not COLUMN"),
    ("cv-without-predictors", ["synth", "--v", "cv"], '[synth]\nv = "cv"', EXIT_DESIGN,
     "--v cv needs predictors", 'v = "cv" needs predictors'),
    ("unknown-gate", ["did", "--fail-on", "evidence-below3"],
     '[did]\n[gates]\nfail_on = ["evidence-below3"]', EXIT_USAGE, "evidence-below3",
     "evidence-below3"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(("args", "table", "code", "cli_words", "config_words"),
                         [pytest.param(*m[1:], id=m[0]) for m in MISTAKES])
def test_same_mistake_same_code_in_the_callers_words(
        folder: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], table: str, code: int,
        cli_words: str, config_words: str) -> None:
    command, *options = args
    cli_code, _, cli_err = run_cli([command, *DATA, *options, "-q"], folder, monkeypatch)
    (folder / "evaluation.toml").write_text(CONFIG.format(table=table), encoding="utf-8")
    config_code, _, config_err = run_cli(["run", "evaluation.toml", "-q"], folder, monkeypatch)
    assert (cli_code, config_code) == (code, code), (cli_err, config_err)
    assert cli_words in cli_err
    assert config_words in config_err
    assert "--" not in config_err, "a config run names keys, not flags"


def test_predictor_columns_load_alike_from_both(folder: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A predictor's column joins the covariates from a config file as it does from the
    command line (``Method.load_spec``, one rule): the same estimate."""
    predictor = "claimant_rate:2019Q1-2021Q2"
    code, out, err = run_cli(["synth", *DATA, "--predictor", predictor, "--no-leave-one-out",
                              "--no-placebo-in-time", "--json", "-"], folder, monkeypatch)
    assert code == EXIT_OK, err
    table = (f'[synth]\npredictors = ["{predictor}"]\nleave_one_out = false\n'
             "placebo_in_time = false")
    (folder / "evaluation.toml").write_text(CONFIG.format(table=table), encoding="utf-8")
    code, _, err = run_cli(["run", "evaluation.toml", "-q"], folder, monkeypatch)
    assert code == EXIT_OK, err
    from_config = json.loads((folder / "out" / "employment_rate-synth.json").read_text("utf-8"))
    assert json.loads(out)["estimate"] == from_config["estimate"]


def test_design_help_names_every_registered_design() -> None:
    """`--help` of each estimating command names every design its Method record registers
    (a new design must not stay hidden behind an out-of-date help text)."""
    from typer.testing import CliRunner

    from lpip_eval.cli.commands import app
    from lpip_eval.methods.registry import METHODS

    for method in METHODS.values():
        shown = CliRunner().invoke(app, [method.name, "--help"], env={"COLUMNS": "400"}).stdout
        text = " ".join(shown.split())
        missing = [d for d in method.designs if d not in text]
        assert not missing, f"lpip-eval {method.name} --help does not name {missing}"

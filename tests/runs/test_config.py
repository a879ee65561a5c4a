"""evaluation.toml: validation messages (exit 3), paths, defaults, docs and the starter."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import typer.main

from lpip_eval.cli.reference import reference_markdown
from lpip_eval.data.panel import PanelSpec
from lpip_eval.errors import EXIT_DATA, EXIT_USAGE, DataError, LpipEvalError
from lpip_eval.methods.registry import METHODS, method_keys, spec_class
from lpip_eval.runs.config import load_config
from lpip_eval.runs.keys import NO_CLI, cli_option, table_keys
from lpip_eval.runs.starter import starter_config, write_starter

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"
BASE = """\
title = "Test"

[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "2021Q3"

[[outcome]]
column = "employment_rate"

[did]
design = "twfe"
"""


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "evaluation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, code: int = EXIT_USAGE) -> LpipEvalError:
    """The error loading ``path`` raises: a mistyped or unknown key or value is a usage
    error (exit 2); a missing file, TOML syntax, treatment or structure problem exit 3."""
    with pytest.raises(LpipEvalError) as info:
        load_config(path)
    assert info.value.exit_code == code, info.value
    return info.value


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_valid_config_loads_with_paths_relative_to_the_config(folder: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    path = write(folder, BASE + "[run]\nseed = 7\ndraws = 99\n")
    monkeypatch.chdir(ROOT)  # the working folder does not matter
    config = load_config(path)
    assert config.data.data == folder / "pilot.csv"
    assert config.data.comparators == folder / "comparators.csv"
    assert config.output.dir == folder / "lpip-eval-output"
    assert [o.column for o in config.outcomes] == ["employment_rate"]
    (did,) = config.methods
    # [run] values are defaults for the design table
    assert did.options == {"design": "twfe", "seed": 7, "draws": 99}
    assert config.output.report == "report.html" and config.output.markdown == "summary.md"
    assert config.output.eml is None and config.output.title == "Test"


def test_design_table_overrides_run_defaults(folder: Path) -> None:
    path = write(folder, BASE + "seed = 3\n[run]\nseed = 7\nci_level = 0.9\n")
    (did,) = load_config(path).methods
    assert did.options["seed"] == 3 and did.options["ci_level"] == 0.9


def test_unknown_key_names_file_line_table_and_closest_key(folder: Path) -> None:
    path = write(folder, BASE.replace('design = "twfe"', 'desing = "twfe"'))
    exc = error_of(path)
    assert exc.message == (f"{path.as_posix()}, line {line_of(path, 'desing')}, [did]: "
                           "unknown key 'desing'")
    assert exc.hint == "did you mean 'design'?"


def test_unknown_key_in_data_and_in_the_second_outcome(folder: Path) -> None:
    exc = error_of(write(folder, BASE.replace("comparators =", "comparator =")))
    assert "[data]: unknown key 'comparator'" in exc.message
    assert exc.hint == "did you mean 'comparators'?"
    text = BASE.replace("[did]", "[[outcome]]\ncolumn = \"claimant_rate\"\nunit_ = \"pp\"\n\n[did]")
    exc = error_of(write(folder, text))
    assert "[[outcome]] #2: unknown key 'unit_'" in exc.message
    assert exc.hint == "did you mean 'unit'?"


def test_unknown_table_suggests_the_closest(folder: Path) -> None:
    exc = error_of(write(folder, BASE + "[sytnh]\ndesign = \"classic\"\n"))
    assert exc.message.endswith("[sytnh]: unknown table 'sytnh'")
    assert exc.hint == "did you mean 'synth'?"


def test_unknown_key_without_a_close_match_lists_the_valid_keys(folder: Path) -> None:
    exc = error_of(write(folder, BASE + "[run]\nzzz = 1\n"))
    assert exc.hint == "valid: backend, ci_level, draws, scheduler, seed, workers"


@pytest.mark.parametrize(("table", "line", "expected"), [
    ("[run]", 'draws = "999"', "'draws': expected integer, got '999'"),
    ("[run]", "seed = 1.5", "'seed': expected integer, got 1.5"),
    ("[did]", 'ci_level = "high"', "'ci_level': expected number, got 'high'"),
    ("[output]", "json = 1", "'json': expected true/false, got 1"),
    ("[gates]", 'fail_on = "pretrend-rejected"', "'fail_on': expected list of text"),
])
def test_wrong_type_names_key_and_expected_type(folder: Path, table: str, line: str,
                                                expected: str) -> None:
    text = BASE.replace('design = "twfe"\n', "") + f"{table}\n{line}\n"
    if table == "[did]":
        text = BASE + f"{line}\n"
    path = write(folder, text)
    exc = error_of(path)
    assert f"line {line_of(path, line)}, {table} {expected}" in exc.message


def test_wrong_type_in_data(folder: Path) -> None:
    exc = error_of(write(folder, BASE.replace('start = "2021Q3"',
                                              'start = "2021Q3"\ncovariates = "population"')))
    assert "[data] 'covariates': expected list of text, got 'population'" in exc.message


def test_integers_are_accepted_for_periods_and_area_codes(folder: Path) -> None:
    text = BASE.replace('comparators = "comparators.csv"\nstart = "2021Q3"',
                        "treated = [101, \"E06000023\"]\nstart = 2021")
    config = load_config(write(folder, text))
    assert config.data.treated == ("101", "E06000023") and config.data.start == "2021"


def test_missing_data_file_names_the_resolved_path(folder: Path) -> None:
    path = write(folder, BASE.replace('"pilot.csv"', '"data/pilot.csv"'))
    exc = error_of(path, EXIT_DATA)
    assert exc.message.endswith(f"[data] 'file': {(folder / 'data' / 'pilot.csv').as_posix()} "
                                "not found")
    assert "relative to the config file's folder" in (exc.hint or "")


def test_toml_syntax_error_names_the_line(folder: Path) -> None:
    path = write(folder, BASE + "[run]\ndraws = \n")
    exc = error_of(path, EXIT_DATA)
    assert exc.message.startswith(f"{path.as_posix()}: not valid TOML: ")
    assert f"line {line_of(path, 'draws =')}" in exc.message


def test_missing_config_file(tmp_path: Path) -> None:
    exc = error_of(tmp_path / "nope.toml", EXIT_DATA)
    assert exc.message == f"{(tmp_path / 'nope.toml').as_posix()}: config file not found"


@pytest.mark.parametrize(("edit", "expected"), [
    ({'comparators = "comparators.csv"\n': "", 'start = "2021Q3"\n': ""}, "no treatment given"),
    ({'start = "2021Q3"': 'start = "2021Q3"\ntreated = ["E06000023"]'}, "treatment given twice"),
    ({'start = "2021Q3"\n': ""}, "'comparators' needs 'start'"),
])
def test_treatment_is_checked_up_front(folder: Path, edit: dict[str, str], expected: str
                                       ) -> None:
    text = BASE
    for old, new in edit.items():
        text = text.replace(old, new)
    assert expected in error_of(write(folder, text), EXIT_DATA).message


def test_structure_errors(folder: Path) -> None:
    assert "no design to run" in error_of(write(folder, BASE.replace(
        '[did]\ndesign = "twfe"\n', "")), EXIT_DATA).message
    assert "no [[outcome]]" in error_of(write(folder, BASE.replace(
        '[[outcome]]\ncolumn = "employment_rate"\n', "")), EXIT_DATA).message
    assert "write [[outcome]] (double brackets)" in error_of(write(folder, BASE.replace(
        "[[outcome]]", "[outcome]")), EXIT_DATA).message
    exc = error_of(write(folder, BASE + "[[outcome]]\ncolumn = \"employment_rate\"\n"),
                   EXIT_DATA)
    assert "outcome 'employment_rate' is given twice" in exc.message
    exc = error_of(write(folder, BASE + "[output]\nreport = \"../report.html\"\n"), EXIT_DATA)
    assert "'report': '../report.html' is not a file name" in exc.message
    exc = error_of(write(folder, BASE + "[run]\nci_level = 95\n"))
    assert "'ci_level': 95.0 is not between 0 and 1" in exc.message


def test_unknown_gate_lists_the_valid_ones(folder: Path) -> None:
    exc = error_of(write(folder, BASE + "[gates]\nfail_on = [\"pretrend-rejectd\"]\n"))
    assert "[gates] 'fail_on': unknown gate 'pretrend-rejectd'" in exc.message
    assert exc.hint == ("did you mean 'pretrend-rejected'? gates: pretrend-rejected, "
                        "poor-pre-fit, evidence-below:N, effect-crosses-zero, mde-above:X")


def test_synth_design_keys(folder: Path) -> None:
    config = load_config(write(folder, BASE + "[synth]\ndesign = \"sdid\"\nplacebo_reps = 50\n"))
    assert config.methods[1].options == {"design": "sdid", "placebo_reps": 50}
    exc = error_of(write(folder, BASE + "[synth]\ndesign = \"sdid\"\nv = \"equal\"\n"))
    assert "[synth] 'v': 'v' is not used with design = 'sdid'" in exc.message
    exc = error_of(write(folder, BASE + "[synth]\ndesign = \"scm\"\n"))
    assert "'design': expected one of 'classic', 'sdid', got 'scm'" in exc.message


def test_every_spec_field_is_a_config_key() -> None:
    from lpip_eval.methods.registry import spec_keys

    tables = table_keys()
    for method, record in METHODS.items():
        for design in record.designs:
            assert set(spec_keys(spec_class(method, design))) <= set(tables[method])
    panel_fields = {f.name for f in dataclasses.fields(PanelSpec)} - {"outcome", "data"}
    assert panel_fields | {"file"} == set(tables["data"])
    assert method_keys("synth")["design"] is not None


def test_synth_predictor_columns_are_loaded_as_covariates(folder: Path) -> None:
    """As on the command line (``synth --predictor population:...``), a predictor's column
    is loaded though ``[data] covariates`` does not name it; the outcome is never added."""
    from lpip_eval.data.panel import load_panel
    from lpip_eval.methods.registry import estimate

    config = load_config(write(folder, BASE + '[synth]\npredictors = ["population:2019Q1-'
                                              '2021Q2", "employment_rate:2021Q2"]\n'
                                              "leave_one_out = false\nplacebo_in_time = false\n"))
    synth = config.methods[1]
    spec = config.panel_spec("employment_rate", synth)
    assert spec.covariates == ("population",)
    assert config.panel_spec("employment_rate", config.methods[0]).covariates == ()
    result = estimate("synth", load_panel(spec), synth.options, where="test")
    assert "population (mean 2019Q1-2021Q2)" in result.diagnostics["predictors"]


@pytest.mark.parametrize(("line", "words"), [
    ("draws = -5", "[did] 'draws': must be at least 19, got -5"),
    ("draws = 1", "[did] 'draws': must be at least 19, got 1"),
    ("seed = -1", "[did] 'seed': must be at least 0, got -1"),
    ("ci_level = 1.5", "[did] 'ci_level': 1.5 is not between 0 and 1"),
    ("inference = \"bootstrap\"", "[did] 'inference': cannot be 'bootstrap'"),
])
def test_bad_design_values_fail_at_validation(folder: Path, line: str, words: str) -> None:
    path = write(folder, BASE + line + "\n")
    exc = error_of(path)
    assert f"line {line_of(path, line)}, {words}" in exc.message


def test_match_columns_are_loaded_in_their_roles(folder: Path) -> None:
    text = BASE.replace('start = "2021Q3"', 'start = "2021Q3"\ncovariates = ["population"]')
    config = load_config(write(folder, text + "[match]\nexact = [\"region\"]\n"
                                              "match_on = [\"population\"]\n"))
    match = config.methods[1]
    spec = config.panel_spec("employment_rate", match)
    assert spec.categoricals == ("region",) and spec.covariates == ("population",)
    assert config.panel_spec("employment_rate", config.methods[0]).categoricals == ()


# --------------------------------------------------------------------------- docs and CLI


def test_docs_config_md_is_current() -> None:
    expected = reference_markdown()
    actual = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/config.md is out of date: regenerate it with\n  python -c 'from lpip_eval."
        "cli.reference import reference_markdown as r; print(r(), end=\"\")' > docs/config.md")


def _cli_options() -> dict[str, set[str]]:
    from lpip_eval.cli.commands import app

    group = typer.main.get_command(app)
    out = {}
    for name in (*METHODS, "plan"):
        command = group.commands.get(name)  # type: ignore[attr-defined]
        if command is not None:
            out[name] = {o for p in command.params for o in (*p.opts, *p.secondary_opts)
                         if o.startswith("--")} | {"DATA"}
    return out


def test_every_cli_option_of_the_estimating_commands_has_a_config_key() -> None:
    cli = _cli_options()
    assert "did" in cli
    cli.pop("plan")  # plan's what-if options (--n-areas, --sd, ...) are not for config files
    keys = {(table, key) for table, names in table_keys().items() for key in names}
    covered = {cli_option(t, k) for t, k in keys} | {"--help", "--quiet"}
    for command, options in cli.items():
        # bool flags' --no-x forms belong to their key
        missing = {o for o in options - covered if not o.startswith("--no-")}
        assert not missing, f"lpip-eval {command}: options without a config key: {missing}"


def test_every_config_key_has_its_cli_option_where_the_command_exists() -> None:
    cli = _cli_options()
    assert "plan" in cli
    any_command = set().union(*(v for k, v in cli.items() if k != "plan"))
    for table, keys in table_keys().items():
        for key in keys:
            option = cli_option(table, key)
            if option is None:
                assert (table, key) in NO_CLI
                continue
            if table == "plan":  # [plan] keys are lpip-eval plan's options
                assert option in cli["plan"], f"[plan] {key}: no {option} on lpip-eval plan"
            elif table in METHODS:
                if table in cli:
                    assert option in cli[table], f"[{table}] {key}: no {option} on the CLI"
            else:
                assert option in any_command, f"[{table}] {key}: no {option} on the CLI"


# --------------------------------------------------------------------------- starter


def test_starter_for_the_example_guesses_roles_and_loads_once_filled(folder: Path) -> None:
    text = starter_config(folder / "pilot.csv")
    assert 'area_col = "area"' in text and 'period_col = "period"' in text
    assert 'comparators = "comparators.csv"' in text
    assert 'column = "employment_rate"' in text and 'column = "claimant_rate"' in text
    assert 'column = "population"' not in text
    assert '# weights_col = "population"' in text
    assert '# categoricals = ["region", "urban_rural"]' in text
    for table in ("[data]", "[[outcome]]", "[run]", "[did]", "# [synth]", "# [match]",
                  "[output]", "[gates]"):
        assert table in text
    for key in (*table_keys()["data"], *table_keys()["synth"], *table_keys()["match"]):
        assert f"{key} = " in text, key
    path = write(folder, text.replace('"TODO"', '"2021Q3"'))
    config = load_config(path)
    assert config.data.comparators == folder / "comparators.csv"
    assert config.data.start == "2021Q3"
    assert [o.column for o in config.outcomes] == ["employment_rate", "claimant_rate"]
    assert [m.name for m in config.methods] == ["did"]


def test_starter_with_a_treatment_column_and_gss_codes(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # as a user would: `lpip-eval init jobs.csv -o config/...`
    rows = ["LAD23CD,year,treat,jobs"]
    for i, code in enumerate(("E06000001", "E06000002", "E06000003")):
        for year in (2018, 2019, 2020, 2021):
            rows.append(f"{code},{year},{int(i == 0 and year >= 2020)},{100 + i + year % 7}")
    data = tmp_path / "jobs.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config_path = tmp_path / "config" / "evaluation.toml"
    config_path.parent.mkdir()
    write_starter(data, config_path)
    text = config_path.read_text()
    assert 'file = "../jobs.csv"' in text and 'area_col = "LAD23CD"' in text
    assert 'period_col = "year"' in text and 'treatment_col = "treat"' in text
    config = load_config(config_path)
    assert config.data.treatment_col == "treat" and config.data.start is None
    assert [o.column for o in config.outcomes] == ["jobs"]
    with pytest.raises(DataError, match="already exists"):
        write_starter(data, config_path)

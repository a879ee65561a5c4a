"""``[plan]`` in config files: `lpip-eval run` plans every outcome beside the results, lists
the plans in index.json, checks ``mde-above:X`` from ``[gates] fail_on`` (issue 15, item 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from lpip_eval.cli.commands import app
from lpip_eval.errors import EXIT_GATE, EXIT_OK, EXIT_USAGE, LpipEvalError
from lpip_eval.methods.power.plan import plan_from_panel
from lpip_eval.methods.power.spec import PlanSpec, plan_options
from lpip_eval.results.plan import load_plan_schema
from lpip_eval.runs.batch import run_evaluation
from lpip_eval.runs.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"
CONFIG = """\
title = "Plan test"

[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "{start}"

[[outcome]]
column = "employment_rate"
label = "employment rate"
unit = "pp"

[run]
seed = 5
draws = 99
{did}
[plan]
post_periods = 6
pilots = {pilots}
expected_effect = 1.0

[output]
eml = false
{gates}"""


def write(folder: Path, *, start: str = "2021Q3", did: bool = True, pilots: int = 20,
          gates: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, folder / name)
    path = folder / "evaluation.toml"
    path.write_text(CONFIG.format(start=start, did="[did]\ndesign = \"twfe\"\n" if did else "",
                                  pilots=pilots, gates=gates), encoding="utf-8")
    return path


def test_run_writes_the_plan_beside_the_results_and_lists_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path))
    assert config.plan == PlanSpec(post_periods=6, pilots=20, expected_effect=1.0, seed=5,
                                   draws=99)  # [run] seed and draws are the plan's defaults
    batch = run_evaluation(config)
    assert batch.exit_code == EXIT_OK
    out = tmp_path / "lpip-eval-output"
    body = json.loads((out / "employment_rate-plan.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_plan_schema()).validate(body)
    # the same plan as lpip-eval plan's library call on the same panel and options
    from lpip_eval.data.panel import load_panel

    direct = plan_from_panel(load_panel(config.panel_spec("employment_rate"), planned=True),
                             plan_options(config.plan))
    assert body["mde_analytic"] == direct.mde_analytic
    assert body["mde_simulated"] == direct.mde_simulated
    assert body["outcome_unit"] == "pp" and body["assumptions"]["n_post"] == 6
    html = (out / "employment_rate-plan.html").read_text(encoding="utf-8")
    assert "would detect an effect on the employment rate" in html
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    [entry] = index["plans"]
    assert entry["file"] == "employment_rate-plan.json" and entry["status"] == "ok"
    assert entry["mde"] == body["mde"] and entry["mde_source"] == "simulated"
    assert [e["method"] for e in index["evaluations"]] == ["did"]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Plans" in summary and "`employment_rate-plan.json`" in summary
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    run_evaluation(load_config(tmp_path / "evaluation.toml"))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # byte-identical


def test_plan_only_config_with_a_start_after_the_data_end(tmp_path: Path) -> None:
    path = write(tmp_path, start="2026Q1", did=False, pilots=0)
    out = CliRunner().invoke(app, ["run", str(path)])
    assert out.exit_code == EXIT_OK, out.output
    body = json.loads((tmp_path / "lpip-eval-output" / "employment_rate-plan.json")
                      .read_text(encoding="utf-8"))
    assert body["start"] == "2026Q1" and body["mde_source"] == "analytic"
    assert body["assumptions"]["history"] == ["2015Q1", "2024Q4"]
    assert "The plan was made." in out.stdout and "| Outcome |" not in out.stdout


@pytest.mark.parametrize(("limit", "code"), [("0.3", EXIT_GATE), ("5", EXIT_OK)])
def test_mde_above_in_gates_fail_on(tmp_path: Path, limit: str, code: int) -> None:
    path = write(tmp_path, did=False, pilots=0,
                 gates=f'\n[gates]\nfail_on = ["mde-above:{limit}", "effect-crosses-zero"]\n')
    out = CliRunner().invoke(app, ["run", str(path)])
    assert out.exit_code == code, out.output
    index = json.loads((tmp_path / "lpip-eval-output" / "index.json").read_text("utf-8"))
    gates = index["plans"][0]["gates"]
    # effect-crosses-zero looks at evaluation results, never at a plan
    assert [g["gate"] for g in gates] == (["mde-above:0.3"] if code else [])
    if code:
        assert "Gate tripped: employment_rate plan: the minimum detectable effect" in out.output
        assert (tmp_path / "lpip-eval-output" / "employment_rate-plan.json").exists()


def test_plan_table_is_checked_up_front(tmp_path: Path) -> None:
    path = write(tmp_path)
    text = path.read_text(encoding="utf-8")
    for edit, words in [("post_periods = 6", "unknown key 'post_period'"),
                        ("post_periods = 6\nmethod = \"sdid\"", "'sdid' cannot be planned"),
                        ("post_periods = 6\ndesign = \"nnmatch\"",
                         "'nnmatch' cannot be planned for did"),
                        ("post_periods = 6\npower = 1.5", "[plan] 'power': must be between")]:
        source = edit if "\n" in edit else "post_period = 6"
        path.write_text(text.replace("post_periods = 6", source), encoding="utf-8")
        with pytest.raises(LpipEvalError) as info:
            load_config(path)
        assert info.value.exit_code == EXIT_USAGE and words in info.value.message, info.value
    path.write_text(text.replace("[plan]", "[planx]").replace("post_periods = 6\n", "")
                    .replace("pilots = 20\n", "").replace("expected_effect = 1.0\n", "")
                    + '\n[gates]\nfail_on = ["mde-above:1"]\n', encoding="utf-8")
    with pytest.raises(LpipEvalError) as info:
        load_config(path)
    assert "unknown table 'planx'" in info.value.message


def test_mde_above_without_a_plan_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path)
    text = path.read_text(encoding="utf-8")
    start = text.index("[plan]")
    path.write_text(text[:start] + text[text.index("[output]"):]
                    + '\n[gates]\nfail_on = ["mde-above:1"]\n', encoding="utf-8")
    with pytest.raises(LpipEvalError) as info:
        load_config(path)
    assert info.value.exit_code == EXIT_USAGE and "has no [plan]" in info.value.message


def test_run_writes_the_plan_email_and_markdown_when_asked(tmp_path: Path) -> None:
    """``[output] eml`` asks for the e-mail of results: a plan gets its own e-mail too (an
    unsent draft, as results'), and its Markdown report beside the summary."""
    path = write(tmp_path, did=False, pilots=0)
    path.write_text(path.read_text(encoding="utf-8").replace("eml = false",
                                                             'eml = "report.eml"'),
                    encoding="utf-8")
    batch = run_evaluation(load_config(path))
    assert batch.exit_code == EXIT_OK
    out = tmp_path / "lpip-eval-output"
    import email
    from email import policy

    message = email.message_from_bytes((out / "employment_rate-plan.eml").read_bytes(),
                                       policy=policy.default)
    assert "would detect an effect" in str(message["Subject"])
    html = message.get_body(("html",))
    assert html is not None and "would detect an effect" in html.get_content()
    markdown = (out / "employment_rate-plan.md").read_text(encoding="utf-8")
    assert "would detect an effect on the employment rate" in markdown
    [entry] = json.loads((out / "index.json").read_text(encoding="utf-8"))["plans"]
    assert entry["eml"] == "employment_rate-plan.eml"
    assert entry["markdown"] == "employment_rate-plan.md"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "`employment_rate-plan.eml`" in summary and "`employment_rate-plan.md`" in summary
    # without e-mail asked for, none is written (and an earlier one is removed)
    path.write_text(path.read_text(encoding="utf-8").replace('eml = "report.eml"',
                                                             "eml = false"), encoding="utf-8")
    run_evaluation(load_config(path))
    assert not (out / "employment_rate-plan.eml").exists()


def test_run_plans_a_rollout_in_waves_with_its_email(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "rollout" / "rollout.csv", tmp_path / "rollout.csv")
    path = tmp_path / "evaluation.toml"
    path.write_text('[data]\nfile = "rollout.csv"\nfirst_treated_col = "planned_start"\n\n'
                    '[[outcome]]\ncolumn = "employment_rate"\n\n[plan]\npilots = 0\n\n'
                    '[output]\neml = "report.eml"\n', encoding="utf-8")
    out = CliRunner().invoke(app, ["run", str(path)])
    assert out.exit_code == EXIT_OK, out.output
    folder = tmp_path / "lpip-eval-output"
    body = json.loads((folder / "employment_rate-plan.json").read_text(encoding="utf-8"))
    assert [w["start"] for w in body["waves"]] == ["2025Q3", "2026Q1", "2026Q3"]
    eml = (folder / "employment_rate-plan.eml").read_bytes()
    assert b"Rolled out in 3 waves" in eml and b"Wave by wave" in eml

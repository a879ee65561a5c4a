"""Values that become e-mail headers (the Subject holds the outcome label and unit) must be
one line: a line break is refused at the edge where the value enters (option, config file,
result JSON) with one ``Error:`` line and no output, never a traceback from the email
package (issue 10, item 9). Addresses (``--send-to``, ``--from``) are tested with the SMTP
tests in tests/report/test_email_delivery.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli
from report_examples import example_result

from lpip_eval.errors import EXIT_DATA, EXIT_USAGE
from lpip_eval.report.charts import render_charts
from lpip_eval.report.context import build_context
from lpip_eval.report.email import build_message, message_bytes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "west_of_england"
EX = [str(EXAMPLE / "pilot.csv"), "--comparators", str(EXAMPLE / "comparators.csv"),
      "--outcome", "employment_rate", "--start", "2021Q3", "--draws", "99"]
INJECTION = "emp{}Bcc: attacker@example.com"


def only_error_line(stderr: str, *mentions: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    for text in mentions:
        assert text in lines[0], (text, lines[0])


@pytest.mark.parametrize("command, option", [("did", "--outcome-label"),
                                             ("synth", "--outcome-unit"),
                                             ("match", "--outcome-label")])
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r"])
def test_label_options_with_a_line_break_are_one_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, option: str,
        brk: str) -> None:
    value = INJECTION.format(brk)
    code, stdout, stderr = run_cli([command, *EX, option, value, "--json", "o.json", "--eml",
                                    "o.eml"], tmp_path, monkeypatch)
    assert code == EXIT_USAGE, stderr
    only_error_line(stderr, option, "line break")
    assert stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["label", "unit"])
def test_config_label_with_a_line_break_names_the_file_and_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    for name in ("pilot.csv", "comparators.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    config = tmp_path / "evaluation.toml"
    config.write_text(
        '[data]\nfile = "pilot.csv"\ncomparators = "comparators.csv"\nstart = "2021Q3"\n\n'
        f'[[outcome]]\ncolumn = "employment_rate"\n{key} = "emp\\r\\nBcc: x@example.com"\n\n'
        '[did]\n\n[output]\neml = "report.eml"\n', encoding="utf-8")
    code, _, stderr = run_cli(["run", str(config), "--quiet"], tmp_path, monkeypatch)
    assert code == EXIT_DATA, stderr
    only_error_line(stderr, "evaluation.toml", key, "line break")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparators.csv",
                                                          "evaluation.toml", "pilot.csv"]


def test_result_json_with_a_multi_line_label_is_not_a_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = example_result("twfe")
    result["outcome_label"] = INJECTION.format("\r\n")
    (tmp_path / "r.json").write_text(json.dumps(result), encoding="utf-8")
    code, _, stderr = run_cli(["report", "r.json", "--eml", "o.eml"], tmp_path, monkeypatch)
    assert code == EXIT_DATA, stderr
    only_error_line(stderr, "r.json", "outcome_label")
    assert not (tmp_path / "o.eml").exists()


@pytest.mark.filterwarnings("ignore:Glyph 13")  # the chart draws the column name as given
def test_an_outcome_column_with_a_line_break_still_gives_a_one_line_subject() -> None:
    """Column names are data, not options: the Subject folds them onto one line."""
    result = example_result("twfe")
    result["outcome"], result["outcome_label"] = "employment\r\nrate", None
    context = build_context([result])
    message = build_message(context, render_charts(context), sender=None, to=[])
    assert str(message["Subject"]).startswith("Pilot evaluation: employment rate")
    assert b"\r\nrate" not in message_bytes(message).split(b"\r\n\r\n")[0]

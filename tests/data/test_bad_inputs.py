"""Malformed input files give one clear ``Error:`` line and the right exit code.

Each case runs ``lpip-eval did`` (and a few ``lpip-eval validate``) on a file in
tests/bad_inputs/ (written by tests/bad_inputs/make_bad_inputs.py) and checks the contract
of docs/design.md, "Exit codes": exit 3 (unusable data) or 4 (valid data the design cannot
estimate); stderr is exactly one line starting with ``Error:`` that names the file and the
column, area or period concerned and gives a hint; no traceback; no output file; and the
input files are left unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_runner import BAD, check_error_line, input_hashes, run_cli

from lpip_eval.errors import EXIT_DATA, EXIT_DESIGN

OUTCOME = ("--outcome", "employment_rate")
WITH_COMPARATORS = ("--comparators", "good/comparators.csv", "--start", "2021Q1", *OUTCOME)
TREATED = ("--treated", "E06000023", "--start", "2021Q1", *OUTCOME)
FIRST_TREATED = ("--first-treated-col", "first_treated", *OUTCOME)


@dataclass(frozen=True)
class Case:
    """One malformed input: the file, the rest of the command line, what must happen."""

    file: str
    args: tuple[str, ...]
    code: int
    mentions: tuple[str, ...]  # besides the file: column, area, period, row, value
    blamed: str | None = None  # the file the message must name (default ``file``)

    @property
    def id(self) -> str:
        return self.file.replace("good/", "") + ("" if self.blamed is None else "+comparators")


CASES = [
    # --- the file itself
    Case("empty.csv", WITH_COMPARATORS, EXIT_DATA, ("empty",)),
    Case("header_only.csv", WITH_COMPARATORS, EXIT_DATA, ("no data rows",)),
    Case("blank_lines_only.csv", WITH_COMPARATORS, EXIT_DATA, ("no header row",)),
    Case("space_separated.csv", TREATED, EXIT_DATA, ("'area'", "spaces")),
    Case("semicolon_decimal_comma.csv", TREATED, EXIT_DATA,
         ("'employment_rate'", "'70,21'", "rows 2, 3", "decimal commas")),
    Case("ragged_rows.csv", TREATED, EXIT_DATA, ("row 5", "7 fields", "has 6", "unquoted")),
    Case("title_rows.csv", TREATED, EXIT_DATA, ("row 3", "title")),
    Case("unclosed_quote.csv", TREATED, EXIT_DATA, ("quote", "row 17")),
    Case("duplicate_header.csv", TREATED, EXIT_DATA, ("'employment_rate'", "twice")),
    Case("not_utf8.csv", TREATED, EXIT_DATA, ("UTF-8", "row 2", "0xf4")),
    Case("utf16.csv", TREATED, EXIT_DATA, ("UTF-16",)),
    Case("unsupported.json", TREATED, EXIT_DATA, ("'.json'",)),
    Case("folder.csv", TREATED, EXIT_DATA, ("folder",)),
    Case("notes_first_sheet.xlsx", TREATED, EXIT_DATA, ("sheet 'Notes'", "'area'", "'Data'")),
    Case("corrupt.xlsx", TREATED, EXIT_DATA, ("Excel",)),
    Case("corrupt.parquet", TREATED, EXIT_DATA, ("Parquet",)),
    Case("wrong_types.parquet", TREATED, EXIT_DATA,
         ("'employment_rate'", "'c'", "rows 5, 6", "suppressed")),
    Case("period_as_float.parquet", TREATED, EXIT_DATA, ("'period'", "2019.25", "row 3")),
    # --- columns and values
    Case("missing_period_column.csv", TREATED, EXIT_DATA, ("'period'", "'time'")),
    Case("good/pilot.csv", ("--comparators", "comparators_outcome_dotdot.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'employment_rate'", "'..'", "rows 16, 17, 18"),
         blamed="comparators_outcome_dotdot.csv"),
    Case("outcome_na_text.csv", TREATED, EXIT_DATA, ("'employment_rate'", "'n/a'", "row 8")),
    Case("outcome_infinite.csv", TREATED, EXIT_DATA, ("'employment_rate'", "infinite", "row 4")),
    Case("duplicate_area_period.csv", TREATED, EXIT_DATA, ("'E06000022'", "2020Q2", "rows 7, 8")),
    Case("mixed_period_formats.csv", TREATED, EXIT_DATA,
         ("'period'", "'2019Q1'", "'2019-01'", "row 14")),
    Case("unparseable_period.csv", TREATED, EXIT_DATA, ("'period'", "'2020Q5'", "row 9")),
    Case("missing_period_value.csv", TREATED, EXIT_DATA, ("'period'", "row 11")),
    Case("missing_area_value.csv", TREATED, EXIT_DATA, ("'area'", "row 15")),
    Case("gss_short_code.csv", ("--treated", "E06000022", "--start", "2021Q1", *OUTCOME),
         EXIT_DATA, ("'area'", "'E0600023'", "rows 14")),
    Case("good/pilot.csv", ("--comparators", "comparators_gss_lowercase.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'area'", "'e06000004'", "lower case", "rows 38"),
         blamed="comparators_gss_lowercase.csv"),
    # --- the comparators file against the pilot file
    Case("good/pilot.csv", ("--comparators", "comparators_missing_column.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'claimant_rate'", "good/pilot.csv"), blamed="comparators_missing_column.csv"),
    Case("good/pilot.csv", ("--comparators", "comparators_extra_column.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'notes'", "good/pilot.csv"), blamed="comparators_extra_column.csv"),
    Case("good/pilot.csv", ("--comparators", "comparators_renamed.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'Area' instead of 'area'", "'Period' instead of 'period'"),
         blamed="comparators_renamed.csv"),
    Case("good/pilot.csv", ("--comparators", "comparators_overlap.csv", "--start",
                            "2021Q1", *OUTCOME), EXIT_DATA,
         ("'E06000023'", "rows 62", "good/pilot.csv"), blamed="comparators_overlap.csv"),
    # --- treatment
    Case("only_treated.csv", ("--treated-col", "pilot", "--start", "2021Q1", *OUTCOME),
         EXIT_DESIGN, ("every area is treated", "'E06000022'", "'E06000023'")),
    Case("treated_no_pre_period.csv", WITH_COMPARATORS, EXIT_DESIGN,
         ("'E06000023'", "employment_rate", "2021Q1")),
    Case("treatment_not_binary.csv", ("--treatment-col", "treated_now", *OUTCOME), EXIT_DATA,
         ("'treated_now'", "'2'", "row 22")),
    Case("treatment_switches_off.csv", ("--treatment-col", "treated_now", *OUTCOME), EXIT_DATA,
         ("'treated_now'", "'E06000023'", "2021Q3", "row 24")),
    Case("treated_col_varies.csv", ("--treated-col", "pilot", "--start", "2021Q1", *OUTCOME),
         EXIT_DATA, ("'pilot'", "'E06000023'", "row 14", "row 18")),
    Case("first_treated_varies.csv", FIRST_TREATED, EXIT_DATA,
         ("'first_treated'", "'E06000023'", "'2021Q1'", "'2021Q2'", "row 17")),
    Case("first_treated_unparseable.csv", FIRST_TREATED, EXIT_DATA,
         ("'first_treated'", "'soon'", "rows 14")),
    Case("negative_weights.csv", ("--treated-col", "pilot", "--start", "2021Q1", *OUTCOME,
                                  "--weights-col", "population"), EXIT_DATA,
         ("'population'", "-1", "row 42")),
    # --- valid data that the chosen design cannot estimate
    Case("one_pre_period.csv", (*FIRST_TREATED, "--design", "event-study"), EXIT_DESIGN,
         ("2 pre-periods", "2021Q1")),
    Case("staggered_starts.csv", (*FIRST_TREATED, "--design", "2x2"), EXIT_DESIGN,
         ("2x2", "2020Q3", "2021Q1")),
]
# Named in the report: these exit-4 messages come from lpip_eval/methods/did.py, which does
# not yet name the file (nor, for 2x2, the starts); the test keeps the full expectation.


def test_at_least_30_malformed_files() -> None:
    malformed = [p for p in BAD.iterdir() if p.name not in ("good", "make_bad_inputs.py")]
    assert len(malformed) >= 30
    used = {c.file for c in CASES} | {c.blamed for c in CASES if c.blamed}
    assert {p.name for p in malformed} <= used, "every malformed file has a case"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_did_rejects_malformed_input(case: Case, tmp_path: Path, hashes_before: dict[str, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run_cli(
        ["did", case.file, *case.args, "--json", str(out / "result.json")], BAD, monkeypatch)
    assert code == case.code, stderr
    check_error_line(stderr, files=(case.blamed or case.file,), mentions=case.mentions)
    assert stdout == ""
    assert list(out.iterdir()) == [], "a failed run must leave no output file"
    assert input_hashes() == hashes_before, "input files must not change"


VALIDATE_CASES = [c for c in CASES if "--design" not in c.args]


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=lambda c: c.id)
def test_validate_rejects_malformed_input(case: Case, hashes_before: dict[str, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, stderr = run_cli(["validate", case.file, *case.args], BAD, monkeypatch)
    assert code == case.code, stderr
    check_error_line(stderr, files=(case.blamed or case.file,), mentions=case.mentions)
    assert stdout == ""
    assert input_hashes() == hashes_before

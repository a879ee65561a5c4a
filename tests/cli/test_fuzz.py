"""A seeded fuzzer over ``did``, ``synth`` and ``match``, run in-process through the CLI.

Each case mutates a small copy of the West of England example (1 to 3 of ~40 mutation kinds:
dropped or shuffled columns and rows, odd values, encodings, separators, markup and huge area
names, extreme outcomes, broken periods ...) and runs one command with ``--json`` and
``--markdown``. The contract (issue 10; hostile-inputs review): no exit 1 (our bugs), no
traceback, exactly one ``Error:`` line on a failure, no output left behind on a failure, and
no input file ever changed.

``python tests/cli/test_fuzz.py [CASES] [SEED]`` prints the counts by command and exit code.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import random
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from lpip_eval.cli.commands import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "west_of_england"
CASES = 300
SEED = 20261206
COMMANDS = ("did", "synth", "match")
COMPARATORS_KEPT = 10  # areas: small enough for ~0.1 s a run
FIRST_PERIOD = "2018Q1"
OUTCOME = "employment_rate"
START = "2021Q3"
OUTPUTS = ("out.json", "out.md", "out.html")

Table = list[list[str]]
ODD_VALUES = ("NaN", "inf", "-inf", "1e308", "1e400", "-5", "abc", "1,234", "12,5", "0x10",
              "٣", "", "NA", "n/a", "..", "1e-300", " 7 ", "TRUE")
ODD_NAMES = ("[/red] x", "[/] y", "[link=https://evil.example/]Bristol[/link] [blink]",
             "{{7*7}}", "<script>alert(1)</script>", "\u202eRTL name", "zero\u200bwidth",
             "N" * 5000, "emp[/x]", "Bath\r\nBcc: a@b.c", "=cmd|' /C calc'!A0")
ODD_PERIODS = ("2021Q5", "2021-13", "Q3 2021", "2021", "1-01", "soon", "", "2021Q3.0")


def _read(path: Path) -> Table:
    with path.open(encoding="utf-8", newline="") as handle:
        return [list(row) for row in csv.reader(handle)]


def _base() -> tuple[Table, Table]:
    """The example trimmed to its 4 pilot areas and 10 comparators from 2018Q1."""
    pilot, comps = _read(EXAMPLE / "pilot.csv"), _read(EXAMPLE / "comparators.csv")
    period = pilot[0].index("period")

    def recent(table: Table) -> Table:
        return [table[0]] + [r for r in table[1:] if r[period] >= FIRST_PERIOD]

    keep = list(dict.fromkeys(r[0] for r in comps[1:]))[:COMPARATORS_KEPT]
    return recent(pilot), recent([comps[0]] + [r for r in comps[1:] if r[0] in keep])


@dataclass
class Files:
    """The two input files of a case as a table plus how to encode them."""

    pilot: Table
    comps: Table
    encoding: str = "utf-8"
    sep: str = ","
    newline: str = "\n"
    raw_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        for name, table in (("pilot.csv", self.pilot), ("comparators.csv", self.comps)):
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=self.sep, lineterminator=self.newline).writerows(table)
            text = buffer.getvalue()
            data = text.encode(self.encoding, errors="replace")
            for edit in self.raw_edits:
                data = edit(data)
            (folder / name).write_bytes(data)


def _col(table: Table, name: str) -> int:
    return table[0].index(name) if name in table[0] else 0


def _pick_table(f: Files, rng: random.Random) -> Table:
    return f.pilot if rng.random() < 0.5 else f.comps


def _set_cells(f: Files, rng: random.Random, column: str, values: tuple[str, ...]) -> None:
    table = _pick_table(f, rng)
    j = _col(table, column)
    for _ in range(rng.choice((1, 1, 3, 50))):
        i = rng.randrange(1, len(table)) if len(table) > 1 else 0
        if i and j < len(table[i]):
            table[i][j] = rng.choice(values)


def _scale(f: Files, rng: random.Random, factor: float) -> None:
    for table in (f.pilot, f.comps):
        j = _col(table, OUTCOME)
        for row in table[1:]:
            with contextlib.suppress(ValueError, IndexError):
                row[j] = repr(float(row[j]) * factor)


def _rows(f: Files, rng: random.Random, keep: Callable[[list[str]], bool]) -> None:
    for table in (f.pilot, f.comps):
        table[1:] = [r for r in table[1:] if keep(r)]


def _keep_first_areas(f: Files) -> None:
    """One pilot area and one comparator."""
    first = {table[1][0] for table in (f.pilot, f.comps) if len(table) > 1 and table[1]}
    _rows(f, random.Random(0), lambda row: bool(row) and row[0] in first)


def _period_in(row: list[str], labels: tuple[str, ...]) -> bool:
    return len(row) > 4 and row[4] in labels


def _period_at_least(row: list[str], label: str) -> bool:
    return len(row) > 4 and row[4] >= label


Mutation = Callable[[Files, random.Random], None]
MUTATIONS: dict[str, Mutation] = {
    "drop_column": lambda f, r: [row.pop(r.randrange(len(row))) for row in _pick_table(f, r)
                                 if row] and None,
    "drop_outcome": lambda f, r: [row.pop(_col(f.comps, OUTCOME)) for row in f.comps
                                  if len(row) > 5] and None,
    "duplicate_column": lambda f, r: [row.append(row[5] if len(row) > 5 else "x")
                                      for row in _pick_table(f, r)] and None,
    "shuffle_columns": lambda f, r: _shuffle_columns(_pick_table(f, r), r),
    "shuffle_rows": lambda f, r: _shuffle_rows(_pick_table(f, r), r),
    "drop_rows": lambda f, r: _drop_rows(_pick_table(f, r), r),
    "duplicate_row": lambda f, r: _duplicate_row(_pick_table(f, r), r),
    "odd_outcome": lambda f, r: _set_cells(f, r, OUTCOME, ODD_VALUES),
    "odd_weight": lambda f, r: _set_cells(f, r, "population", ODD_VALUES),
    "odd_period": lambda f, r: _set_cells(f, r, "period", ODD_PERIODS),
    "odd_area": lambda f, r: _set_cells(f, r, "area", ("", "NA", "e06000022", "E0600002",
                                                        "12345", "[red]x")),
    "odd_name": lambda f, r: _rename_area(f, r),  # noqa: PLW0108 (defined below)
    "odd_header": lambda f, r: _odd_header(_pick_table(f, r), r),
    "rename_outcome": lambda f, r: _rename_outcome(f.comps),
    "constant_outcome": lambda f, r: _set_all(f, OUTCOME, "5"),
    "tiny_outcome": lambda f, r: _scale(f, r, 1e-300),
    "huge_outcome": lambda f, r: _scale(f, r, 1e307),
    "area_in_both": lambda f, r: f.comps.extend(row[:] for row in f.pilot[1:9]),
    "lower_ids": lambda f, r: _lower_ids(_pick_table(f, r)),
    "one_comparator": lambda f, r: _keep_first_areas(f),
    "two_periods": lambda f, r: _rows(f, r, lambda row: _period_in(row, ("2021Q2", "2021Q3"))),
    "no_pre_period": lambda f, r: _rows(f, r, lambda row: _period_at_least(row, START)),
    "no_post_period": lambda f, r: _rows(f, r, lambda row: not _period_at_least(row, START)),
    "header_only": lambda f, r: _pick_table(f, r).__delitem__(slice(1, None)),
    "empty_file": lambda f, r: _pick_table(f, r).clear(),
    "latin1": lambda f, r: _latin1(f),
    "utf16": lambda f, r: setattr(f, "encoding", "utf-16"),
    "bom": lambda f, r: f.raw_edits.append(lambda b: b"\xef\xbb\xbf" + b),
    "semicolon": lambda f, r: setattr(f, "sep", ";"),
    "tab": lambda f, r: setattr(f, "sep", "\t"),
    "pipe": lambda f, r: setattr(f, "sep", "|"),
    "crlf": lambda f, r: setattr(f, "newline", "\r\n"),
    "blank_lines": lambda f, r: f.raw_edits.append(lambda b: b.replace(b"\n", b"\n\n", 7)),
    "unclosed_quote": lambda f, r: f.raw_edits.append(lambda b: b.replace(b",", b',"', 1)),
    "nul_bytes": lambda f, r: f.raw_edits.append(lambda b: b[:200] + b"\x00" + b[200:]),
    "long_line": lambda f, r: _pick_table(f, r).append(["x" * 100_000]),
    "ragged_row": lambda f, r: _pick_table(f, r).append(["a", "b"]),
}


def _shuffle_columns(table: Table, rng: random.Random) -> None:
    order = list(range(len(table[0]))) if table else []
    rng.shuffle(order)
    table[:] = [[row[i] for i in order if i < len(row)] for row in table]


def _shuffle_rows(table: Table, rng: random.Random) -> None:
    body = table[1:]
    rng.shuffle(body)
    table[1:] = body


def _drop_rows(table: Table, rng: random.Random) -> None:
    table[1:] = [row for row in table[1:] if rng.random() > 0.1]


def _duplicate_row(table: Table, rng: random.Random) -> None:
    if len(table) > 1:
        row = table[rng.randrange(1, len(table))][:]
        if len(row) > 5:
            row[5] = "99"  # a conflicting duplicate
        table.append(row)


def _rename_area(f: Files, rng: random.Random) -> None:
    table = _pick_table(f, rng)
    name = rng.choice(ODD_NAMES)
    first = table[1][0] if len(table) > 1 else None
    for row in table[1:]:
        if row and row[0] == first and len(row) > 1:
            row[1] = name


def _odd_header(table: Table, rng: random.Random) -> None:
    if table and table[0]:
        j = rng.randrange(len(table[0]))
        table[0][j] = rng.choice((" " + table[0][j] + " ", "", table[0][0], "emp[/x]"))


def _rename_outcome(table: Table) -> None:
    if table and OUTCOME in table[0]:
        table[0][table[0].index(OUTCOME)] = "employment"


def _set_all(f: Files, column: str, value: str) -> None:
    for table in (f.pilot, f.comps):
        j = _col(table, column)
        for row in table[1:]:
            if j < len(row):
                row[j] = value


def _lower_ids(table: Table) -> None:
    for row in table[1:]:
        if row:
            row[0] = row[0].lower()


def _latin1(f: Files) -> None:
    f.encoding = "latin-1"
    for row in f.pilot[1:3]:
        if len(row) > 1:
            row[1] = "Caerffili é"


@dataclass
class Outcome:
    """What one fuzz case did."""

    command: str
    mutations: tuple[str, ...]
    exit_code: int
    problems: list[str]


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def run_case(index: int, folder: Path, seed: int = SEED) -> Outcome:
    """Build, run and check case ``index`` in ``folder`` (created empty)."""
    rng = random.Random(seed * 100_003 + index)
    pilot, comps = _base()
    files = Files(pilot, comps)
    kinds = tuple(rng.sample(sorted(MUTATIONS), rng.choice((1, 1, 2, 3))))
    for kind in kinds:
        MUTATIONS[kind](files, rng)
    files.write(folder)
    before = _hashes(folder)
    command = COMMANDS[index % len(COMMANDS)]
    args = [command, "pilot.csv", "--comparators", "comparators.csv", "--outcome", OUTCOME,
            "--start", START, "--draws", "99", "--json", "out.json", "--markdown", "out.md"]
    if index % 10 == 0:  # the HTML report (charts) is slower: one case in ten
        args += ["--report", "out.html"]
    result = _invoke(args, folder)
    problems: list[str] = []
    code = result[0]
    stderr = result[2]
    if code == 1 or result[3]:
        problems.append(f"exit {code}: {result[3] or stderr[-300:]}")
    if "Traceback" in stderr:
        problems.append("traceback on stderr")
    if code != 0:
        errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
        if len(errors) != 1:
            problems.append(f"{len(errors)} Error: lines: {stderr[-300:]!r}")
        left = [name for name in OUTPUTS if (folder / name).exists()]
        if left:
            problems.append(f"outputs left after exit {code}: {left}")
    after = {k: v for k, v in _hashes(folder).items() if k in before}
    if after != before:
        problems.append("an input file changed")
    return Outcome(command, kinds, code, problems)


def _invoke(args: list[str], folder: Path) -> tuple[int, str, str, str]:
    """(exit code, stdout, stderr, unexpected exception) of one in-process CLI run."""
    import os

    cwd = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, args, catch_exceptions=True,
                                    env={"NO_COLOR": "1", "COLUMNS": "200"})
    finally:
        os.chdir(cwd)
    bug = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        bug = "".join(traceback.format_exception(result.exception))[-800:]
    return result.exit_code, result.stdout, result.stderr, bug


def run_fuzz(cases: int, root: Path, seed: int = SEED) -> list[Outcome]:
    """Run ``cases`` fuzz cases in sub-folders of ``root``."""
    outcomes = []
    for index in range(cases):
        folder = root / f"case{index:04d}"
        folder.mkdir()
        outcomes.append(run_case(index, folder, seed))
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """Counts by command and exit code, as a small table."""
    counts = Counter((o.command, o.exit_code) for o in outcomes)
    codes = sorted({code for _, code in counts})
    lines = ["| command | runs | " + " | ".join(f"exit {c}" for c in codes) + " |"]
    for command in COMMANDS:
        row = [str(counts[(command, c)]) for c in codes]
        runs = sum(counts[(command, c)] for c in codes)
        lines.append(f"| {command} | {runs} | " + " | ".join(row) + " |")
    bad = [o for o in outcomes if o.problems]
    lines.append(f"cases with a broken contract: {len(bad)} of {len(outcomes)}")
    return "\n".join(lines)


def test_fuzz_keeps_the_error_contract(tmp_path: Path) -> None:
    outcomes = run_fuzz(CASES, tmp_path)
    broken = [f"{o.command} {o.mutations}: {p}" for o in outcomes for p in o.problems]
    assert not broken, summary(outcomes) + "\n" + "\n".join(broken[:20])
    codes = Counter(o.exit_code for o in outcomes)
    # The fuzzer must exercise both paths: successes and clean data/design errors.
    assert codes[0] >= CASES // 10 and codes[3] + codes[4] >= CASES // 10, summary(outcomes)


if __name__ == "__main__":
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else CASES
    s = int(sys.argv[2]) if len(sys.argv) > 2 else SEED
    with tempfile.TemporaryDirectory() as tmp:
        found = run_fuzz(n, Path(tmp), s)
    print(summary(found))
    for o in found:
        for p in o.problems:
            print(f"- {o.command} {o.mutations}: {p[:400]}")

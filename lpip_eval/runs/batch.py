"""Batch runs: every outcome x design of an evaluation config, then every output file.

:func:`run_evaluation` loads one panel per outcome, runs each design on it through
``parallel.map_items``, checks the gates, and writes into ``[output] dir``: one JSON per
evaluation (``<outcome>-<method>.json``), ``index.json``, the combined HTML report and .eml
of the successful results (each outcome's designs side by side, and the gates that tripped),
and a Markdown summary for CI job summaries; with ``[plan]``, each outcome's plan beside
them (:mod:`lpip_eval.runs.plans`, listed in index.json's ``plans``). Every file is
written atomically and is byte-identical between two runs on the same inputs and seed (no
timestamps, no timings; key order fixed).

One failing evaluation (any LpipEvalError) is recorded with its message and exit code and
the others still run; a JSON left from an earlier run of a now failing evaluation is removed,
so the folder never shows a stale result. The exit code is 0 when all ran and no gate
tripped, else the highest exit code of a failed evaluation (3 or 4), else 5 when a gate
tripped; it is returned in :class:`BatchResult`, not raised, so every output is written.

Where the evaluations run is the backend's business (``parallel.use_backend``: ``[run]
backend``, ``workers``, ``scheduler``, or the command line's overrides): several
evaluations go to the processes (local pool or Dask cluster) one task each, and each runs
its own loops serially there, so processes are never nested; a batch of one evaluation runs
here, its placebo refits and randomization draws going to the processes instead. None of
this changes a byte of the outputs (execution settings are not recorded in the results).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpip_eval.errors import EXIT_GATE, EXIT_OK, DataError, LpipEvalError
from lpip_eval.files import display_path
from lpip_eval.parallel import (
    CHUNKS_PER_WORKER,
    Backend,
    active_workers,
    map_items,
    use_backend,
)
from lpip_eval.results.gates import TrippedGate, check_gates, gate_sentence, parse_gates
from lpip_eval.runs.config import EvaluationConfig, MethodConfig, OutcomeConfig
from lpip_eval.runs.keys import INDEX_FILE, file_stem
from lpip_eval.runs.plans import (
    PlanRecord,
    plan_file_names,
    plan_files,
    plan_index,
    plan_summary,
    run_plans,
    stale_plan_files,
)


@dataclass(frozen=True)
class EvaluationRecord:
    """One outcome x design: its result dict, or the error that stopped it."""

    outcome: str
    method: str
    file: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int = EXIT_OK
    gates: tuple[TrippedGate, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def status(self) -> str:
        return "failed" if not self.ok else "gate-tripped" if self.gates else "ok"


@dataclass(frozen=True)
class BatchResult:
    """What a run did: every evaluation, the triangulation, files written, the exit code."""

    config: EvaluationConfig
    evaluations: tuple[EvaluationRecord, ...]
    triangulation: dict[str, Any]
    exit_code: int
    files: tuple[Path, ...] = ()
    summary: str = ""
    index: dict[str, Any] = field(default_factory=dict)
    output_errors: tuple[OutputFailure, ...] = ()
    plans: tuple[PlanRecord, ...] = ()

    @property
    def results(self) -> list[dict[str, Any]]:
        """The successful results, in config order."""
        return [e.result for e in self.evaluations if e.result is not None]


@dataclass(frozen=True)
class _Job:
    outcome: OutcomeConfig
    method: MethodConfig
    panel: Any
    spec: Any
    command: str
    config_name: str


def run_evaluation(config: EvaluationConfig, *,
                   progress: Callable[[EvaluationRecord], None] | None = None,
                   fail_on: tuple[str, ...] = (), backend: Backend | None = None
                   ) -> BatchResult:
    """Run every outcome x design of ``config`` and write every output (see module doc).

    ``backend``: where the work runs (default: the config's ``[run]``); see module doc.

    ``progress``: called with each evaluation's record as it finishes, in the order they
    finish (:func:`evaluation_count` of them); None reports nothing. The CLI draws it
    (:class:`lpip_eval.cli.console.BatchProgress`); this module never prints.
    ``fail_on``: gates added to the config's ``[gates] fail_on`` (e.g. from ``--fail-on``).
    Unknown gate names raise DataError (exit 3) before anything runs.
    """
    gates = tuple(dict.fromkeys((*config.fail_on, *fail_on)))
    parse_gates(gates)
    out_dir = _output_dir(config)
    with use_backend(backend or config.run.execution):
        ordered = _evaluate_all(config, gates, fail_on, progress)
        plans = run_plans(config, gates)
    return _write_all(config, ordered, out_dir, gates, plans)


def _evaluate_all(config: EvaluationConfig, gates: tuple[str, ...], fail_on: tuple[str, ...],
                  progress: Callable[[EvaluationRecord], None] | None
                  ) -> tuple[EvaluationRecord, ...]:
    """Every evaluation's record, in config order (on the active backend)."""
    from lpip_eval.data.panel import load_panel

    command = shlex.join(["lpip-eval", "run", display_path(config.path),
                          *[w for g in fail_on for w in ("--fail-on", g)]])
    total = evaluation_count(config)
    workers = max(1, min(active_workers(), total))
    done_one = progress or (lambda record: None)
    records: dict[tuple[str, str], EvaluationRecord] = {}
    jobs: list[_Job] = []
    panels: dict[Any, Any] = {}  # PanelSpec -> Panel or the LpipEvalError loading it
    for outcome in config.outcomes:
        for method in config.methods:
            if config.unit_level:  # match --design nnmatch: each job reads its units itself
                jobs.append(_Job(outcome, method, None, config.data, command,
                                 display_path(config.path)))
                continue
            spec = config.panel_spec(outcome.column, method)
            if spec not in panels:
                try:
                    panels[spec] = load_panel(spec)
                except LpipEvalError as exc:
                    panels[spec] = exc
            panel = panels[spec]
            if isinstance(panel, LpipEvalError):
                record = EvaluationRecord(outcome.column, method.name, error=str(panel),
                                          exit_code=panel.exit_code)
                records[(outcome.column, method.name)] = record
                done_one(record)
                continue
            jobs.append(_Job(outcome, method, panel, spec, command,
                             display_path(config.path)))
    # Rounds of a few jobs per process, for the progress; one job runs here, its loops on
    # the processes.
    step = CHUNKS_PER_WORKER * workers if len(jobs) > 1 else 1
    for begin in range(0, len(jobs), step):
        part = jobs[begin:begin + step]
        for done in (map_items(_run_job, part) if len(part) > 1 else [_run_job(part[0])]):
            record = done if done.result is None else dataclasses.replace(
                done, gates=tuple(check_gates(done.result, gates)))
            records[(record.outcome, record.method)] = record
            done_one(record)
    return tuple(records[(o.column, m.name)] for o in config.outcomes for m in config.methods)


def evaluation_count(config: EvaluationConfig) -> int:
    """How many evaluations (outcome x design) a run of ``config`` makes."""
    return len(config.outcomes) * len(config.methods)


def _output_dir(config: EvaluationConfig) -> Path:
    out_dir = config.output.dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{display_path(config.path)}, [output] 'dir': cannot create "
                        f"{display_path(out_dir)} ({exc.strerror})",
                        hint="choose a folder you can write to") from None
    return out_dir


def _run_job(job: _Job) -> EvaluationRecord:
    """One evaluation (runs in a worker process when workers > 1)."""
    from lpip_eval.methods.registry import estimate
    from lpip_eval.results.result import with_provenance

    outcome, method = job.outcome.column, job.method.name
    started = time.perf_counter()
    where = f"{job.config_name} [{method}]"
    try:
        if job.panel is None:
            result = _unit_match(job, where)
        else:
            result = estimate(method, job.panel, job.method.options, where=where)
            result = with_provenance(result, job.panel, job.spec, dict(job.method.options),
                                     command=job.command, seed=job.method.options.get("seed"),
                                     outcome_label=job.outcome.label,
                                     outcome_unit=job.outcome.unit,
                                     outcome_scale=job.outcome.scale)
    except LpipEvalError as exc:
        return EvaluationRecord(outcome, method, error=str(exc), exit_code=exc.exit_code,
                                seconds=time.perf_counter() - started)
    return EvaluationRecord(outcome, method, file=f"{file_stem(outcome)}-{method}.json",
                            result=result.to_dict(), seconds=time.perf_counter() - started)


def _unit_match(job: _Job, where: str) -> Any:
    """``[match] design = "nnmatch"``: unit-level matching of one outcome, with provenance."""
    from lpip_eval.methods.match.units import run_unit_match, spec_from_options
    from lpip_eval.methods.registry import naming

    data = job.spec
    spec = spec_from_options(data.data, data.area_col, data.treated_col, job.outcome.column,
                             dict(job.method.options), where=where)
    with naming(where):  # messages name the [match] keys
        return run_unit_match(spec, command=job.command, outcome_label=job.outcome.label,
                              outcome_unit=job.outcome.unit, outcome_scale=job.outcome.scale)


def exit_code_of(records: tuple[EvaluationRecord, ...],
                 output_errors: tuple[OutputFailure, ...] = (),
                 plans: tuple[PlanRecord, ...] = ()) -> int:
    """Highest failing code (an evaluation's, a plan's or an output's); else 5 if a gate
    tripped; else 0."""
    failed = [r.exit_code for r in records if not r.ok] + [p.exit_code for p in plans
                                                          if not p.ok]
    failed += [f.exit_code for f in output_errors]
    if failed:
        return max(failed)
    tripped = any(r.gates for r in records) or any(p.gates for p in plans)
    return EXIT_GATE if tripped else EXIT_OK


@dataclass(frozen=True)
class OutputFailure:
    """An output of the run that could not be made (e.g. an e-mail over its size limit)."""

    file: str
    exit_code: int
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "exit_code": self.exit_code, "error": self.error}


def _write_all(config: EvaluationConfig, records: tuple[EvaluationRecord, ...],
               out_dir: Path, gates: tuple[str, ...],
               plans: tuple[PlanRecord, ...] = ()) -> BatchResult:
    """Render every output in memory, then write them all or none.

    One output that cannot be rendered (the combined e-mail over its size limit, say) does
    not cost the others: it is left out, named in index.json and the summary, and sets the
    exit code; the JSON results, the index and the summary are still written.
    """
    from lpip_eval.files import write_all
    from lpip_eval.report.triangulation import triangulate

    files: list[tuple[str, str | bytes]] = []
    for record in records:
        if record.result is not None and config.output.json and record.file:
            files.append((str(out_dir / record.file), _json(record.result, sort_keys=False)))
    results = [r.result for r in records if r.result is not None]
    triangulation = triangulate(results)
    reports, failures = _render_reports(config, records, out_dir)
    files += reports + plan_files(config, plans, out_dir)
    code = exit_code_of(records, failures, plans)
    index = _index(config, records, triangulation, code, gates, failures)
    if config.plan is not None:
        index["plans"] = plan_index(config, plans)
    summary = summary_markdown(config, records, triangulation, code, failures, plans)
    if config.output.markdown:
        files.append((str(out_dir / config.output.markdown), summary))
    files.append((str(out_dir / INDEX_FILE), _json(index, sort_keys=True)))
    write_all(files)
    written = {Path(path) for path, _ in files}
    for stale in [*_stale_outputs(config, records, out_dir),
                  *stale_plan_files(config, plans, out_dir)]:
        if stale not in written:
            stale.unlink(missing_ok=True)
    return BatchResult(config=config, evaluations=records, triangulation=triangulation,
                       exit_code=code, files=tuple(Path(path) for path, _ in files),
                       summary=summary, index=index, output_errors=failures, plans=plans)


def _stale_outputs(config: EvaluationConfig, records: tuple[EvaluationRecord, ...],
                   out_dir: Path) -> list[Path]:
    """Files an earlier run may have left that this run's results no longer back."""
    stale = [out_dir / f"{file_stem(r.outcome)}-{r.method}.json" for r in records
             if r.result is None]
    stale += [out_dir / n for n in (config.output.report, config.output.eml) if n]
    return stale


def _render_reports(config: EvaluationConfig, records: tuple[EvaluationRecord, ...],
                    out_dir: Path) -> tuple[list[tuple[str, str | bytes]],
                                            tuple[OutputFailure, ...]]:
    """The combined HTML report and e-mail of the successful results (the designs compared
    side by side for each outcome with several, a box naming every gate that tripped),
    each rendered on its own so that one failing does not cost the other."""
    from lpip_eval.report.files import Outputs, render_outputs

    shown = [r.result for r in records if r.result is not None]
    if not shown:
        return [], ()
    gates = [{"gate": g.gate, "message": gate_sentence(g, r.result)}
             for r in records if r.result is not None for g in r.gates]
    rendered: list[tuple[str, str | bytes]] = []
    failures: list[OutputFailure] = []
    for key, name in (("html", config.output.report), ("eml", config.output.eml)):
        if not name:
            continue
        outputs = Outputs(title=config.output.title, **{key: str(out_dir / name)})
        try:
            rendered += render_outputs(shown, outputs, gates=gates)
        except LpipEvalError as exc:
            failures.append(OutputFailure(name, exc.exit_code, str(exc)))
    return rendered, tuple(failures)


def _index(config: EvaluationConfig, records: tuple[EvaluationRecord, ...],
           triangulation: dict[str, Any], code: int, gates: tuple[str, ...],
           failures: tuple[OutputFailure, ...] = ()) -> dict[str, Any]:
    evaluations = []
    for r in records:
        entry: dict[str, Any] = {"outcome": r.outcome, "method": r.method, "status": r.status,
                                 "file": r.file if r.ok and config.output.json else None,
                                 "exit_code": r.exit_code, "error": r.error,
                                 "gates": [g.to_dict() for g in r.gates],
                                 "design": None, "estimate": None, "evidence_level": None}
        if r.result is not None:
            est = r.result["estimate"]
            entry["design"] = r.result["design"]
            entry["estimate"] = {k: est[k] for k in ("att", "ci_low", "ci_high", "ci_level",
                                                     "p_value")}
            entry["evidence_level"] = (r.result.get("evidence") or {}).get("level")
        evaluations.append(entry)
    out = config.output
    return {
        "config": display_path(config.path),
        "title": config.title,
        "exit_code": code,
        "evaluations": evaluations,
        "fail_on": list(gates),
        "files": {"report": out.report, "eml": out.eml, "markdown": out.markdown},
        "output_errors": [f.to_dict() for f in failures],
        "triangulation": triangulation,
    }


def summary_markdown(config: EvaluationConfig, records: tuple[EvaluationRecord, ...],
                     triangulation: dict[str, Any], code: int,
                     failures: tuple[OutputFailure, ...] = (),
                     plans: tuple[PlanRecord, ...] = ()) -> str:
    """The Markdown summary: a table of every evaluation, gates, agreement, failures, and
    the plans' headlines."""
    from lpip_eval.numbers import fmt_number, fmt_p
    from lpip_eval.report.words import METHOD_NAMES, headline

    ok = [r for r in records if r.result is not None]
    lines = [f"# {_md(config.title or 'lpip-eval evaluation')}", ""]
    failed = len(records) - len(ok)
    tripped = sum(len(r.gates) for r in records)
    status = (f"All {len(records)} evaluations ran." if not failed else
              f"{len(ok)} of {len(records)} evaluations ran; {failed} failed.")
    if plans:
        planned = sum(p.ok for p in plans)
        status = (status if records else "") + (
            f" {planned} of {len(plans)} plans made." if planned < len(plans) else
            f" {'The plan was' if planned == 1 else f'All {planned} plans were'} made.")
        status = status.strip()
    if tripped:
        status += f" {tripped} gate{'s' if tripped > 1 else ''} tripped."
    lines += [f"**{status}** Exit code {code}.", ""]
    if records:
        lines += ["| Outcome | Design | Effect | Range | p-value | Evidence | Status |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        design = METHOD_NAMES.get(r.method, r.method)
        if r.result is None:
            lines.append(f"| {_md(r.outcome)} | {_md(design)} | | | | | "
                         f"failed (exit {r.exit_code}) |")
            continue
        est, unit = r.result["estimate"], r.result.get("outcome_unit") or ""
        label = r.result.get("outcome_label") or r.outcome
        evidence = (r.result.get("evidence") or {}).get("level")
        lines.append(
            f"| {_md(label)} | {_md(r.result['design'])} | "
            f"{fmt_number(est['att'], 3, signed=True)}{' ' + _md(unit) if unit else ''} | "
            f"{est['ci_level']:.0%}: {fmt_number(est['ci_low'], 3)} to "
            f"{fmt_number(est['ci_high'], 3)} | {fmt_p(est['p_value'])} | "
            f"{evidence if evidence is not None else 'n/a'} of 5 | "
            f"{'gate tripped' if r.gates else 'ok'} |")
    if ok:
        lines += ["", "## Headlines", ""]
        lines += [f"- {_md(r.result['design'])}: {_md(headline(r.result))}"
                  for r in ok if r.result is not None]
    if tripped:
        lines += ["", "## Gates tripped", ""]
        lines += [f"- {_md(gate_sentence(g, r.result))}" for r in ok for g in r.gates]
    if triangulation["outcomes"]:
        lines += ["", "## Designs compared", ""]
        for entry in triangulation["outcomes"]:
            ev = entry["evidence"]
            lines.append(f"- **{_md(entry['outcome_label'].capitalize())}**: "
                         f"{_md(entry['agreement']['statement'])}"
                         + (f" {_md(entry['overlap']['statement'])}" if entry["overlap"]
                            else "") + f" Combined evidence: {_md(ev['label'])}.")
    if failed:
        lines += ["", "## Failed evaluations", ""]
        lines += [f"- {_md(r.outcome)} x {r.method} (exit {r.exit_code}): {_md(r.error or '')}"
                  for r in records if r.result is None]
    lines += plan_summary(plans)
    if failures:
        lines += ["", "## Outputs not written", ""]
        lines += [f"- `{f.file}` (exit {f.exit_code}): {_md(f.error)}" for f in failures]
    not_written = {f.file for f in failures}
    files = [f"`{r.file}`" for r in ok if r.file and config.output.json]
    files += [f"`{n}`" for n in (config.output.report, config.output.eml)
              if n and ok and n not in not_written]
    files += [f"`{name}`" for name in plan_file_names(config, plans)]
    lines += ["", f"Config: `{display_path(config.path)}`. Files: {', '.join(files) or 'none'}"
              f", `{INDEX_FILE}`.", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell or list item (no pipes, no line breaks)."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def _json(data: Any, *, sort_keys: bool) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False,
                      sort_keys=sort_keys) + "\n"

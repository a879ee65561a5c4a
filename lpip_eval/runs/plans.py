"""The ``[plan]`` part of a run: ``lpip-eval plan`` on every outcome of a config file.

:func:`run_plans` plans each outcome from the ``[data]`` table's pilot and start (loaded with
``planned=True``: the start may lie after the data's end), with the checked options of the
``[plan]`` table, and checks the plan gates (``mde-above:X``). :func:`plan_files` renders what
the batch writes beside the results (``<outcome>-plan.json``, ``<outcome>-plan.html``),
:func:`plan_index` the entries of ``index.json`` and :func:`plan_summary` the lines of the
Markdown summary. A plan that fails is recorded with its message and exit code, like an
evaluation (:mod:`lpip_eval.runs.batch`). Nothing here prints or writes.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpip_eval.errors import EXIT_OK, LpipEvalError
from lpip_eval.files import display_path
from lpip_eval.results.gates import TrippedGate, check_gates
from lpip_eval.runs.config import PLAN_GATES, EvaluationConfig
from lpip_eval.runs.keys import file_stem


@dataclass(frozen=True)
class PlanRecord:
    """One outcome's plan: its JSON dict, or the error that stopped it."""

    outcome: str
    plan: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int = EXIT_OK
    gates: tuple[TrippedGate, ...] = ()

    @property
    def ok(self) -> bool:
        return self.plan is not None

    @property
    def status(self) -> str:
        return "failed" if not self.ok else "gate-tripped" if self.gates else "ok"

    @property
    def stem(self) -> str:
        return f"{file_stem(self.outcome)}-plan"


def plan_gates(gates: tuple[str, ...]) -> tuple[str, ...]:
    """The gates that look at plans (the others look at evaluation results)."""
    return tuple(g for g in gates if g.partition(":")[0].strip() in PLAN_GATES)


def run_plans(config: EvaluationConfig, gates: tuple[str, ...]) -> tuple[PlanRecord, ...]:
    """Every outcome's plan (none without ``[plan]``), in config order, gates checked."""
    if config.plan is None:
        return ()
    from dataclasses import replace

    from lpip_eval.data.panel import load_panel
    from lpip_eval.methods.power.plan import plan_from_panel
    from lpip_eval.methods.power.spec import plan_options

    options = plan_options(config.plan)
    command = shlex.join(["lpip-eval", "run", display_path(config.path)])
    records = []
    for outcome in config.outcomes:
        try:
            panel = load_panel(config.panel_spec(outcome.column), planned=True)
            result = plan_from_panel(panel, options, command=command)
        except LpipEvalError as exc:
            records.append(PlanRecord(outcome.column, error=str(exc),
                                      exit_code=exc.exit_code))
            continue
        result = replace(result, outcome_label=outcome.label, outcome_unit=outcome.unit,
                         inputs=tuple({"file": s.path, "sha256": s.sha256, "rows": s.rows}
                                      for s in panel.sources))
        body = result.to_dict()
        records.append(PlanRecord(outcome.column, plan=body,
                                  gates=tuple(check_gates(body, plan_gates(gates)))))
    return tuple(records)


def plan_files(config: EvaluationConfig, records: tuple[PlanRecord, ...],
               out_dir: Path) -> list[tuple[str, str | bytes]]:
    """``(path, content)`` of each plan's JSON and HTML report, rendered in memory."""
    import json

    from lpip_eval.report.plan import render_plan_outputs

    files: list[tuple[str, str | bytes]] = []
    for r in records:
        if r.plan is None:
            continue
        if config.output.json:
            files.append((str(out_dir / f"{r.stem}.json"), json.dumps(
                r.plan, indent=2, ensure_ascii=False, allow_nan=False) + "\n"))
        if config.output.report:
            files += render_plan_outputs(
                r.plan, html=str(out_dir / f"{r.stem}.html"), eml=None, markdown=None,
                title=config.output.title, gates=[g.to_dict() for g in r.gates])
    return files


def stale_plan_files(config: EvaluationConfig, records: tuple[PlanRecord, ...],
                     out_dir: Path) -> list[Path]:
    """Plan files an earlier run may have left that this run's plans no longer back."""
    return [out_dir / f"{r.stem}.{ext}" for r in records if r.plan is None
            for ext in ("json", "html")]


def plan_index(config: EvaluationConfig, records: tuple[PlanRecord, ...]
               ) -> list[dict[str, Any]]:
    """The ``plans`` entries of ``index.json``."""
    out = []
    for r in records:
        body = r.plan or {}
        out.append({"outcome": r.outcome, "status": r.status, "exit_code": r.exit_code,
                    "error": r.error, "gates": [g.to_dict() for g in r.gates],
                    "file": f"{r.stem}.json" if r.ok and config.output.json else None,
                    "report": f"{r.stem}.html" if r.ok and config.output.report else None,
                    "method": body.get("method"), "design": body.get("design"),
                    "mde": body.get("mde"), "mde_source": body.get("mde_source"),
                    "mde_analytic": body.get("mde_analytic"),
                    "mde_simulated": body.get("mde_simulated")})
    return out


def plan_summary(records: tuple[PlanRecord, ...]) -> list[str]:
    """The ``## Plans`` lines of the Markdown summary (none without plans)."""
    if not records:
        return []
    from lpip_eval.report.plan import plan_headline

    def md(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")

    lines = ["", "## Plans", ""]
    for r in records:
        if r.plan is None:
            lines.append(f"- {md(r.outcome)}: plan failed (exit {r.exit_code}): "
                         f"{md(r.error or '')}")
            continue
        lines.append(f"- {md(r.plan.get('outcome_label') or r.outcome)}: "
                     f"{md(plan_headline(r.plan))}")
        lines += [f"  - Gate tripped: {md(g.message)}" for g in r.gates]
    return lines

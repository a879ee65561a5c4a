"""The ``[plan]`` part of a run: ``lpip-eval plan`` on every outcome of a config file.

:func:`run_plans` plans each outcome from the ``[data]`` table's pilot and start (loaded with
``planned=True``: the start may lie after the data's end), with the checked options of the
``[plan]`` table, and checks the plan gates (``mde-above:X``). :func:`plan_files` renders what
the batch writes beside the results (``<outcome>-plan.json``; ``.html``, ``.eml`` and ``.md``
when ``[output]`` asks for a report, an e-mail or Markdown, as for results),
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


PLAN_EXTENSIONS = ("json", "html", "eml", "md")


def _wanted(config: EvaluationConfig) -> dict[str, bool]:
    """Which of a plan's files ``[output]`` asks for, by extension (the plan's e-mail and
    Markdown report follow ``eml`` and ``markdown``, as the results' do)."""
    out = config.output
    return {"json": out.json, "html": bool(out.report), "eml": bool(out.eml),
            "md": bool(out.markdown)}


def plan_files(config: EvaluationConfig, records: tuple[PlanRecord, ...],
               out_dir: Path) -> list[tuple[str, str | bytes]]:
    """``(path, content)`` of each plan's JSON, HTML report, e-mail (an unsent draft) and
    Markdown report, as ``[output]`` asks, rendered in memory."""
    import json

    from lpip_eval.report.plan import render_plan_outputs

    wanted = _wanted(config)
    files: list[tuple[str, str | bytes]] = []
    for r in records:
        if r.plan is None:
            continue
        if wanted["json"]:
            files.append((str(out_dir / f"{r.stem}.json"), json.dumps(
                r.plan, indent=2, ensure_ascii=False, allow_nan=False) + "\n"))

        def name(ext: str, stem: str = r.stem) -> str | None:
            return str(out_dir / f"{stem}.{ext}") if wanted[ext] else None

        files += render_plan_outputs(r.plan, html=name("html"), eml=name("eml"),
                                     markdown=name("md"), title=config.output.title,
                                     gates=[g.to_dict() for g in r.gates])
    return files


def plan_file_names(config: EvaluationConfig, records: tuple[PlanRecord, ...]) -> list[str]:
    """The names of the plan files a run writes (for the summary's list of files)."""
    wanted = _wanted(config)
    return [f"{r.stem}.{ext}" for r in records if r.ok for ext in PLAN_EXTENSIONS
            if wanted[ext]]


def stale_plan_files(config: EvaluationConfig, records: tuple[PlanRecord, ...],
                     out_dir: Path) -> list[Path]:
    """Plan files an earlier run may have left that this run no longer backs: every file of
    a plan that failed, and the kinds of file ``[output]`` no longer asks for."""
    wanted = _wanted(config)
    return [out_dir / f"{r.stem}.{ext}" for r in records for ext in PLAN_EXTENSIONS
            if r.plan is None or not wanted[ext]]


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
                    "eml": f"{r.stem}.eml" if r.ok and config.output.eml else None,
                    "markdown": f"{r.stem}.md" if r.ok and config.output.markdown else None,
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

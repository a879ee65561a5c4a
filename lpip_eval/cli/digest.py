"""``lpip-eval digest``: many partnerships' results, one pooled picture for the hub.

Registered on the app in ``cli/commands.py``. The work is :mod:`lpip_eval.runs.digest`
(reading, grouping, one result per place, pooling) and :mod:`lpip_eval.report.digest`
(HTML, e-mail, Markdown); this module parses options, writes and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from lpip_eval.cli.mail import (
    Sender,
    SendTo,
    SmtpCaFile,
    SmtpHost,
    SmtpPort,
    SmtpTimeout,
    SmtpUser,
    StartTls,
    delivery,
    send,
)
from lpip_eval.cli.options import EmlOut, JsonOut, MarkdownOut, Quiet, ReportOut, Title, guard


def digest(
    ctx: typer.Context,
    results: Annotated[list[Path] | None, typer.Argument(
        help="Result JSON files, output folders of `lpip-eval run`, or their index.json.",
        show_default=False, metavar="RESULT.json|DIR|index.json...")] = None,
    effects: Annotated[Path | None, typer.Option(
        "--effects", help="A table of effects from elsewhere (CSV, Excel, Parquet): one row "
        "per place.", metavar="FILE")] = None,
    name_col: Annotated[str, typer.Option("--name-col", help="--effects: place column.")
                        ] = "name",
    estimate_col: Annotated[str, typer.Option(
        "--estimate-col", help="--effects: estimate column.")] = "estimate",
    se_col: Annotated[str | None, typer.Option(
        "--se-col", help="--effects: standard error column.")] = None,
    ci_low_col: Annotated[str | None, typer.Option(
        "--ci-low-col", help="--effects: interval lower end (instead of --se-col).")] = None,
    ci_high_col: Annotated[str | None, typer.Option(
        "--ci-high-col", help="--effects: interval upper end.")] = None,
    ci_level: Annotated[float, typer.Option(
        "--ci-level", help="--effects: level of the interval columns.")] = 0.95,
    pooling: Annotated[str, typer.Option(
        "--pooling", help="reml (random effects, default), dl (DerSimonian-Laird), pm "
        "(Paule-Mandel) or fixed (common effect).")] = "reml",
    hartung_knapp: Annotated[bool, typer.Option(
        "--hartung-knapp", help="Hartung-Knapp intervals (t with k - 1 d.f.).")] = False,
    prefer: Annotated[str | None, typer.Option(
        "--prefer", help="did, synth or match: the design to pool where a place has several "
        "(default: the highest evidence level, then the narrowest range).")] = None,
    min_evidence: Annotated[int | None, typer.Option(
        "--min-evidence", help="Leave out results below this evidence level (1-5).")] = None,
    method: Annotated[list[str] | None, typer.Option(
        "--method", help="Only results of this method (repeatable).")] = None,
    outcome: Annotated[list[str] | None, typer.Option(
        "--outcome", help="Only this outcome (repeatable).")] = None,
    group_by: Annotated[list[str] | None, typer.Option(
        "--group-by", help="Pool results with equal values of these fields (repeatable; "
        "default: outcome and outcome_unit).")] = None,
    se_from_interval: Annotated[bool, typer.Option(
        "--se-from-interval/--no-se-from-interval", help="Results with an interval but no "
        "standard error: convert (stated in the output) or leave out (with the reason).")
    ] = True,
    json_out: JsonOut = None,
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    send_to: SendTo = None,
    sender: Sender = None,
    smtp_host: SmtpHost = "localhost",
    smtp_port: SmtpPort = 587,
    starttls: StartTls = True,
    smtp_ca_file: SmtpCaFile = None,
    smtp_timeout: SmtpTimeout = 30.0,
    smtp_user: SmtpUser = None,
    quiet: Quiet = False,
) -> None:
    """Pool many pilots' results: one per place, random-effects meta-analysis, forest plots."""

    def go() -> None:
        from lpip_eval.cli.commands import command_line
        from lpip_eval.errors import UsageError
        from lpip_eval.files import write_all
        from lpip_eval.report.digest import (
            lines_for_terminal,
            render_digest_reports,
            send_digest,
        )
        from lpip_eval.report.files import Outputs
        from lpip_eval.runs.digest import (
            DigestOptions,
            EffectsSpec,
            build_digest,
            check_options,
            digest_json,
            load_sources,
            read_effects,
        )

        if not results and effects is None:
            raise UsageError("nothing to digest", hint="give result files, a folder, an "
                             "index.json or --effects FILE")
        mail = delivery(send_to, sender, host=smtp_host, port=smtp_port, starttls=starttls,
                        ca_file=smtp_ca_file, timeout=smtp_timeout, user=smtp_user)
        Outputs(json=json_out, html=report, eml=eml, markdown=markdown).check(
            inputs=[*(results or []), *([effects] if effects is not None else [])])
        if not 0 < ci_level < 1:
            raise UsageError("--ci-level must be between 0 and 1", hint="e.g. 0.95")
        options = DigestOptions(
            pooling=pooling, hartung_knapp=hartung_knapp, prefer=prefer,
            min_evidence=min_evidence, methods=tuple(method or ()),
            outcomes=tuple(outcome or ()),
            group_by=tuple(group_by or ("outcome", "outcome_unit")),
            se_from_interval=se_from_interval, command=command_line(ctx))
        check_options(options)
        effect_rows = []
        if effects is not None:
            if se_col is None and not (ci_low_col and ci_high_col):
                raise UsageError("--effects needs --se-col, or --ci-low-col and --ci-high-col",
                                 hint="name the columns holding the uncertainty")
            effect_rows = read_effects(EffectsSpec(
                path=effects, name_col=name_col, estimate_col=estimate_col, se_col=se_col,
                ci_low_col=ci_low_col, ci_high_col=ci_high_col, ci_level=ci_level))
        result = build_digest(load_sources(list(results or [])), effect_rows, options)
        files: list[tuple[str, str | bytes]] = [(json_out, digest_json(result))] \
            if json_out else []
        files += render_digest_reports(result, html=report, eml=eml, markdown=markdown,
                                       title=title)
        write_all(files)  # all or none
        if mail:
            send(mail, lambda **how: send_digest(result, title=title, **how))
        if quiet or "-" in (json_out, markdown):
            return
        _print(result, lines_for_terminal(result))

    guard(go)


def _print(result: dict[str, Any], lines: Sequence[str]) -> None:
    """One Rich table per group (the pooled places and the pooled row), then the headlines."""
    from rich.table import Table

    from lpip_eval.cli.console import console, error_console
    from lpip_eval.numbers import fmt_number

    out = console()
    for group in result["groups"]:
        table = Table(title=f"{group['outcome_label']}: {group['k']} places",
                      title_justify="left")
        for col in ("place", "method", "estimate", "std. error", "range", "level", "weight"):
            table.add_column(col, justify="left" if col in ("place", "method") else "right")
        for row in group["results"]:
            if row["role"] != "pooled":
                continue
            table.add_row(row["place"], str(row["method"] or "-"),
                          fmt_number(row["estimate"], 4, console=True),
                          fmt_number(row["se"], 4, console=True),
                          f"{fmt_number(row['ci_low'], 4, console=True)} to "
                          f"{fmt_number(row['ci_high'], 4, console=True)}",
                          str(row["evidence_level"] or "-"),
                          "-" if row["weight"] is None else f"{row['weight']:.1f}%")
        pooled = group.get("pooled")
        if pooled:
            table.add_row("Pooled", pooled["pooling"], fmt_number(pooled["estimate"], 4,
                                                                  console=True),
                          fmt_number(pooled["se"], 4, console=True),
                          f"{fmt_number(pooled['ci_low'], 4, console=True)} to "
                          f"{fmt_number(pooled['ci_high'], 4, console=True)}", "", "100%")
        out.print(table)
    for line in lines:
        (error_console() if line.startswith("  Note:") else out).print(
            line, markup=False, highlight=False, soft_wrap=True)

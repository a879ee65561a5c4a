"""``lpip-eval report``, ``run`` and ``init``: re-render saved results, run a config file,
write a starter config. Registered on the app in ``cli/commands.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpip_eval.cli.options import (
    DataArg,
    EmlOut,
    FailOn,
    MarkdownOut,
    Quiet,
    ReportOut,
    Title,
    guard,
)


def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Result JSON file(s) written with --json; the first is the main result.",
        show_default=False, metavar="RESULT.json...")],
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    send_to: Annotated[list[str] | None, typer.Option(
        "--send-to", help="E-mail the report to this address (repeatable).")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    smtp_host: Annotated[str, typer.Option("--smtp-host", help="SMTP server.")] = "localhost",
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="SMTP port.")] = 587,
    starttls: Annotated[bool, typer.Option("--starttls/--no-starttls",
                                           help="Upgrade the connection with STARTTLS.")] = True,
    smtp_user: Annotated[str | None, typer.Option(
        "--smtp-user", help="SMTP user; the password is read from the environment variable "
        "LPIP_EVAL_SMTP_PASSWORD, never from an option.")] = None,
) -> None:
    """Render saved results again (HTML, e-mail, Markdown) and optionally send the e-mail."""
    if not (report or eml or markdown or send_to):
        raise typer.BadParameter("give at least one of --report, --eml, --markdown, --send-to",
                                 param_hint="outputs")
    if send_to and not sender:
        raise typer.BadParameter("--send-to needs --from ADDRESS", param_hint="--from")

    def run() -> None:
        from lpip_eval.report.files import Outputs, load_results, send_report, write_outputs

        loaded = load_results(results)
        write_outputs(loaded, Outputs(html=report, eml=eml, markdown=markdown, title=title))
        if send_to:
            send_report(loaded, title=title, sender=sender or "", to=send_to, host=smtp_host,
                        port=smtp_port, starttls=starttls, user=smtp_user)

    guard(run)


def run(
    config: Annotated[Path, typer.Argument(help="The evaluation file (TOML).",
                                           metavar="EVALUATION.toml", show_default=False)],
    fail_on: FailOn = None,
    quiet: Quiet = False,
    allow_outside: Annotated[bool, typer.Option(
        "--allow-outside", help="Let the config file read and write files outside its own "
        "folder and the working directory (only for config files you trust).")] = False,
) -> None:
    """Run every outcome x design an evaluation file asks for, write all outputs (CI)."""

    def go() -> int:
        from lpip_eval.report.files import error_console
        from lpip_eval.runs.batch import run_evaluation
        from lpip_eval.runs.config import load_config

        batch = run_evaluation(load_config(config, allow_outside=allow_outside),
                               progress=not quiet,
                               fail_on=tuple(fail_on or ()))
        err = error_console()
        for evaluation in batch.evaluations:
            if evaluation.error:
                err.print(f"Error: {evaluation.outcome} x {evaluation.method}: "
                          f"{evaluation.error}", markup=False, highlight=False, soft_wrap=True)
            for gate in evaluation.gates:
                err.print(f"Gate tripped: {evaluation.outcome} x {evaluation.method}: "
                          f"{gate.message}", markup=False, highlight=False, soft_wrap=True)
        if not quiet:
            from lpip_eval.report.files import console

            console().print(batch.summary, markup=False, highlight=False, soft_wrap=True)
        return int(batch.exit_code)

    code = guard(go)
    if code:
        raise typer.Exit(code)


def init(
    data: DataArg,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the config (default: evaluation.toml beside "
        "DATA).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter evaluation file for a data file."""

    def go() -> None:
        from lpip_eval.report.files import console
        from lpip_eval.runs.starter import write_starter

        path = write_starter(data, output or data.with_name("evaluation.toml"), overwrite=force)
        console().print(f"Wrote {path}: fill in the outcome and start, then run "
                        f"`lpip-eval run {path}`.", markup=False, highlight=False)

    guard(go)

"""``lpip-eval report``, ``run`` and ``init``: re-render saved results, run a config file,
write a starter config. Registered on the app in ``cli/commands.py``."""

from __future__ import annotations

import os
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
from lpip_eval.errors import UsageError
from lpip_eval.files import display_path


def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Result JSON file(s) written with --json; the first is the main result.",
        show_default=False, metavar="RESULT.json...")],
    report: ReportOut = None,
    eml: EmlOut = None,
    markdown: MarkdownOut = None,
    title: Title = None,
    send_to: Annotated[list[str] | None, typer.Option(
        "--send-to", help="E-mail the report to this address (repeatable; a display name "
        "with a comma needs quotes: '\"Doe, John\" <john@example.com>'). The e-mail is "
        "sent after the files are written; exit 6 when it cannot be delivered.")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    smtp_host: Annotated[str, typer.Option("--smtp-host", help="SMTP server.")] = "localhost",
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="SMTP port.")] = 587,
    starttls: Annotated[bool, typer.Option("--starttls/--no-starttls",
                                           help="Upgrade the connection with STARTTLS.")] = True,
    smtp_ca_file: Annotated[str | None, typer.Option(
        "--smtp-ca-file", help="Trust the SMTP server's certificate if this PEM file's "
        "authority signed it (a private CA), instead of the system's authorities.",
        metavar="PATH.pem")] = None,
    smtp_timeout: Annotated[float, typer.Option(
        "--smtp-timeout", help="Seconds to wait for the SMTP server at each step.",
        min=0.1)] = 30.0,
    smtp_user: Annotated[str | None, typer.Option(
        "--smtp-user", help="SMTP user; the password is read from the environment variable "
        "LPIP_EVAL_SMTP_PASSWORD, never from an option.")] = None,
) -> None:
    """Render saved results again (HTML, e-mail, Markdown) and optionally send the e-mail.

    Exit codes: 2 usage (e.g. an invalid address), 3 a file that is not a result, exit 6
    when the e-mail cannot be delivered (connection, TLS, login or the server refused it).
    """
    if not (report or eml or markdown or send_to):
        raise typer.BadParameter("give at least one of --report, --eml, --markdown, --send-to",
                                 param_hint="outputs")
    if send_to and not sender:
        raise typer.BadParameter("--send-to needs --from ADDRESS", param_hint="--from")

    def run() -> None:
        from lpip_eval.cli.console import error_console, print_written
        from lpip_eval.report.email import parse_addresses, tls_client_context
        from lpip_eval.report.files import Outputs, load_results, send_report, write_outputs

        if send_to:  # checked before anything is written
            to = parse_addresses(send_to, "--send-to")
            from_ = parse_addresses([sender or ""], "--from")
            if len(from_) != 1:
                raise UsageError(f"--from {sender!r} must be one address",
                                 hint="give the one sender address")
            tls = tls_client_context(smtp_ca_file) if starttls else None
        outputs = Outputs(html=report, eml=eml, markdown=markdown, title=title)
        outputs.check(inputs=results)
        loaded = load_results(results)
        write_outputs(loaded, outputs)
        print_written(outputs)
        if send_to:
            if smtp_user and not starttls:
                error_console().print(
                    f"Warning: the password for '{smtp_user}' travels to {smtp_host} without "
                    "TLS (--no-starttls); anyone on the network path can read it",
                    markup=False, highlight=False, soft_wrap=True)
            send_report(loaded, title=title, sender=from_[0], to=to, host=smtp_host,
                        port=smtp_port, starttls=starttls, user=smtp_user,
                        timeout=smtp_timeout, tls_context=tls)
            error_console().print(f"Sent the e-mail to {', '.join(a.addr_spec for a in to)} "
                                  f"via {smtp_host}:{smtp_port}", soft_wrap=True)

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
        from lpip_eval.cli.console import batch_progress, error_console
        from lpip_eval.runs.batch import evaluation_count, run_evaluation
        from lpip_eval.runs.config import load_config

        loaded = load_config(config, allow_outside=allow_outside)
        with batch_progress(evaluation_count(loaded), enabled=not quiet) as progress:
            batch = run_evaluation(loaded, progress=progress, fail_on=tuple(fail_on or ()))
        err = error_console()
        for evaluation in batch.evaluations:
            if evaluation.error:
                err.print(f"Error: {evaluation.outcome} x {evaluation.method}: "
                          f"{evaluation.error}", markup=False, highlight=False, soft_wrap=True)
            for gate in evaluation.gates:
                err.print(f"Gate tripped: {evaluation.outcome} x {evaluation.method}: "
                          f"{gate.message}", markup=False, highlight=False, soft_wrap=True)
        for failure in batch.output_errors:
            err.print(f"Error: {failure.file} was not written: {failure.error}", markup=False,
                      highlight=False, soft_wrap=True)
        if not quiet:
            from lpip_eval.cli.console import console

            console().print(batch.summary, markup=False, highlight=False, soft_wrap=True)
            if batch.files:
                folder = os.path.commonpath([os.path.dirname(p) or "." for p in batch.files])
                err.print(f"Wrote {len(batch.files)} files to {display_path(folder)}",
                          soft_wrap=True)
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
        from lpip_eval.cli.console import console
        from lpip_eval.runs.starter import write_starter

        path = write_starter(data, output or data.with_name("evaluation.toml"), overwrite=force)
        console().print(f"Wrote {path}: fill in the outcome and start, then run "
                        f"`lpip-eval run {path}`.", markup=False, highlight=False)

    guard(go)

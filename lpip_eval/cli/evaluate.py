"""``lpip-eval report``, ``run`` and ``init``: re-render saved results, run a config file,
write a starter config. Registered on the app in ``cli/commands.py``."""

from __future__ import annotations

import os
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
from lpip_eval.cli.options import (
    BackendOpt,
    DataArg,
    EmlOut,
    FailOn,
    MarkdownOut,
    Quiet,
    ReportOut,
    SchedulerOpt,
    Title,
    WorkersOpt,
    guard,
)
from lpip_eval.files import display_path
from lpip_eval.parallel import Backend


def backend_of(execution: dict[str, Any], *, quiet: bool,
               default: Backend | None = None) -> Backend:
    """The backend of ``--backend``/``--workers``/``--scheduler`` over ``default`` (a
    config's ``[run]``); a local pool capped at the CPUs is noted on stderr."""
    from lpip_eval.parallel import backend_from, workers_notice

    backend = backend_from(execution.get("backend"), execution.get("workers"),
                           execution.get("scheduler"), default)
    notice = workers_notice(backend.workers) if backend.name == "local" else None
    if notice and not quiet:
        from lpip_eval.cli.console import error_console

        error_console().print(f"Note: {notice}.", markup=False, highlight=False,
                              soft_wrap=True)
    return backend


def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Result JSON file(s) written with --json; the first is the main result.",
        show_default=False, metavar="RESULT.json...")],
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
) -> None:
    """Render saved results again (HTML, e-mail, Markdown) and optionally send the e-mail.

    Exit codes: 2 usage (e.g. an invalid address), 3 a file that is not a result, exit 6
    when the e-mail cannot be delivered (connection, TLS, login or the server refused it).
    """
    if not (report or eml or markdown or send_to):
        raise typer.BadParameter("give at least one of --report, --eml, --markdown, --send-to",
                                 param_hint="outputs")

    def run() -> None:
        from lpip_eval.cli.console import print_written
        from lpip_eval.report.files import Outputs, load_results, send_report, write_outputs

        mail = delivery(send_to, sender, host=smtp_host, port=smtp_port, starttls=starttls,
                        ca_file=smtp_ca_file, timeout=smtp_timeout, user=smtp_user)
        outputs = Outputs(html=report, eml=eml, markdown=markdown, title=title)
        outputs.check(inputs=results)
        loaded = load_results(results)
        write_outputs(loaded, outputs)
        print_written(outputs)
        if mail:
            send(mail, lambda **how: send_report(loaded, title=title, **how))

    guard(run)


def run(
    config: Annotated[Path, typer.Argument(help="The evaluation file (TOML).",
                                           metavar="EVALUATION.toml", show_default=False)],
    fail_on: FailOn = None,
    quiet: Quiet = False,
    allow_outside: Annotated[bool, typer.Option(
        "--allow-outside", help="Let the config file read and write files outside its own "
        "folder and the working directory (only for config files you trust).")] = False,
    backend: BackendOpt = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Run every outcome x design an evaluation file asks for, write all outputs (CI).

    --backend, --scheduler and --workers override the file's [run] backend, scheduler and
    workers; the outputs are byte-identical whatever they are.
    """

    def go() -> int:
        from lpip_eval.cli.console import batch_progress, error_console
        from lpip_eval.runs.batch import evaluation_count, run_evaluation
        from lpip_eval.runs.config import load_config

        loaded = load_config(config, allow_outside=allow_outside)
        execution = {"backend": backend, "scheduler": scheduler, "workers": workers}
        chosen = backend_of(execution, quiet=quiet, default=loaded.run.execution)
        with batch_progress(evaluation_count(loaded), enabled=not quiet) as progress:
            batch = run_evaluation(loaded, progress=progress, fail_on=tuple(fail_on or ()),
                                   backend=chosen)
        err = error_console()
        for evaluation in batch.evaluations:
            if evaluation.error:
                err.print(f"Error: {evaluation.outcome} x {evaluation.method}: "
                          f"{evaluation.error}", markup=False, highlight=False, soft_wrap=True)
            for gate in evaluation.gates:
                err.print(f"Gate tripped: {evaluation.outcome} x {evaluation.method}: "
                          f"{gate.message}", markup=False, highlight=False, soft_wrap=True)
        for plan in batch.plans:
            if plan.error:
                err.print(f"Error: {plan.outcome} plan: {plan.error}", markup=False,
                          highlight=False, soft_wrap=True)
            for gate in plan.gates:
                err.print(f"Gate tripped: {plan.outcome} plan: {gate.message}", markup=False,
                          highlight=False, soft_wrap=True)
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


def schema(
    kind: Annotated[str, typer.Argument(
        help="Which JSON document: result (the --json of did, synth, match), plan, or "
        "digest.")] = "result",
) -> None:
    """Print the JSON Schema of lpip-eval's result, plan or digest JSON (for CI checks)."""

    def go() -> None:
        import json

        from lpip_eval.errors import UsageError, closest

        kinds = ("result", "plan", "digest")
        if kind not in kinds:
            raise UsageError(f"schema: unknown document '{kind}'",
                             hint=closest(kind, list(kinds)))
        if kind == "result":
            from lpip_eval.methods.registry import result_schema

            document = result_schema()
        else:
            from importlib import resources

            text = resources.files("lpip_eval.results").joinpath(
                f"schema/{kind}.schema.json").read_text("utf-8")
            document = json.loads(text)
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))

    guard(go)

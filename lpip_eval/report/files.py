"""Result files: which outputs to write, writing them, reading saved results, sending them.

Rendering and writing only; nothing here prints (the terminal is
:mod:`lpip_eval.cli.console`). Used by the CLI and by config runs (``runs/batch.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpip_eval.errors import DataError
from lpip_eval.files import check_outputs, write_all


@dataclass(frozen=True)
class Outputs:
    """Which files an estimating or report command writes ('-' = stdout)."""

    json: str | None = None
    html: str | None = None
    eml: str | None = None
    markdown: str | None = None
    title: str | None = None

    @property
    def to_stdout(self) -> bool:
        return "-" in (self.json, self.markdown)

    @property
    def files(self) -> tuple[str, ...]:
        """The files (not stdout) these outputs write, in the order they are written."""
        return tuple(p for p in (self.json, self.html, self.eml, self.markdown)
                     if p and p != "-")

    def check(self, inputs: Sequence[Path | str] = ()) -> None:
        """Refuse, before any work, outputs that collide with each other or with ``inputs``
        (:func:`lpip_eval.files.check_outputs`; the options are named as on the CLI)."""
        check_outputs({"--json": self.json, "--report": self.html, "--eml": self.eml,
                       "--markdown": self.markdown}, inputs)


def render_outputs(results: list[dict[str, Any]], outputs: Outputs,
                   gates: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, str | bytes]]:
    """The HTML report, e-mail and Markdown that ``outputs`` asks for, rendered in memory as
    ``(path, content)``; ``gates`` (``{gate, message}``) are the tripped gates the reports
    state at the top."""
    if not (outputs.html or outputs.eml or outputs.markdown):
        return []
    from lpip_eval.report.render import render_reports

    return render_reports(results, html=outputs.html, eml=outputs.eml,
                          markdown=outputs.markdown, title=outputs.title, gates=gates)


def write_outputs(results: list[dict[str, Any]], outputs: Outputs,
                  gates: Sequence[Mapping[str, Any]] = ()) -> None:
    """Render every output :func:`render_outputs` makes, then write them all or none."""
    write_all(render_outputs(results, outputs, gates))


def load_results(paths: list[Path]) -> list[dict[str, Any]]:
    """Read result JSON files and check each against the published schema (exit 3 if not)."""
    import jsonschema

    from lpip_eval.methods.registry import result_schema

    validator = jsonschema.Draft202012Validator(result_schema())
    loaded = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: file not found", hint="give a file written with --json") \
                from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})",
                            hint="give a file written with --json") from None
        except RecursionError:
            raise DataError(f"{path}: nested too deeply to be a result",
                            hint="give a file written with --json") from None
        except OSError as exc:  # a folder, no permission
            raise DataError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})",
                            hint="give a result file written with --json") from None
        error = next(iter(sorted(validator.iter_errors(data), key=lambda e: e.path)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "top level"
            raise DataError(f"{path}: not an lpip-eval result ({where}: {error.message})",
                            hint="give a file written by lpip-eval --json") from None
        loaded.append(data)
    return loaded


def send_report(results: list[dict[str, Any]], *, title: str | None, sender: Any,
                to: Sequence[Any], **smtp: Any) -> None:
    """Build the e-mail for ``results`` and send it over SMTP (``smtp``: the keyword
    arguments of :func:`lpip_eval.report.email.send_message`)."""
    from lpip_eval.report.charts import render_charts
    from lpip_eval.report.context import build_context
    from lpip_eval.report.email import build_message, send_message

    context = build_context(results, title=title)
    message = build_message(context, render_charts(context), sender=sender, to=to)
    send_message(message, **smtp)



"""Rendering reports from Jinja2 templates; the templates are found by :func:`templates_dir`.

Three environments share one template folder, each with its own escaping, so no value from
the data (area names, codes, file names) can become markup in any output:

- HTML (``*.html.j2``): Jinja2 autoescaping, plus a Content-Security-Policy in the file;
- Markdown (``*.md.j2``): every ``{{ ... }}`` goes through :func:`md_escape` (the ``finalize``
  hook), so ``<``, ``>``, ``&``, ``|``, backticks, emphasis and link brackets are text;
  only values wrapped by the ``code_block``/``html`` filters are exempt;
- plain text (``*.txt.j2``): no escaping (it is text), wrapped at 72 columns by ``wrap``.

All use ``StrictUndefined``: a key missing from the context is an error, not a blank.
"""

from __future__ import annotations

import base64
import functools
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEXT_WIDTH = 72


def templates_dir() -> Path:
    """The templates folder: ``lpip_eval/templates`` in a wheel, ``templates/`` in a checkout."""
    for candidate in (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("lpip-eval's templates folder is missing from the installation")


# --- filters -------------------------------------------------------------------------------

class MdSafe(str):
    """Markdown that a filter has already made safe (skips :func:`md_escape`)."""

    __slots__ = ()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$<>&])")
# A value placed where a line starts could open a heading, list item or setext underline.
_MD_LINE_START = re.compile(r"^(?:#{1,6}|[+\-]|\d{1,9}[.)]|=+|-+)(?=\s|$)")


def md_escape(value: Any) -> str:
    """A data value as literal Markdown text (GitHub-flavoured; safe in table cells).

    Markdown punctuation and the HTML-significant ``<``, ``>`` and ``&`` are backslash-escaped
    (CommonMark 0.31, section 2.4: any ASCII punctuation may be), so ``<script>`` is text and
    "Abadie, Diamond & Hainmueller" reads as written, never ``&amp;`` (issue 13); line breaks
    become spaces and a leading list/heading marker is neutralised.
    """
    if isinstance(value, MdSafe):
        return value
    text = " ".join(str(value).split()) if value is not None else ""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    match = _MD_LINE_START.match(text)
    if match:
        end = match.end()
        text = (text[:end - 1] + "\\" + text[end - 1:]) if text[0].isdigit() else "\\" + text
    return text


def md_html(value: Any) -> MdSafe:
    """A value for an HTML block inside Markdown (e.g. ``<summary>``): entity-escaped only."""
    return MdSafe(escape(" ".join(str(value).split())))


def md_code_block(value: Any, lang: str = "") -> MdSafe:
    """A fenced code block whose fence is longer than any backtick run in ``value``."""
    text = str(value).replace("\r\n", "\n").rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MdSafe(f"{fence}{lang}\n{text}\n{fence}")


def wrap(value: Any, width: int = TEXT_WIDTH, indent: str = "",
         hanging: str | None = None) -> str:
    """Plain text wrapped at ``width`` columns; ``indent`` starts the first line, ``hanging``
    (default: as many spaces) the others. Words longer than a line are not broken."""
    rest = " " * len(indent) if hanging is None else hanging
    text = re.sub(r"\s*[\r\n]+\s*", " ", str(value)).strip()
    if not text:
        return indent.rstrip()
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


def wrap_command(value: Any, width: int = TEXT_WIDTH, indent: str = "    ") -> str:
    """A shell command wrapped with `` \\`` continuations, so it can still be pasted."""
    lines = textwrap.wrap(" ".join(str(value).split()), width=width - len(indent) - 2,
                          initial_indent="", subsequent_indent="  ",
                          break_long_words=False, break_on_hyphens=False)
    return " \\\n".join(indent + line for line in lines)


def rule(text: Any, char: str = "=") -> str:
    """An underline as long as ``text`` (plain-text headings)."""
    return char * len(str(text))


def _md_finalize(value: Any) -> str:
    return md_escape(value)


def plural(noun: Any, count: int) -> str:
    """'1 pilot area', '2 pilot areas': never 'area(s)' or '1 areas' (issue 13)."""
    return f"{noun}" if count == 1 else f"{noun}s"


_FREQUENCY_WORDS = {"year": "yearly", "quarter": "quarterly", "month": "monthly",
                    "financial-year": "by financial year", "date": "by date",
                    "index": "by period number"}


def _frequency_words(frequency: Any) -> str:
    """How often the data was observed, for prose: 'quarter' -> 'quarterly'."""
    return _FREQUENCY_WORDS.get(str(frequency), str(frequency))


def _area_label(area: Mapping[str, Any]) -> str:
    name, code = area.get("name") or "", area.get("code") or ""
    return f"{name} ({code})" if name and name != code else str(code)


def _sentence(text: str) -> str:
    """A note as a sentence: capital first letter, one full stop."""
    from lpip_eval.report.words import sentence_case

    return sentence_case(str(text)).rstrip(". ") + "."


def _common(env: Environment) -> Environment:
    from lpip_eval.report.words import sentence_case

    env.filters.update(capitalize=sentence_case, sentence=_sentence)  # l_homicide: as given
    env.filters.update(wrap=wrap, wrap_command=wrap_command, rule=rule,
                       plural=plural, area_label=_area_label,
                       frequency_words=_frequency_words)
    return env


@functools.cache
def html_environment() -> Environment:
    """Autoescaping environment for ``*.html.j2`` templates."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"),
                                     default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return _common(env)


@functools.cache
def markdown_environment() -> Environment:
    """Environment for ``*.md.j2``: every expression is Markdown-escaped on output."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()), autoescape=False, finalize=_md_finalize,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(code_block=md_code_block, html=md_html)
    return _common(env)


@functools.cache
def text_environment() -> Environment:
    """Environment for ``*.txt.j2`` (plain text: nothing to escape)."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()), autoescape=False,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return _common(env)


# --- rendering -----------------------------------------------------------------------------

def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# The context's ``kind`` picks the templates: a report of results, or the hub digest.
TEMPLATES = {
    "report": {"html": "report.html.j2", "email": "email.html.j2", "md": "report.md.j2",
               "txt": "report.txt.j2"},
    "digest": {"html": "digest.html.j2", "email": "digest.email.html.j2",
               "md": "digest.md.j2", "txt": "digest.txt.j2"},
    "plan": {"html": "plan.html.j2", "email": "plan.email.html.j2", "md": "plan.md.j2",
             "txt": "plan.txt.j2"},
}


def _render(env: Environment, part: str, context: Mapping[str, Any], **extra: Any) -> str:
    name = TEMPLATES[str(context.get("kind", "report"))][part]
    return env.get_template(name).render({**context, **extra})


def render_html(context: Mapping[str, Any], charts: Mapping[str, bytes]) -> str:
    """The standalone HTML report: inline CSS, charts as data URIs, no scripts."""
    images = {key: data_uri(png) for key, png in charts.items()}
    return _render(html_environment(), "html", context, images=images)


# A start tag as css-inline writes it: attribute values double-quoted, with no raw '"' inside
# (but raw '<' and '>'); text never holds a raw '<', so every '<' + letter starts a tag.
_START_TAG = re.compile(r'<[a-zA-Z][^\s/>]*(?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*\s*/?>')
_ATTRIBUTE_VALUE = re.compile(r'="([^"]*)"')


def _escape_attribute_values(html: str) -> str:
    """``<`` and ``>`` in attribute values as entities. css-inline serialises attributes the
    way HTML5 did until 2025 (only ``&`` and ``"`` escaped), so a chart's alt text naming a
    hostile outcome would carry a raw ``<script>`` into the e-mail; harmless to an HTML
    parser, but mail filters and sanitisers are not all HTML parsers."""
    def tag(match: re.Match[str]) -> str:
        return _ATTRIBUTE_VALUE.sub(
            lambda v: '="' + v.group(1).replace("<", "&lt;").replace(">", "&gt;") + '"',
            match.group(0))
    return _START_TAG.sub(tag, html)


def render_email_html(context: Mapping[str, Any], cids: Mapping[str, str], *,
                      compact: bool = False) -> str:
    """The e-mail's HTML part: 600 px table layout, CSS inlined, charts as ``cid:`` images.

    ``cids`` maps chart keys (``"0-paths"``) to Content-IDs without angle brackets.
    ``compact`` leaves out the lists of comparison areas and gives each result's details as
    one line instead of a table (for the size budget).
    """
    import css_inline

    images = {key: f"cid:{cid}" for key, cid in cids.items()}
    html = _render(html_environment(), "email", context, images=images,
                   compact=compact)
    inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False,
                                    keep_at_rules=False, load_remote_stylesheets=False)
    return _escape_attribute_values(str(inliner.inline(html)))


def render_markdown(context: Mapping[str, Any]) -> str:
    """GitHub-flavoured Markdown for CI job summaries and pull-request comments."""
    return _render(markdown_environment(), "md", context)


def render_text(context: Mapping[str, Any]) -> str:
    """The plain-text e-mail part, wrapped at 72 columns."""
    return _render(text_environment(), "txt", context)


def write_reports(results: list[dict[str, Any]], *, html: str | None, eml: str | None,
                  markdown: str | None, title: str | None = None,
                  sender: str | None = None, to: Sequence[str] = (),
                  chart_renderer: Callable[[dict[str, Any]], dict[str, bytes]] | None = None,
                  gates: Sequence[Mapping[str, Any]] = ()) -> None:
    """Render the requested outputs of ``results`` and write them all or none (``'-'`` =
    stdout); the arguments are those of :func:`render_reports`."""
    from lpip_eval.files import write_all

    write_all(render_reports(results, html=html, eml=eml, markdown=markdown, title=title,
                             sender=sender, to=to, chart_renderer=chart_renderer, gates=gates))


def render_reports(results: list[dict[str, Any]], *, html: str | None, eml: str | None,
                   markdown: str | None, title: str | None = None,
                   sender: str | None = None, to: Sequence[str] = (),
                   chart_renderer: Callable[[dict[str, Any]], dict[str, bytes]] | None = None,
                   gates: Sequence[Mapping[str, Any]] = ()) -> list[tuple[str, str | bytes]]:
    """The requested outputs of ``results`` as ``(path, content)``, rendered in memory.

    ``gates``: the gates that tripped (``{gate, message}``), shown at the top of the report.
    The context and the charts are made once; nothing is written here, so a rendering failure
    (an e-mail over its size limit, say) leaves no file behind. The ``.eml`` is marked as a
    draft (``X-Unsent: 1``) so that mail programs open it ready to send.
    """
    from lpip_eval.report.context import build_context

    context = build_context(results, title=title, gates=gates)
    charts: dict[str, bytes] = {}
    if html or eml:
        if chart_renderer is None:
            from lpip_eval.report.charts import render_charts

            chart_renderer = render_charts
        charts = chart_renderer(context)
    outputs: list[tuple[str, str | bytes]] = []
    if html:
        outputs.append((html, render_html(context, charts)))
    if eml:
        from lpip_eval.report.email import build_message, message_bytes

        message = build_message(context, charts, sender=sender, to=list(to), draft=True)
        outputs.append((eml, message_bytes(message)))
    if markdown:
        outputs.append((markdown, render_markdown(context)))
    return outputs

"""Report rendering: context -> standalone HTML, e-mail HTML, Markdown and plain text.

Results come from ``estimate_did`` on the shipped example (tests/report_examples.py); charts
are the real ``render_charts`` PNGs. Markdown is checked by rendering it the way GitHub
would (markdown-it-py, CommonMark + tables, raw HTML allowed; markdown-it-py is installed
with rich) and inspecting the HTML that comes out.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from report_examples import (
    IMG,
    PAYLOADS,
    SCRIPT,
    example_result,
    hostile_codes_result,
    hostile_names_result,
)
from report_fixtures import did_event_study, did_twfe, hostile, synth, triangulated

from lpip_eval.report import render
from lpip_eval.report.charts import render_charts
from lpip_eval.report.context import build_context
from lpip_eval.report.email import chart_cids
from lpip_eval.report.render import (
    md_code_block,
    md_escape,
    render_email_html,
    render_html,
    render_markdown,
    render_text,
    templates_dir,
    write_reports,
)

TEMPLATES = ("report.html.j2", "email.html.j2", "report.md.j2", "report.txt.j2")


class Markup(HTMLParser):
    """Every start tag with its attributes, and the document's text (entities decoded)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def github_html(markdown: str) -> str:
    """Markdown rendered as GitHub does for these constructs (tables, raw HTML blocks)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(
        markdown)


def assert_inert(html: str, payloads: tuple[str, ...] = PAYLOADS) -> Markup:
    """No script element, no event-handler attribute, no injected <img>; payloads as text."""
    doc = Markup(html)
    assert "<script" not in html.lower()
    assert not doc.named("script")
    handlers = [(tag, key) for tag, attrs in doc.tags for key in attrs if key.startswith("on")]
    assert handlers == []
    assert all(attrs.get("src") != "x" for attrs in doc.named("img"))
    for payload in payloads:
        assert " ".join(payload.split()) in doc.text
    return doc


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    return {design: example_result(design) for design in ("twfe", "event-study")}


@pytest.fixture(scope="module")
def context(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return build_context([results["event-study"]])


@pytest.fixture(scope="module")
def charts(context: dict[str, Any]) -> dict[str, bytes]:
    return render_charts(context)


@pytest.fixture(scope="module")
def html(context: dict[str, Any], charts: dict[str, bytes]) -> str:
    return render_html(context, charts)


# --- environments and templates --------------------------------------------------------

def test_templates_are_found_and_escaping_is_on_for_html() -> None:
    for name in TEMPLATES:
        assert (templates_dir() / name).is_file()
    env = render.html_environment()
    assert env.autoescape("report.html.j2") is True  # type: ignore[operator]
    assert env.autoescape("email.html.j2") is True  # type: ignore[operator]
    assert env.from_string("{{ x }}").render(x=SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render.markdown_environment().from_string("{{ x }}").render(x="a|<b>") == \
        "a\\|\\<b\\>"


def test_missing_context_key_is_an_error(context: dict[str, Any]) -> None:
    from jinja2 import UndefinedError

    broken = {k: v for k, v in context.items() if k != "caveats"}
    with pytest.raises(UndefinedError):
        render_markdown(broken)


# --- standalone HTML -------------------------------------------------------------------

def test_html_is_standalone(html: str, charts: dict[str, bytes]) -> None:
    doc = Markup(html)
    assert doc.named("html") == [{"lang": "en-GB"}]
    assert not doc.named("script") and not doc.named("link") and not doc.named("iframe")
    # No reference outside the file: every src/href is a data URI or an in-page anchor.
    refs = [value for _, attrs in doc.tags for key, value in attrs.items()
            if key in ("src", "href", "srcset", "action", "poster") and value]
    assert refs and all(value.startswith("data:image/png;base64,") for value in refs)
    assert not re.search(r"url\(|@import|https?://", html.split("<body", maxsplit=1)[0])
    csp = [a for a in doc.named("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in str(csp[0]["content"])
    assert "@media print" in html
    # Every chart is embedded byte for byte, with alt text.
    images = doc.named("img")
    assert [base64.b64decode(str(a["src"]).split(",", 1)[1]) for a in images] == \
        list(charts.values())
    assert all(a.get("alt") and len(str(a["alt"])) > 40 for a in images)


def test_html_tables_have_headers_and_figures_captions(html: str) -> None:
    doc = Markup(html)
    assert html.count("<table") == html.count("<caption")
    assert html.count("<table") >= 5
    assert all(a.get("scope") in ("col", "row") for a in doc.named("th"))
    assert html.count("<figure>") == html.count("<figcaption>") == 2


def test_html_content_and_order(html: str, context: dict[str, Any]) -> None:
    text = Markup(html).text
    section = context["sections"][0]
    # The headline comes first, then the effect and its range, then the evidence.
    order = [context["headline"], section["estimate"]["att"],
             f"{section['estimate']['ci_level']} range: {section['estimate']['ci_low']} to "
             f"{section['estimate']['ci_high']}", "How strong is the evidence?",
             "What the data show", "Assumptions and checks", "What was compared", "Caveats",
             "Where the numbers came from"]
    positions = [text.find(item) for item in order]
    assert -1 not in positions and positions == sorted(positions)
    for reason in context["evidence"]["reasons"]:
        assert reason in text
    for check in section["checks"]:
        assert check["verdict"] in text and check["result"] in text
    for area in section["treated"] + section["comparison_listed"]:  # at most 20
        assert area["code"] in text and area["name"] in text
    for chart in section["charts"]:
        for row in chart["rows"]:
            assert " ".join(row) in text  # the numbers behind each chart, as a table
    for caveat in context["caveats"]:
        assert caveat in text
    prov = context["provenance"]
    for item in prov["inputs"]:
        assert item["sha256"] in text and item["path"] in text
    assert prov["command"] in text and str(prov["seed"]) in text
    for name, version in prov["packages"]:
        assert f"{name} {version}" in text


def test_missing_chart_image_still_renders_its_description(context: dict[str, Any]) -> None:
    doc = Markup(render_html(context, {}))
    assert doc.named("img") == []
    assert f"Chart not drawn: {context['sections'][0]['charts'][0]['alt']}" in doc.text


def test_several_results_get_a_section_each(results: dict[str, dict[str, Any]]) -> None:
    context = build_context([results["twfe"], results["event-study"]])
    text = Markup(render_html(context, {})).text
    assert "Result 1: Employment rate (Two-way fixed effects" in text
    assert "Result 2: Employment rate (Event-study" in text
    assert "Result 2:" in render_markdown(context) and "RESULT 2:" in render_text(context)


# --- e-mail HTML -----------------------------------------------------------------------

def test_email_html_is_inlined_table_layout_with_cid_images(context: dict[str, Any],
                                                            charts: dict[str, bytes]) -> None:
    cids = chart_cids(charts)
    email_html = render_email_html(context, cids)
    doc = Markup(email_html)
    assert not doc.named("style") and not doc.named("script") and "data:" not in email_html
    assert doc.named("html") == [{"lang": "en-GB"}]
    assert [a["src"] for a in doc.named("img")] == [f"cid:{cids[k]}" for k in charts]
    assert all(a.get("alt") for a in doc.named("img"))
    frames = [a for a in doc.named("table") if a.get("width") == "600"]
    assert len(frames) == 1 and frames[0].get("bgcolor") == "#ffffff"
    # CSS is inlined: text elements carry their font in a style attribute.
    for tag in ("h1", "h2", "p", "li", "td"):
        assert all("font-family" in str(a.get("style")) for a in doc.named(tag)), tag
    assert context["headline"] in doc.text
    assert all(area["name"] in doc.text for area in context["sections"][0]["comparison_listed"])


def test_email_html_compact_leaves_out_comparison_list(context: dict[str, Any]) -> None:
    text = Markup(render_email_html(context, {}, compact=True)).text
    assert "36 areas, listed in the JSON result" in text
    assert "Hartlepool" not in text
    assert "Bath and North East Somerset" in text  # pilot areas stay


# --- Markdown --------------------------------------------------------------------------

def test_markdown_renders_as_intended(context: dict[str, Any]) -> None:
    markdown = render_markdown(context)
    assert markdown.startswith(f"# {context['title']}\n")
    out = github_html(markdown)
    doc = Markup(out)
    assert not doc.named("script")
    assert context["headline"] in doc.text
    assert context["evidence"]["label"] in doc.text
    # Tables survive GitHub's parser with the right shape (| inside values is escaped).
    assert out.count("<table>") == 1 + 1 + 1 + 1 + 2 + 1  # effect, checks, areas, details,
    #                                                        2 charts, provenance
    assert "<details>" in out and "employment_rate" in doc.text
    assert "west_of_england/pilot.csv" in doc.text  # underscores escaped, shown as typed
    assert "<pre><code class=\"language-sh\">lpip-eval did" in out


@pytest.mark.parametrize(("value", "expected"), [
    ("a|b", "a\\|b"), ("<b>&", "\\<b\\>\\&"), ("`x`", "\\`x\\`"), ("*y*", "\\*y\\*"),
    ("[l](u)", "\\[l\\](u)"), ("# h", "\\# h"), ("- x", "\\- x"), ("1. x", "1\\. x"),
    ("two\nlines", "two lines"), ("−1.5", "−1.5"), ("+1.889", "+1.889"), ("$x$", "\\$x\\$"),
])
def test_md_escape(value: str, expected: str) -> None:
    assert md_escape(value) == expected


def test_md_code_block_fence_outgrows_backticks() -> None:
    block = md_code_block("echo ```` hi")
    assert block.startswith("`````\n") and block.endswith("\n`````")
    assert "<code>echo ```` hi\n</code>" in github_html(block)


# --- plain text ------------------------------------------------------------------------

def test_text_is_wrapped_at_72_columns(context: dict[str, Any]) -> None:
    text = render_text(context)
    assert text.startswith(context["title"] + "\n")
    for line in text.splitlines():
        assert len(line) <= 72 or " " not in line.strip(), line  # only unbreakable tokens
    flat = " ".join(text.split())
    assert context["headline"] in flat
    assert all(reason in flat for reason in context["evidence"]["reasons"])
    command = re.search(r"Command:\n((?:    .*\n)+)", text)
    assert command is not None
    assert " ".join(command.group(1).replace("\\\n", " ").split()) == \
        context["provenance"]["command"]


# --- escaping --------------------------------------------------------------------------

@pytest.mark.parametrize("make", [hostile_names_result, hostile_codes_result],
                         ids=["hostile-area-names", "hostile-area-codes"])
def test_hostile_values_are_text_in_every_output(make: Any, tmp_path: Path) -> None:
    result = make(tmp_path)
    context = build_context([result])
    charts = {key: b"\x89PNG stand-in" for key in
              (f"0-{c['id']}" for c in context["sections"][0]["charts"])}
    assert_inert(render_html(context, charts))
    assert_inert(render_email_html(context, chart_cids(charts)))
    text = render_text(context)
    assert all(payload in " ".join(text.split()) for payload in PAYLOADS)  # text is text
    markdown = render_markdown(context)
    outside_code = re.sub(r"^```sh\n.*?^```$", "", markdown, flags=re.S | re.M)
    # backslash escapes, not entities (issue 13): no tag can open, "&" reads as "&"
    assert re.search(r"(?<!\\)<(?:script|img|/script)", outside_code) is None
    assert "\\<script\\>alert(1)\\</script\\>" in outside_code
    assert "&lt;" not in outside_code and "&amp;" not in outside_code
    assert_inert(github_html(markdown))


def test_hostile_file_name_is_escaped(tmp_path: Path) -> None:
    result = hostile_names_result(tmp_path)
    html = render_html(build_context([result]), {})
    assert f"{IMG}.csv" in Markup(html).text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;.csv" in html


# --- determinism and writing -----------------------------------------------------------

def _write_all(folder: Path, design: str) -> dict[str, bytes]:
    result = example_result(design)  # estimated again from the data, same seed
    paths = {"html": folder / "report.html", "eml": folder / "report.eml",
             "markdown": folder / "report.md"}
    write_reports([result], html=str(paths["html"]), eml=str(paths["eml"]),
                  markdown=str(paths["markdown"]))
    charts = render_charts(build_context([result]))
    out = {kind: path.read_bytes() for kind, path in paths.items()}
    out.update({f"png {key}": png for key, png in charts.items()})
    return out


@pytest.mark.parametrize("design", ["twfe", "event-study"])
def test_same_inputs_and_seed_give_identical_bytes(design: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _write_all(tmp_path / "a", design), _write_all(tmp_path / "b", design)
    assert first.keys() == second.keys()
    assert len(first) >= 4
    for kind in first:
        assert first[kind] == second[kind], kind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == \
        ["report.eml", "report.html", "report.md"]  # no temporary files left behind


def test_markdown_dash_goes_to_stdout(results: dict[str, dict[str, Any]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def no_charts(_: dict[str, Any]) -> dict[str, bytes]:
        raise AssertionError("charts are not needed for Markdown")

    write_reports([results["twfe"]], html=None, eml=None, markdown="-",
                  chart_renderer=no_charts)
    assert capsys.readouterr().out == render_markdown(build_context([results["twfe"]]))


def test_title_option_reaches_every_output(results: dict[str, dict[str, Any]],
                                           tmp_path: Path) -> None:
    html, markdown = tmp_path / "r.html", tmp_path / "r.md"
    write_reports([results["twfe"]], html=str(html), eml=None, markdown=str(markdown),
                  title="Bristol <pilot> & friends", chart_renderer=lambda _: {})
    assert "<title>Bristol &lt;pilot&gt; &amp; friends</title>" in html.read_text()
    assert markdown.read_text().startswith("# Bristol \\<pilot\\> \\& friends\n")


@pytest.mark.parametrize("make", [did_twfe, did_event_study, synth, hostile])
def test_hand_built_results_render_in_every_format(make: Any) -> None:
    """Designs the example does not cover: weights (synthetic control), no unit, hostile."""
    context = build_context([make()])
    html = render_html(context, {})
    email_html = render_email_html(context, {})
    markdown, text = render_markdown(context), render_text(context)
    doc = Markup(html)
    assert not doc.named("script") and context["headline"] in doc.text
    section = context["sections"][0]
    if section["has_weights"]:
        for area in section["comparison"]:
            assert " ".join([area["name"] or area["code"], area["code"], area["weight"]]) \
                in doc.text
            label = f"{area['name']} ({area['code']})" if area["name"] else area["code"]
            assert f"{label} {area['weight']}" in Markup(email_html).text
    if make is hostile:
        assert_inert(html)
        assert_inert(email_html)
        assert_inert(github_html(markdown))
    assert context["subject"] and text.endswith("\n") and markdown.endswith("\n")


# --- several designs compared, gates tripped -----------------------------------------------

GATES = [{"gate": "pretrend-rejected",
          "message": "Gate 'pretrend-rejected' tripped for the employment rate (Two-way fixed "
                     "effects difference-in-differences): the pre-trend test rejected parallel "
                     "trends (p = 0.010)."},
         {"gate": "effect-crosses-zero",
          "message": "Gate 'effect-crosses-zero' tripped for the employment rate (Matched "
                     "comparison areas): the 95% range includes zero."}]


@pytest.fixture(scope="module")
def combined() -> dict[str, Any]:
    """Three designs on one outcome (they disagree) and two tripped gates."""
    return build_context(triangulated(), gates=GATES)


@pytest.fixture(scope="module")
def combined_charts(combined: dict[str, Any]) -> dict[str, bytes]:
    return render_charts(combined)


def test_combined_html_shows_the_designs_compared(combined: dict[str, Any],
                                                 combined_charts: dict[str, bytes]) -> None:
    html = render_html(combined, combined_charts)
    doc = Markup(html)
    text = doc.text
    (entry,) = combined["triangulation"]
    # the forest plot first among the images, byte for byte, with its alt text
    images = doc.named("img")
    assert base64.b64decode(str(images[0]["src"]).split(",", 1)[1]) == \
        combined_charts["tri-0-forest"]
    assert images[0]["alt"] == entry["chart"]["alt"]
    assert [base64.b64decode(str(a["src"]).split(",", 1)[1]) for a in images] == \
        list(combined_charts.values())  # the document shows the charts in their order
    for row in entry["table"]:
        assert " ".join([row["design"], row["effect"], row["range"], row["p_value"],
                         row["evidence"]]) in text
    assert "Designs disagree " + entry["agreement"]["statement"] in text
    assert entry["overlap"]["statement"] in text
    assert "Hartlepool E06000001 0.700 Yes" in text and "E06000003 not a donor Yes" in text
    assert "Combined evidence: Level 2 of 5" in text
    # order: gates box, headline box (with the agreement), designs compared, evidence
    order = ["Gates tripped (2)", GATES[0]["message"], GATES[1]["message"], "In short",
             combined["headline"], entry["agreement"]["statement"], "Designs compared",
             "How strong is the evidence?", "Result 1:"]
    positions = [text.find(item) for item in order]
    assert -1 not in positions and positions == sorted(positions)
    # accessibility: every table captioned, every header cell scoped, figures captioned
    assert html.count("<table") == html.count("<caption")
    assert all(a.get("scope") in ("col", "row") for a in doc.named("th"))
    assert html.count("<figure>") == html.count("<figcaption>")


def test_combined_email_markdown_and_text(combined: dict[str, Any],
                                          combined_charts: dict[str, bytes]) -> None:
    (entry,) = combined["triangulation"]
    sentences = [entry["agreement"]["statement"], entry["overlap"]["statement"],
                 *(g["message"] for g in GATES)]
    cids = chart_cids(combined_charts)
    email_doc = Markup(render_email_html(combined, cids))
    assert email_doc.named("img")[0]["src"] == f"cid:{cids['tri-0-forest']}"
    assert email_doc.named("img")[0]["alt"] == entry["chart"]["alt"]
    assert all(a.get("scope") in ("col", "row") for a in email_doc.named("th"))
    assert email_doc.text.index("Gates tripped (2)") < email_doc.text.index("Designs compared")
    markdown = render_markdown(combined)
    md_doc = Markup(github_html(markdown))
    assert markdown.split("\n")[2].startswith("> **Gates tripped (2)**")
    assert "<th>Design</th>" in github_html(markdown)
    text = render_text(combined)
    assert text.index("GATES TRIPPED (2)") < text.index("DESIGNS COMPARED") < \
        text.index("HOW STRONG IS THE EVIDENCE?")
    for line in text.splitlines():
        assert len(line) <= 72 or " " not in line.strip(), line
    for doc_text in (email_doc.text, md_doc.text, " ".join(text.split())):
        assert all(sentence in doc_text for sentence in sentences)
        assert "Combined evidence: Level 2 of 5" in doc_text


def test_no_gates_box_and_no_comparison_for_a_single_result(context: dict[str, Any]) -> None:
    for doc_text in (Markup(render_html(context, {})).text,
                     Markup(render_email_html(context, {})).text,
                     render_markdown(context), render_text(context)):
        assert "tripped" not in doc_text.lower()
        assert "designs compared" not in doc_text.lower()


def _hostile_triangulated() -> list[dict[str, Any]]:
    results = triangulated()
    for result in results:
        result["outcome"], result["outcome_label"] = "y<b>", SCRIPT
        result["diagnostics"]["unit_names"] = {
            "E06000001": IMG, "E06000002": SCRIPT + " & | `x` *y*",
            "E06000003": "[link](http://x)"}
    results[1]["design"] = IMG
    return results


def test_hostile_values_are_text_in_the_designs_compared_and_gates_box() -> None:
    gates = [{"gate": IMG, "message": f"Gate tripped for the {SCRIPT}: {IMG}."}]
    context = build_context(_hostile_triangulated(), gates=gates)
    (entry,) = context["triangulation"]
    assert IMG in entry["overlap"]["statement"]  # the shared donor's name
    charts = {"tri-0-forest": b"\x89PNG stand-in"}
    html_doc = assert_inert(render_html(context, charts))
    assert f"{IMG} E06000001 0.700 Yes" in html_doc.text  # donor/matched table
    email_html = render_email_html(context, chart_cids(charts))
    email_doc = assert_inert(email_html)
    # css-inline writes '<' raw in attributes; the alt text naming the outcome is re-escaped
    assert 'alt="Chart of the estimated effect on the &lt;script&gt;alert(1)&lt;/script&gt; ' \
        in email_html
    assert email_doc.named("img")[0]["alt"] == entry["chart"]["alt"]
    text = " ".join(render_text(context).split())
    assert entry["overlap"]["statement"] in text and gates[0]["message"] in text
    markdown = render_markdown(context)
    outside_code = re.sub(r"^```sh\n.*?^```$", "", markdown, flags=re.S | re.M)
    assert re.search(r"(?<!\\)<(?:script|img|/script)", outside_code) is None
    md_doc = assert_inert(github_html(markdown))
    assert entry["overlap"]["statement"] in md_doc.text and gates[0]["message"] in md_doc.text
    assert "<a " not in github_html(markdown)  # the [link](...) name is not a link


def test_combined_report_files_are_identical_twice(tmp_path: Path) -> None:
    found = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        write_reports(triangulated(), html=str(folder / "r.html"), eml=str(folder / "r.eml"),
                      markdown=str(folder / "r.md"), gates=GATES)
        found.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert list(found[0]) == ["r.eml", "r.html", "r.md"]
    assert found[0] == found[1]
    assert b"Designs compared" in found[0]["r.html"] and b"tri-0-forest." in found[0]["r.eml"]


def test_policymaker_words_in_markdown_and_text() -> None:
    """Issue 13: 'p = &lt; 0.001', 'Abadie, Diamond &amp; Hainmueller', '1 pilot area(s)',
    'compared with 1 areas' and the placebo check's 'Not tested' (which read as a failure)."""
    result = synth()
    result["estimate"]["inference"]["reason"] = "Placebo-in-space (Abadie, Diamond & " \
        "Hainmueller 2010); p < 0.001."
    result["comparison_units"] = result["comparison_units"][:1]
    result["diagnostics"]["checks"] = [{
        "assumption": "The pilot's gap is unusual.", "check": "Placebo-in-space.",
        "result": "rank 1 of 2", "ok": None,
        "verdict": "This is the basis of the p-value and range above."}]
    context = build_context([result])
    markdown, text = render_markdown(context), render_text(context)
    for doc in (markdown, text):
        assert "(s)" not in doc and "1 comparison areas" not in doc
        assert "Not tested" not in doc and "Basis of the range" in doc
        assert "1 pilot area was compared with 1 comparison area" in " ".join(doc.split())
    assert "&amp;" not in markdown and "&lt;" not in markdown
    shown = github_html(markdown)
    assert "Abadie, Diamond &amp; Hainmueller" in shown  # '&' as text once rendered
    assert "p &lt; 0.001" in shown


OPTION_OR_PATH = re.compile(r"(?<![\w-])--[a-z]|\b(?:estimate|diagnostics)\.[a-z_]+")


def _untested_staggered() -> dict[str, Any]:
    """TWFE on staggered starts with no pre-trend test: the evidence reasons and the check
    row name the designs that would test it (in words, not flags)."""
    result = did_twfe()
    result["diagnostics"]["pretrend_test"] = None
    result["diagnostics"]["pre_periods"] = 6
    result["diagnostics"]["treatment_starts"] = {"A": "2021Q3", "B": "2022Q1"}
    return result


@pytest.mark.parametrize("make", [did_twfe, did_event_study, synth, triangulated,
                                  _untested_staggered])
def test_no_option_names_or_json_paths_in_the_body(make: Any) -> None:
    """Issue 13: "estimate.se is null: ...", "consider --donors-nearest K or --penalty" in the
    policymaker's e-mail. Analysts' text goes to the Technical notes at the end."""
    made = make()
    results = made if isinstance(made, list) else [made]
    results[0]["warnings"] = ["estimate.se is null: randomization inference gives no standard "
                              "error", "many donors; consider --donors-nearest K or --penalty"]
    context = build_context(results)
    outputs = {"markdown": render_markdown(context), "text": render_text(context),
               "html": render_html(context, {}),
               "email": render_email_html(context, {})}
    for name, raw in outputs.items():
        doc = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", raw, flags=re.S))
        cut = re.search(r"Technical notes|TECHNICAL NOTES", doc)
        assert cut is not None, name
        body, notes = doc[:cut.start()], doc[cut.start():]
        assert OPTION_OR_PATH.search(body) is None, (name, OPTION_OR_PATH.search(body))
        assert "--donors-nearest" in notes and "estimate.se is null" in notes


def test_long_area_lists_collapse_to_the_areas_that_matter() -> None:
    """Issue 13: 50 states made a 1,600 px wall, and a "Code" column repeated the names."""
    result = synth()
    states = [f"State {i:02d}" for i in range(50)]
    result["comparison_units"] = states
    result["weights"] = [{"unit": u, "weight": w} for u, w in
                         (("State 07", 0.5), ("State 31", 0.3), ("State 44", 0.2))]
    result["diagnostics"]["unit_names"] = {u: u for u in [*states, *result["treated_units"]]}
    context = build_context([result])
    section = context["main"]
    assert [a["code"] for a in section["comparison_listed"]] == ["State 07", "State 31",
                                                                  "State 44"]
    assert section["comparison_more"] == 47 and not section["has_codes"]
    for doc in (render_markdown(context), render_text(context), render_html(context, {}),
                render_email_html(context, {})):
        assert "State 08" not in doc and "State 07" in doc
        assert ">Code<" not in doc and "| Code |" not in doc
        assert "50 comparison areas" in " ".join(doc.split())


def test_tables_of_many_areas_are_cut_to_the_first_rows() -> None:
    """Issue 13: a 30,000-area run wrote a 1.3 MB HTML (every placebo area in a table)."""
    result = synth()
    rows = [[f"Area {i:05d}", "1.0", f"{100 - i / 1000:.3f}"] for i in range(3000)]
    result["diagnostics"]["charts"] = [{
        "id": "synth_placebo", "kind": "placebo", "title": "Gap: pilot and placebo areas",
        "alt": "Placebo gaps.", "columns": ["Area", "Pre-period RMSPE", "Ratio"],
        "rows": rows, "series": {}}]
    context = build_context([result])
    (chart,) = [c for c in context["main"]["charts"] if c["kind"] == "placebo"]
    assert len(chart["rows"]) == 20 and chart["rows_more"] == 2980
    html, markdown = render_html(context, {}), render_markdown(context)
    for doc in (html, markdown):
        assert "Area 00019" in doc and "Area 00020" not in doc
        assert "the JSON result holds the other 2980" in doc
    assert len(html.encode()) < 300_000

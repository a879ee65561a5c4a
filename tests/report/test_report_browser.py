"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` package, which
``.ci/run`` installs) driven by Playwright, with the network disabled.

The page must render without console errors, make no request but for the file itself, show
a non-blank picture, keep every text at a contrast of at least 4.5:1 (WCAG 2.x AA), and a
hostile area name must not run (no dialog, no request for the injected image).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest
from report_examples import example_result, hostile_codes_result, hostile_names_result
from report_fixtures import triangulated

from lpip_eval.report.charts import render_charts
from lpip_eval.report.context import build_context
from lpip_eval.report.email import chart_cids
from lpip_eval.report.render import data_uri, render_email_html, render_html

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

# Lowest WCAG contrast ratio of any visible text node against its effective background.
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const p = c.match(/[\\d.]+/g).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, below) => ({r: top.r * top.a + below.r * (1 - top.a),
    g: top.g * top.a + below.g * (1 - top.a), b: top.b * top.a + below.b * (1 - top.a), a: 1});
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), {r: 255, g: 255, b: 255, a: 1});
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    found.push({text: node.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05)});
  }
  return found;
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's 'chromium' package "
                    "(apt-get install chromium), as .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class Visit:
    """One page load of a local file, offline, with every request and problem recorded."""

    def __init__(self, browser: Any, path: Path, *, width: int = 1000) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(offline=True, java_script_enabled=True,
                                           viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url == self.url:
            route.continue_()
        else:
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(matplotlib.image.imread(io.BytesIO(png), format="png"))


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = build_context([example_result("event-study")])
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(render_html(context, render_charts(context)), encoding="utf-8")
    return path


def test_report_renders_offline_without_errors_or_requests(browser: Any,
                                                           report_file: Path) -> None:
    visit = Visit(browser, report_file)
    try:
        assert visit.errors == []
        assert visit.requests == [visit.url]
        page = visit.page
        assert page.evaluate("document.documentElement.lang") == "en-GB"
        images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, "
                               "i.naturalHeight, i.alt.length])")
        assert len(images) == 2
        assert all(done and w == 560 and h == 340 and alt > 40 for done, w, h, alt in images)
        width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
        assert 600 <= width <= 760  # one readable column
        png = page.screenshot(full_page=True)
        pixels = _pixels(png)
        rgb = (pixels[..., :3] * 255).round().astype(np.uint32)
        colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        assert len(colours) > 50
        assert (pixels[..., :3] < 0.9).any(axis=-1).mean() > 0.02  # not a blank page
        top = _pixels(page.screenshot())  # the first screen shows the headline box
        assert (np.abs(top[..., :3] - [0xEA / 255, 0xF0 / 255, 0xFA / 255]) < 0.01).all(
            axis=-1).mean() > 0.1
    finally:
        visit.close()


def test_report_text_contrast_is_at_least_4_5(browser: Any, report_file: Path) -> None:
    visit = Visit(browser, report_file)
    try:
        found = visit.page.evaluate(CONTRAST_JS)
        assert len(found) > 100
        low = [(f["text"], round(f["ratio"], 2)) for f in found if f["ratio"] < 4.5]
        assert low == []
    finally:
        visit.close()


def test_email_html_contrast_is_at_least_4_5(browser: Any, tmp_path: Path) -> None:
    context = build_context([example_result("twfe")])
    charts = render_charts(context)
    cids = chart_cids(charts)
    html = render_email_html(context, cids)
    for key, cid in cids.items():  # a browser cannot resolve cid:, so show the same PNGs
        html = html.replace(f"cid:{cid}", data_uri(charts[key]))
    path = tmp_path / "email.html"
    path.write_text(html, encoding="utf-8")
    visit = Visit(browser, path, width=700)
    try:
        assert visit.errors == [] and visit.requests == [visit.url]
        low = [(f["text"], round(f["ratio"], 2)) for f in visit.page.evaluate(CONTRAST_JS)
               if f["ratio"] < 4.5]
        assert low == []
        width = visit.page.evaluate("document.querySelector('table[width=\"600\"]')"
                                    ".getBoundingClientRect().width")
        assert width == 600
    finally:
        visit.close()


@pytest.mark.parametrize("kind", ["report", "email"])
def test_combined_report_with_gates_keeps_contrast(browser: Any, tmp_path: Path,
                                                   kind: str) -> None:
    """Designs compared (they disagree: red status) and a gates box, in both HTML forms."""
    gates = [{"gate": "pretrend-rejected", "message": "Gate 'pretrend-rejected' tripped for "
              "the employment rate (difference-in-differences): the pre-trend test rejected "
              "parallel trends (p = 0.010)."}]
    context = build_context(triangulated(), gates=gates)
    charts = render_charts(context)
    if kind == "report":
        html = render_html(context, charts)
    else:
        cids = chart_cids(charts)
        html = render_email_html(context, cids)
        for key, cid in cids.items():
            html = html.replace(f"cid:{cid}", data_uri(charts[key]))
    path = tmp_path / f"{kind}.html"
    path.write_text(html, encoding="utf-8")
    visit = Visit(browser, path, width=1000 if kind == "report" else 700)
    try:
        assert visit.errors == [] and visit.requests == [visit.url]
        body = visit.page.inner_text("body")
        assert "Designs compared" in body and gates[0]["message"] in body
        found = visit.page.evaluate(CONTRAST_JS)
        assert any(f["text"].startswith("Gate 'pretrend-rejected'") for f in found)
        low = [(f["text"], round(f["ratio"], 2)) for f in found if f["ratio"] < 4.5]
        assert low == []
    finally:
        visit.close()


def test_print_layout_renders(browser: Any, report_file: Path) -> None:
    visit = Visit(browser, report_file)
    try:
        visit.page.emulate_media(media="print")
        pdf = visit.page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        assert visit.page.evaluate("getComputedStyle(document.body).maxWidth") == "none"
        assert visit.errors == []
    finally:
        visit.close()


@pytest.mark.parametrize("make", [hostile_names_result, hostile_codes_result],
                         ids=["hostile-area-names", "hostile-area-codes"])
def test_hostile_values_do_not_run(browser: Any, make: Any, tmp_path: Path) -> None:
    context = build_context([make(tmp_path)])
    path = tmp_path / "hostile.html"
    path.write_text(render_html(context, render_charts(context)), encoding="utf-8")
    visit = Visit(browser, path)
    try:
        assert visit.dialogs == []
        assert visit.requests == [visit.url]  # no request for the injected <img src=x>
        assert visit.errors == []
        assert visit.page.evaluate("document.querySelectorAll('script, img[src=\"x\"]')"
                                   ".length") == 0
        body = visit.page.inner_text("body")
        assert "<script>alert(1)</script>" in body
        assert '"><img src=x onerror=alert(1)>' in body
    finally:
        visit.close()


# Text whose box leaves the 640 px window, or is cut off by a box that hides its overflow.
WIDTH = 640
CLIPPED_JS = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (el.closest('details:not([open])') && !el.closest('summary')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width === 0) continue;
      if (r.left < -0.5 || r.right > window.innerWidth + 0.5) {
        out.push(node.textContent.trim().slice(0, 60));
        break;
      }
    }
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['hidden', 'clip'].includes(s.overflowX) && a.scrollWidth > a.clientWidth + 1) {
        out.push('clipped: ' + node.textContent.trim().slice(0, 60));
        break;
      }
    }
  }
  return out;
}
"""


@pytest.mark.parametrize("make", [lambda: [example_result("twfe")], triangulated],
                         ids=["single", "combined"])
def test_email_at_640_px_keeps_every_text_inside_the_window(browser: Any, tmp_path: Path,
                                                            make: Any) -> None:
    """Issue 13: the e-mail read in a 640 px wide window (a phone or a narrow mail pane): no
    horizontal scrolling, every text's box inside the window and none cut off, charts scaled
    to fit; the screenshot is checked for a non-blank picture of that width."""
    context = build_context(make())
    charts = render_charts(context)
    cids = chart_cids(charts)
    html = render_email_html(context, cids)
    for key, cid in cids.items():
        html = html.replace(f"cid:{cid}", data_uri(charts[key]))
    path = tmp_path / "email.html"
    path.write_text(html, encoding="utf-8")
    visit = Visit(browser, path, width=WIDTH)
    try:
        page = visit.page
        assert visit.errors == []
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        assert page.evaluate(CLIPPED_JS) == []
        widths = page.evaluate("[...document.images].map(i => i.getBoundingClientRect().right)")
        assert widths and max(widths) <= WIDTH
        shot = _pixels(page.screenshot(full_page=True))
        assert shot.shape[1] == WIDTH
        assert (shot[..., :3] < 0.9).any(axis=-1).mean() > 0.02
    finally:
        visit.close()

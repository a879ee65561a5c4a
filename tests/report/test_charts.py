"""Charts: chart specs from the real report context -> small, deterministic, e-mail-sized PNGs.

The specs come from ``build_context`` on results of ``estimate_did`` on the shipped example
data (examples/west_of_england, 40 quarters), so the tests exercise the real contract between
``context.py`` and ``charts.py``.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.image
import matplotlib.text
import numpy as np
import pytest

from lpip_eval.data.panel import PanelSpec, load_panel
from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.report import chart_style, charts, charts_design
from lpip_eval.report.chart_style import (
    COMPARISON_COLOUR,
    HEIGHT_PX,
    PILOT_COLOUR,
    PLACEBO_COLOUR,
    REFERENCE_COLOUR,
    TEXT_COLOUR,
    WIDTH_PX,
)
from lpip_eval.report.charts import CHART_KINDS, render_chart, render_charts
from lpip_eval.report.context import build_context

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "west_of_england"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE_BUDGET = 40_000  # bytes per chart for 40 periods (e-mail friendly)


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    """JSON form of the example evaluation, one per design (cluster inference: fast)."""
    panel = load_panel(PanelSpec(data=EXAMPLE / "pilot.csv",
                                 comparators=EXAMPLE / "comparators.csv",
                                 outcome="employment_rate", start="2021Q3"))
    return {design: estimate_did(panel, DidSpec(design=design, inference="cluster")).to_dict()
            for design in ("twfe", "event-study")}


@pytest.fixture(scope="module")
def specs(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Chart specs by id, from the event-study context (it has both paths and effects)."""
    section = build_context([results["event-study"]])["sections"][0]
    return {spec["id"]: spec for spec in section["charts"]}


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every PNG chunk, checking each CRC on the way."""
    assert png[:8] == PNG_SIGNATURE
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        out.append((kind, data))
        pos += 12 + length
    return out


def _pixels(png: bytes) -> np.ndarray:
    """Decoded RGB pixels as uint8, shape (height, width, 3)."""
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    rgb = image[..., :3]
    return np.rint(rgb * 255).astype(np.uint8) if rgb.dtype.kind == "f" else rgb


def _count(png: bytes, colour: str) -> int:
    """How many pixels have exactly this colour."""
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int(np.all(_pixels(png) == target, axis=-1).sum())


def _assert_valid_png(png: bytes) -> None:
    chunks = _chunks(png)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (WIDTH_PX, HEIGHT_PX) == (560, 340)
    assert _pixels(png).shape == (HEIGHT_PX, WIDTH_PX, 3)


@pytest.mark.parametrize("chart_id", ["paths", "effects"])
def test_png_is_valid_email_sized_and_small(specs: dict[str, dict[str, Any]],
                                            chart_id: str) -> None:
    spec = specs[chart_id]
    assert len(spec["series"]["x"]) == 40  # 2015Q1-2024Q4 (paths); event times -26..13
    png = render_chart(spec)
    _assert_valid_png(png)
    assert len(png) < SIZE_BUDGET
    # No timestamp or software tag: only image chunks.
    assert {kind for kind, _ in _chunks(png)} <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


@pytest.mark.parametrize("chart_id", ["paths", "effects"])
def test_series_are_drawn_in_their_exact_colours(specs: dict[str, dict[str, Any]],
                                                 chart_id: str) -> None:
    png = render_chart(specs[chart_id])
    assert _count(png, PILOT_COLOUR) > 300
    if chart_id == "paths":
        assert _count(png, COMPARISON_COLOUR) > 200


def test_same_spec_gives_identical_bytes(specs: dict[str, dict[str, Any]]) -> None:
    for spec in specs.values():
        assert render_chart(copy.deepcopy(spec)) == render_chart(spec)


def test_rendering_leaves_global_matplotlib_state_alone(specs: dict[str, Any]) -> None:
    before = dict(mpl.rcParams)
    render_chart(specs["paths"])
    assert dict(mpl.rcParams) == before


def test_identical_bytes_in_a_fresh_process_with_other_rc_settings(
        specs: dict[str, dict[str, Any]], design_specs: dict[str, dict[str, Any]]) -> None:
    """A new interpreter whose user changed rcParams first draws the same bytes, without
    ever importing pyplot (and importing the module does not import matplotlib)."""
    script = (
        "import json, sys\n"
        "import lpip_eval.report.charts\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "import matplotlib as mpl\n"
        "mpl.rcParams.update({'font.size': 20, 'lines.linewidth': 6, "
        "'axes.facecolor': 'black', 'font.family': 'serif'})\n"
        "from lpip_eval.report.charts import render_chart\n"
        "specs = json.load(sys.stdin)\n"
        "out = [render_chart(s).hex() for s in specs]\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "print(json.dumps(out))\n"
    )
    ordered = [specs["paths"], specs["effects"], *(_one(design_specs, k) for k in DESIGN_KINDS)]
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(ordered),
                          capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
    fresh = [bytes.fromhex(h) for h in json.loads(done.stdout)]
    assert fresh == [render_chart(s) for s in ordered]


def test_render_charts_keys_follow_sections_and_ids(results: dict[str, Any]) -> None:
    twfe, event = results["twfe"], results["event-study"]
    assert list(render_charts(build_context([twfe]))) == ["0-paths"]
    context = build_context([twfe, event])
    images = render_charts(context)
    # Two designs on one outcome: their forest plot comes first, as in the report.
    assert list(images) == ["tri-0-forest", "0-paths", "1-paths", "1-effects"]
    assert images["tri-0-forest"] == render_chart(context["triangulation"][0]["chart"])
    # The paths chart of both designs shows the same group means.
    assert images["0-paths"] == images["1-paths"]
    for png in images.values():
        _assert_valid_png(png)


def test_unknown_or_missing_kind_raises(specs: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match=r"unknown chart kind 'pie'.*balance, "
                                         r"digest-forest, effects, forest, gap, paths, "
                                         r"placebo, sensitivity, tradeoff, weights\)"):
        render_chart(dict(specs["paths"], kind="pie"))
    without = {k: v for k, v in specs["paths"].items() if k != "kind"}
    with pytest.raises(ValueError, match=r"unknown chart kind None"):
        render_chart(without)
    with pytest.raises(ValueError):
        render_charts({"sections": [{"charts": [dict(specs["paths"], kind="spark")]}]})


def test_new_kinds_plug_in_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"paths", "effects", "gap", "placebo", "weights", "balance",
            "forest"} <= set(CHART_KINDS)
    seen: list[str] = []

    def draw(fig: Any, ax: Any, spec: dict[str, Any]) -> None:
        seen.append(spec["id"])
        ax.plot([0, 1], [0, 1], color=PILOT_COLOUR)

    monkeypatch.setitem(CHART_KINDS, "spark", draw)
    png = render_chart({"id": "g", "kind": "spark", "series": {}})
    _assert_valid_png(png)
    assert seen == ["g"]


def test_missing_values_leave_gaps(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(specs["paths"])
    full = render_chart(spec)
    pilot = spec["series"]["pilot"]
    for i in range(5, 15):
        pilot[i] = None
    pilot[20] = float("nan")
    spec["series"]["comparison"] = [None if i % 3 else v
                                    for i, v in enumerate(spec["series"]["comparison"])]
    gappy = render_chart(spec)
    _assert_valid_png(gappy)
    # Ten of forty periods gone: clearly fewer pilot-coloured pixels, but the rest is drawn.
    assert 0.4 * _count(full, PILOT_COLOUR) < _count(gappy, PILOT_COLOUR) \
        < 0.9 * _count(full, PILOT_COLOUR)
    # Every comparison value is isolated between gaps: each is drawn as a marker.
    assert _count(gappy, COMPARISON_COLOUR) > 100


def test_missing_effects_and_intervals(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(specs["effects"])
    series = spec["series"]
    series["low"][30] = series["high"][30] = None  # point without interval
    series["att"][31] = series["low"][31] = series["high"][31] = None  # nothing at all
    series["att"][32] = float("nan")
    _assert_valid_png(render_chart(spec))
    nothing = copy.deepcopy(spec)
    for key in ("att", "low", "high"):
        nothing["series"][key] = [None] * len(series["x"])
    png = render_chart(nothing)
    _assert_valid_png(png)
    # Only the hollow reference marker at 0 (set to 0 when missing) and the legend remain.
    assert _count(png, PILOT_COLOUR) < 0.1 * _count(render_chart(spec), PILOT_COLOUR)


@pytest.mark.parametrize("series", [
    {"x": ["2020Q1"], "pilot": [1.5], "comparison": [None], "start": "2020Q1"},
    {"x": [], "pilot": [], "comparison": [], "start": None},
    {"x": ["2019", "2020"], "pilot": [None, None], "comparison": [None, None], "start": "2020"},
    {"x": [f"{y}-{m:02d}" for y in range(2010, 2024) for m in range(1, 13)],
     "pilot": [-3e12 + 1e9 * i for i in range(168)],
     "comparison": [-2.9e12 - 1e9 * i for i in range(168)], "start": "2018-01"},
])
def test_paths_edge_cases(series: dict[str, Any]) -> None:
    spec = {"id": "paths", "kind": "paths", "title": "Output: pilot and comparison",
            "series": series}
    png = render_chart(spec)
    _assert_valid_png(png)
    assert len(png) < SIZE_BUDGET
    if any(v is not None for v in series["pilot"]):
        assert _count(png, PILOT_COLOUR) > 20  # the single point is drawn as a marker


@pytest.mark.parametrize("series", [
    {"x": [0], "att": [2.0], "low": [1.0], "high": [3.0]},
    {"x": [-1, 0], "att": [0.0, -5e9], "low": [0.0, -7e9], "high": [0.0, -3e9]},
    {"x": [-2, -1, 0], "att": [0.0001, 0.0, -0.0002], "low": [None, 0, -0.0004],
     "high": [None, 0, 0.0]},
    {"x": [-1, 0], "att": [0.0, 1.0], "low": [0.0, 1.5], "high": [0.0, 0.5]},  # odd range
])
def test_effects_edge_cases(series: dict[str, Any]) -> None:
    spec = {"id": "effects", "kind": "effects", "title": "Effect", "series": series}
    png = render_chart(spec)
    _assert_valid_png(png)
    assert _count(png, PILOT_COLOUR) > 20


def _contrast(colour: str) -> float:
    """WCAG 2.x contrast ratio against white."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize("colour", [PILOT_COLOUR, COMPARISON_COLOUR, REFERENCE_COLOUR,
                                    TEXT_COLOUR, PLACEBO_COLOUR])
def test_colours_meet_wcag_contrast_on_white(colour: str) -> None:
    # WCAG 2.1 SC 1.4.3 (text, AA) asks 4.5:1; lines carrying data are held to the same.
    assert _contrast(colour) >= 4.5


def test_quarter_labels_are_thinned_to_whole_years() -> None:
    labels = [f"{y}Q{q}" for y in range(2015, 2025) for q in range(1, 5)]
    shown = chart_style.label_positions(labels)
    assert 4 <= len(shown) <= 10
    assert all(labels[i].endswith("Q1") for i in shown)
    steps = {b - a for a, b in itertools.pairwise(shown)}
    assert len(steps) == 1 and steps.pop() % 4 == 0
    # Starting mid-year, the first label is the first Q1.
    assert chart_style.label_positions(labels[2:])[0] == 2
    assert chart_style.label_positions(labels[:6]) == list(range(6))


def test_month_and_year_labels_are_thinned() -> None:
    months = [f"{y}-{m:02d}" for y in range(2015, 2025) for m in range(1, 13)]
    shown = chart_style.label_positions(months)
    assert len(shown) <= 10 and all(months[i].endswith("-01") for i in shown)
    years = [str(y) for y in range(1960, 2025)]
    shown = chart_style.label_positions(years)
    assert len(shown) <= 12 and shown[0] == 0
    assert math.gcd(*(b - a for a, b in itertools.pairwise(shown))) in (5, 10)


def test_axis_label_from_ylabel_or_title() -> None:
    assert chart_style.ylabel({"ylabel": "Rate (%)", "title": "A: b"}, "x") == "Rate (%)"
    assert chart_style.ylabel({"title": "Employment rate: pilot areas"}, "x") == "Employment rate"
    assert chart_style.ylabel({"title": "Estimated effect on the claimant rate by period "
                                    "relative to the start"}, "x") == "Effect on claimant rate"
    assert chart_style.ylabel({}, "Estimated effect") == "Estimated effect"


# --------------------------------------------------------------------------- design chart kinds
# Specs from the real producers: matching (balance, weights), synthetic DiD (weights),
# synthetic control (gap, placebo, weights) on the example data, and triangulation (forest).

DESIGN_KINDS = ["gap", "placebo", "weights", "balance", "forest"]


@pytest.fixture(scope="module")
def design_results() -> dict[str, dict[str, Any]]:
    """JSON form of the example evaluation by each comparison design (fast settings)."""
    from lpip_eval.methods.match.areas import MatchSpec, estimate_match
    from lpip_eval.methods.synth.classic import SynthSpec, estimate_synth
    from lpip_eval.methods.synth.sdid import SdidSpec, estimate_sdid

    panel = load_panel(PanelSpec(data=EXAMPLE / "pilot.csv",
                                 comparators=EXAMPLE / "comparators.csv",
                                 outcome="employment_rate", start="2021Q3"))
    return {
        "match": estimate_match(panel, MatchSpec(inference="cluster")).to_dict(),
        "sdid": estimate_sdid(panel, SdidSpec(placebo_reps=20)).to_dict(),
        "synth": estimate_synth(panel, SynthSpec(placebo_in_time=False,
                                                 leave_one_out=False)).to_dict(),
        "did": estimate_did(panel, DidSpec(design="twfe", inference="cluster")).to_dict(),
    }


@pytest.fixture(scope="module")
def design_specs(design_results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Chart specs by "method:id" from each result's report context, plus the forest plot."""
    from lpip_eval.report.triangulation import triangulate

    out: dict[str, dict[str, Any]] = {}
    for method, result in design_results.items():
        for spec in build_context([result])["sections"][0]["charts"]:
            out[f"{method}:{spec['id']}"] = spec
    (outcome,) = triangulate(list(design_results.values()))["outcomes"]
    out["triangulation:forest"] = outcome["chart"]
    return out


def _one(design_specs: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """The first real spec of a kind (synthetic control first for gap/placebo/weights)."""
    order = sorted(design_specs, key=lambda key: not key.startswith("synth:"))
    return design_specs[next(key for key in order if design_specs[key]["kind"] == kind)]


def _drawn(spec: dict[str, Any]) -> tuple[Any, bytes]:
    """(canvas, PNG bytes) of one chart from a single drawing (PNG as render_chart gives)."""
    canvas = charts.draw_chart(spec)
    return canvas, charts._encode_png(bytes(canvas.buffer_rgba()), canvas.get_width_height())


def _texts(canvas: Any) -> list[str]:
    """The strings of every visible, non-empty text artist of a drawn chart."""
    return [t.get_text() for t in canvas.figure.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text()]


def _xs(line: Any) -> list[float]:
    return [float(v) for v in np.asarray(line.get_xdata())]


def _ys(line: Any) -> list[float]:
    return [float(v) for v in np.asarray(line.get_ydata())]


def _anchor_y(text: Any) -> float:
    """The data y of an annotation's anchor point."""
    return float(text.xy[1])


def _inside(canvas: Any) -> None:
    """Nothing drawn reaches outside the 560 x 340 image (no label is cut off)."""
    box = canvas.figure.get_tightbbox(canvas.get_renderer())  # inches, drawn artists only
    assert box.x0 * 100 >= -0.5 and box.x1 * 100 <= WIDTH_PX + 0.5, box
    assert box.y0 * 100 >= -0.5 and box.y1 * 100 <= HEIGHT_PX + 0.5, box


def test_producers_give_every_design_kind(design_specs: dict[str, dict[str, Any]]) -> None:
    kinds = {key: spec["kind"] for key, spec in design_specs.items()}
    assert {kinds[k] for k in ("synth:synth_gap", "synth:synth_placebo", "synth:synth_weights",
                               "sdid:sdid_weights", "match:match_weights", "match:balance",
                               "triangulation:forest")} == set(DESIGN_KINDS)


@pytest.mark.parametrize("kind", DESIGN_KINDS)
def test_design_charts_are_valid_small_and_deterministic(
        design_specs: dict[str, dict[str, Any]], kind: str) -> None:
    for key, spec in design_specs.items():
        if spec["kind"] != kind:
            continue
        canvas, png = _drawn(spec)
        _assert_valid_png(png)
        assert len(png) < SIZE_BUDGET, key
        assert {k for k, _ in _chunks(png)} <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
        assert render_chart(copy.deepcopy(spec)) == png, key
        assert _count(png, PILOT_COLOUR) > 150, key
        _inside(canvas)


def test_design_kinds_register_whichever_module_is_imported_first() -> None:
    script = ("from lpip_eval.report.charts_design import draw_gap\n"
              "from lpip_eval.report.charts import CHART_KINDS\n"
              "assert CHART_KINDS['gap'] is draw_gap\n"
              "print(','.join(sorted(CHART_KINDS)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=REPO, timeout=60)
    assert done.stdout.split() == ["balance,digest-forest,effects,forest,gap,paths,placebo,"
                                    "sensitivity,tradeoff,weights"]


def test_render_charts_draws_every_chart_of_a_synthetic_control(
        design_results: dict[str, dict[str, Any]],
        design_specs: dict[str, dict[str, Any]]) -> None:
    images = render_charts(build_context([design_results["synth"]]))
    assert list(images) == ["0-paths", "0-effects", "0-synth_paths", "0-synth_gap",
                            "0-synth_placebo", "0-synth_weights"]
    assert images["0-synth_gap"] == render_chart(design_specs["synth:synth_gap"])


def test_gap_chart_marks_the_start_and_zero(design_specs: dict[str, dict[str, Any]]) -> None:
    spec = design_specs["synth:synth_gap"]
    canvas = charts.draw_chart(spec)
    texts = _texts(canvas)
    assert "Pilot starts" in texts
    assert "Gap in employment rate" in texts  # y label: the title before the colon
    ax = canvas.figure.axes[0]
    start = spec["series"]["x"].index(spec["series"]["start"])
    vertical = [line for line in ax.lines if len(set(_xs(line))) == 1]
    assert [_xs(line)[0] for line in vertical] == [start - 0.5]
    assert any(_ys(line) == [0, 0] for line in ax.lines)  # the zero line
    gap = next(line for line in ax.lines if line.get_color() == PILOT_COLOUR)
    assert _ys(gap) == pytest.approx(spec["series"]["gap"])


def test_placebo_chart_draws_each_donor_under_the_pilot(
        design_specs: dict[str, dict[str, Any]]) -> None:
    spec = design_specs["synth:synth_placebo"]
    assert len(spec["series"]["placebos"]) == 36  # every comparison area of the example
    canvas, png = _drawn(spec)
    assert _count(png, PLACEBO_COLOUR) > 5000  # crisp grey lines keep their exact colour
    ax = canvas.figure.axes[0]
    pilot = [line for line in ax.lines if line.get_color() == PILOT_COLOUR]
    placebos = [line for line in ax.lines if line.get_color() == PLACEBO_COLOUR]
    assert len(placebos) == 36
    assert min(line.get_zorder() for line in pilot) > max(p.get_zorder() for p in placebos)
    assert min(line.get_linewidth() for line in pilot) >= 3 * placebos[0].get_linewidth()
    assert "Comparison areas as placebo pilots (36)" in _texts(canvas)
    # Without placebos: no grey lines (the legend leaves the placebo entry out too; a few
    # anti-aliased edge pixels of text may snap to this grey).
    alone = render_chart(dict(spec, series=dict(spec["series"], placebos=[])))
    assert _count(alone, PLACEBO_COLOUR) < 0.01 * _count(png, PLACEBO_COLOUR)


def test_weight_bars_largest_first_with_names_and_other_areas(
        design_specs: dict[str, dict[str, Any]]) -> None:
    spec = design_specs["sdid:sdid_weights"]
    weights = spec["series"]["weights"]
    assert len(weights) == 36
    bars = charts_design.weight_bars(spec)
    assert len(bars) == 16
    # Display names (the first column of the producer's rows), not area codes.
    assert [name for name, _, _ in bars[:15]] == [row[0] for row in spec["rows"][:15]]
    assert not any(name.startswith("E0") for name, _, _ in bars)
    values = [value for _, value, _ in bars[:15]]
    assert values == sorted(weights, reverse=True)[:15]
    name, total, largest = bars[15]
    assert name == "21 other areas"
    rest = sorted(weights, reverse=True)[15:]
    assert total == pytest.approx(math.fsum(rest), abs=1e-12) and largest == max(rest)
    assert math.fsum(v for _, v, _ in bars) == pytest.approx(math.fsum(weights), abs=1e-12)
    canvas = charts.draw_chart(spec)
    ax = canvas.figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [name for name, _, _ in bars]
    assert len(ax.patches) == 15  # the other areas are summed in words, not as a bar
    assert f"{total:.3f} in total, each {largest:.3f} or less" in _texts(canvas)
    # Few areas: all shown, nothing summed.
    matched = charts_design.weight_bars(design_specs["match:match_weights"])
    assert len(matched) == 4 and all(most is None for _, _, most in matched)


def test_weight_names_prefer_series_names_then_rows_then_codes() -> None:
    series = {"units": ["E1", "E2", "E3"], "weights": [0.2, None, 0.8]}
    rows = [["Bath", "0.2"], ["Bristol", "n/a"], ["Wells", "0.8"]]
    bars = charts_design.weight_bars({"series": series})
    assert [b[0] for b in bars] == ["E3", "E1", "E2"]  # largest first, missing last
    assert math.isnan(bars[2][1])
    assert [b[0] for b in charts_design.weight_bars({"series": series, "rows": rows})] == \
        ["Wells", "Bath", "Bristol"]
    named = dict(series, names=["A", "B", "C"])
    assert [b[0] for b in charts_design.weight_bars({"series": named, "rows": rows})] == \
        ["C", "A", "B"]
    # Rows that do not match the units one to one are not used.
    assert charts_design.weight_bars({"series": series, "rows": rows[:2]})[0][0] == "E3"


def test_long_area_names_are_cut_with_an_ellipsis() -> None:
    long = "Kingston upon Hull, City of and East Riding of Yorkshire Combined Authority"
    spec = {"id": "w", "kind": "weights",
            "series": {"units": [f"E{i}" for i in range(20)],
                       "names": [long] + [f"Area {i}" for i in range(1, 20)],
                       "weights": [1 / (i + 2) for i in range(20)]}}
    canvas, png = _drawn(spec)
    labels = [t.get_text() for t in canvas.figure.axes[0].get_yticklabels()]
    assert labels[0].endswith("\u2026") and long.startswith(labels[0][:-1])
    assert len(labels[0]) >= 20  # cut to the room there is, not to a stub
    assert labels[1:3] == ["Area 1", "Area 2"] and labels[-1] == "5 other areas"
    _inside(canvas)
    _assert_valid_png(png)
    assert len(png) < SIZE_BUDGET


def test_fit_text_wraps_then_cuts() -> None:
    fit = charts_design.fit_text
    assert fit("Bath", 10, len) == "Bath"
    assert fit("Bath and North East Somerset", 12, len) == "Bath and No\u2026"
    assert fit("Bath and North East Somerset", 12, len, lines=2) == "Bath and\nNorth East\u2026"
    assert fit("Bath and North East Somerset", 20, len, lines=3) == \
        "Bath and North East\nSomerset"
    assert fit("Supercalifragilistic", 8, len) == "Superca\u2026"
    assert fit("  spaced   out  ", 20, len) == "spaced out"
    assert fit("", 5, len) == ""
    for width in range(2, 30):  # never wider than asked, whatever the text
        for line in fit("a bb ccc dddd eeeee ffffff", width, len, lines=2).split("\n"):
            assert len(line) <= width


def test_forest_rows_names_and_values(design_specs: dict[str, dict[str, Any]]) -> None:
    spec = design_specs["triangulation:forest"]
    labels, att = spec["series"]["labels"], spec["series"]["att"]
    assert len(labels) == 4 and max(len(label) for label in labels) > 90  # long real names
    short = charts_design.without_brackets(labels)
    assert short[1] == "Synthetic difference-in-differences"
    assert all("(" not in name for name in short)
    canvas = charts.draw_chart(spec)
    ax = canvas.figure.axes[0]
    drawn = [(t.get_text(), _anchor_y(t)) for t in ax.texts]
    names = [text for text, _ in drawn if text[:1] not in "+\u2212"]
    values = [text for text, _ in drawn if text[:1] in "+\u2212"]
    # Full names on up to two lines (issue 13: design names were cut), short names where
    # even two lines are too few; each row in the spec's order, top down.
    assert names[3] == labels[3] == "Two-way fixed effects difference-in-differences"
    flat = [" ".join(n.split()) for n in names]
    assert flat[1] == labels[1] and "\n" in names[1]
    assert all(f in (label, s) or (f.endswith("\u2026") and s.startswith(f[:-1]))
               for f, label, s in zip(flat, labels, short, strict=True))
    assert [y for _, y in drawn[::2]] == [0, 1, 2, 3] and ax.yaxis_inverted()
    assert [float(v.split()[0].replace("\u2212", "-")) for v in values] == \
        pytest.approx(att, abs=0.006)
    squares = next(line for line in ax.lines if line.get_marker() == "s")
    assert _xs(squares) == pytest.approx(att)
    zero = [line for line in ax.lines if _xs(line) == [0, 0]]
    assert len(zero) == 1 and zero[0].get_color() == REFERENCE_COLOUR
    assert spec["xlabel"] in _texts(canvas)
    _inside(canvas)


def test_without_brackets_keeps_names_distinct() -> None:
    assert charts_design.without_brackets(["Synthetic control (ADH 2010), 4 areas (each)",
                                           "DiD"]) == ["Synthetic control, 4 areas", "DiD"]
    assert charts_design.without_brackets(["DiD (cluster)", "DiD (bootstrap)"]) == \
        ["DiD (cluster)", "DiD (bootstrap)"]  # would collide: kept whole
    assert charts_design.without_brackets(["(all)", "B"]) == ["(all)", "B"]  # would be empty
    assert charts_design.without_brackets(["A (x (y))"]) == ["A"]  # nested


def test_balance_love_plot_before_hollow_after_filled(
        design_specs: dict[str, dict[str, Any]]) -> None:
    spec = design_specs["match:balance"]
    series = spec["series"]
    canvas, png = _drawn(spec)
    assert _count(png, COMPARISON_COLOUR) > 40 and _count(png, PILOT_COLOUR) > 40
    ax = canvas.figure.axes[0]
    before = next(line for line in ax.lines if line.get_markeredgecolor() == COMPARISON_COLOUR)
    after = next(line for line in ax.lines if line.get_markerfacecolor() == PILOT_COLOUR)
    assert before.get_markerfacecolor() == "white"
    assert _xs(before) == pytest.approx(series["smd_before"])
    assert _xs(after) == pytest.approx(series["smd_after"])
    vertical = {round(_xs(line)[0], 6): line.get_linestyle() for line in ax.lines
                if len(_xs(line)) == 2 and len(set(_xs(line))) == 1}
    assert sorted(vertical) == [-0.25, -0.1, 0.0, 0.1, 0.25]
    # Three line styles: solid at 0, dashed for "good", dotted for "acceptable".
    assert [vertical[x] for x in (0.0, 0.1, -0.1, 0.25, -0.25)] == ["-", "--", "--", ":", ":"]
    texts = _texts(canvas)
    assert {"Before matching", "After matching", "\u00b10.1 good",
            "\u00b10.25 acceptable"} <= set(texts)
    names = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert names == series["variables"]  # wrapped onto two lines, not cut
    _inside(canvas)


def test_balance_with_many_variables_keeps_the_worst() -> None:
    n = 26
    after = [0.01 * i for i in range(n)]
    spec: dict[str, Any] = {"id": "balance", "kind": "balance",
            "series": {"variables": [f"covariate_{i} with a long descriptive name"
                                     for i in range(n)],
                       "smd_before": [0.5] * n, "smd_after": after,
                       "thresholds": [0.1, 0.25]}}
    keep, left_out = charts_design._balance_rows(spec["series"])
    assert left_out == 7 and keep == list(range(7, 26))  # the 19 largest |SMD after|
    canvas, png = _drawn(spec)
    labels = [t.get_text() for t in canvas.figure.axes[0].get_yticklabels()]
    assert labels[-1] == "7 more (see the table)" and len(labels) == 20
    assert all(label.endswith("\u2026") for label in labels[:-1])
    _assert_valid_png(png)
    assert len(png) < SIZE_BUDGET
    _inside(canvas)


QUARTERS = [f"{y}Q{q}" for y in range(2015, 2025) for q in range(1, 5)]
EDGE_SPECS = [
    {"kind": "gap", "series": {}},
    {"kind": "gap", "series": {"x": ["2020Q1"], "gap": [0.4], "start": "2020Q1"}},
    {"kind": "gap", "series": {"x": QUARTERS, "gap": [None if 3 < i < 9 or i == 20 else
                                                      float("nan") if i == 30 else 1e9 * i
                                                      for i in range(40)],
                               "start": "2021 Q3"}},
    {"kind": "gap", "series": {"x": [f"t{k:+d}" for k in range(-8, 4)],
                               "gap": [0.1] * 12, "start": "t+0"}},
    {"kind": "placebo", "series": {}},
    {"kind": "placebo", "series": {"x": QUARTERS, "pilot": [None] * 40,
                                   "placebos": [None, [None] * 40, [1.0] * 10],
                                   "start": "2030Q1"}},
    {"kind": "placebo", "series": {"x": QUARTERS, "pilot": [math.sin(i) for i in range(40)],
                                   "placebos": [[math.cos(i * k) for i in range(40)]
                                                for k in range(150)], "start": "2021Q3"}},
    {"kind": "weights", "series": {}},
    {"kind": "weights", "series": {"units": ["E1"], "weights": [1.0]}},
    {"kind": "weights", "series": {"units": ["$ugar", "E2", "E3"],
                                   "weights": [float("nan"), -0.2, 1.2]}},
    {"kind": "weights", "series": {"units": [f"E{i}" for i in range(300)],
                                   "weights": [None] * 300}},
    {"kind": "balance", "series": {}},
    {"kind": "balance", "series": {"variables": ["a", "price ($)", "c"],
                                   "smd_before": [None, 0.5, float("nan")],
                                   "smd_after": [None, 0.05, 12.0], "thresholds": [None]}},
    {"kind": "forest", "series": {}},
    {"kind": "forest", "series": {"labels": ["Only one"], "att": [-2e9], "low": [-3e9],
                                  "high": [-1e9]}},
    {"kind": "forest", "xlabel": "Effect (\u00a3m)",
     "series": {"labels": ["x " * 80, "no range", "nothing", "", *"abcde"],
                "att": [1.0, 2.0, None, -3.0, 4.0, 0.5, 0.1, -0.2, 0.0],
                "low": [0.5, None, None, -5.0, 1.0, 0.0, 0.0, -1.0, 0.0],
                "high": [1.5, None, None, -1.0, 9.0, 1.0, 1.0, 0.5, 0.0]}},
]


@pytest.mark.parametrize("spec", EDGE_SPECS,
                         ids=[f"{s['kind']}-{i}" for i, s in enumerate(EDGE_SPECS)])
def test_design_kinds_edge_cases(spec: dict[str, Any]) -> None:
    spec = dict(spec, id="edge", title="Gap in output: edge case")
    canvas, png = _drawn(spec)
    _assert_valid_png(png)
    assert len(png) < SIZE_BUDGET
    _inside(canvas)
    texts = _texts(canvas)
    assert not any("$" in t and "\\$" not in t for t in texts)  # '$' shown, not mathtext
    if not spec["series"] and spec["kind"] in ("weights", "balance", "forest"):
        assert any(t.startswith("No ") and t.endswith(" to show") for t in texts)


def test_edge_case_charts_are_deterministic() -> None:
    spec = dict(EDGE_SPECS[-1], id="edge")
    assert render_chart(copy.deepcopy(spec)) == render_chart(spec)


def test_tick_texts_show_quarter_steps() -> None:
    # A 2.5 or 0.25 step needs one decimal more than its magnitude ("2.5", not "2").
    ticks = chart_style.tick_texts
    assert ticks([-5.0, -2.5, 0.0, 2.5]) == ["\u22125.0", "\u22122.5", "0.0", "2.5"]
    assert ticks([0.0, 0.25, 0.5]) == ["0.00", "0.25", "0.50"]
    assert ticks([0.0, 0.1, 0.2, 0.30000000000000004]) == ["0.0", "0.1", "0.2", "0.3"]


def _legend_texts(spec: dict[str, Any]) -> list[str]:
    fig = charts.draw_chart(spec).figure
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_legend_only_promises_what_is_drawn() -> None:
    """Issue 13: a synth/match gap at -1 (+1,867 for Texas) was labelled "Reference period
    (set to 0)", and "Estimate and range" was shown with no ranges drawn."""
    gaps = {"id": "effects", "kind": "effects", "title": "Gap",
            "series": {"x": [-2, -1, 0, 1], "att": [5.0, 1867.0, 676.0, 10410.0],
                       "low": [None] * 4, "high": [None] * 4}}
    texts = _legend_texts(gaps)
    assert "Estimate" in texts
    assert not any("set to 0" in t or "range" in t for t in texts)
    event_study = {"id": "effects", "kind": "effects", "title": "Effect",
                   "series": {"x": [-2, -1, 0], "att": [0.1, 0.0, 0.5],
                              "low": [-0.1, 0.0, 0.2], "high": [0.3, 0.0, 0.8]}}
    texts = _legend_texts(event_study)
    assert "Estimate and range" in texts and "Reference period (set to 0)" in texts


@pytest.mark.parametrize("kind", ["paths", "effects", "gap"])
def test_long_axis_labels_stay_inside_the_figure(kind: str) -> None:
    """Issue 13: "ect on organ donor registration rate (share of DMV v" was clipped at both
    ends; the label is wrapped (and cut if need be) so its extent lies inside the canvas."""
    label = ("Effect on organ donor registration rate (share of DMV visits where the person "
             "registered as an organ donor)")
    series = {"paths": {"x": ["2019", "2020", "2021"], "pilot": [1.0, 2.0, 3.0],
                        "comparison": [1.0, 1.5, 2.0], "start": "2020"},
              "effects": {"x": [-1, 0, 1], "att": [0.0, 1.0, 2.0], "low": [0.0, 0.5, 1.0],
                          "high": [0.0, 1.5, 3.0]},
              "gap": {"x": ["2019", "2020", "2021"], "gap": [0.1, 1.0, 2.0],
                      "start": "2020"}}[kind]
    canvas = charts.draw_chart({"id": kind, "kind": kind, "title": "t", "ylabel": label,
                                "series": series})
    fig = canvas.figure
    text = fig.axes[0].yaxis.label
    box = text.get_window_extent(canvas.get_renderer())
    assert box.y0 >= 0 and box.y1 <= fig.bbox.height and box.x0 >= 0, (box, text.get_text())
    assert "organ donor" in text.get_text()


def test_long_legend_stays_inside_and_leaves_the_plot_its_width() -> None:
    """The uniform-band event study's legend ("Estimate and 95% band for all periods at
    once", "Reference period (set to 0)") in one row ran off the figure's right edge and
    squeezed the plot into its left half; it now stacks, inside the canvas."""
    spec = {"id": "effects", "kind": "effects", "title": "Effect",
            "range_label": "Estimate and 95% band for all periods at once",
            "series": {"x": [-3, -2, -1, 0, 1], "att": [0.1, -0.1, 0.0, 0.5, 0.4],
                       "low": [-0.1, -0.3, 0.0, 0.2, 0.1], "high": [0.3, 0.1, 0.0, 0.8, 0.7]}}
    canvas = charts.draw_chart(spec)
    fig = canvas.figure
    renderer = canvas.get_renderer()
    legend = fig.axes[0].get_legend()
    box = legend.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height, box
    assert fig.axes[0].get_window_extent(renderer).width >= 0.6 * fig.bbox.width

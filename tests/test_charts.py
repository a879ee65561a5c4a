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
import numpy as np
import pytest

from lpip_eval.methods.did import DidSpec, estimate_did
from lpip_eval.panel import PanelSpec, load_panel
from lpip_eval.report import charts
from lpip_eval.report.charts import (
    CHART_KINDS,
    COMPARISON_COLOUR,
    HEIGHT_PX,
    PILOT_COLOUR,
    REFERENCE_COLOUR,
    TEXT_COLOUR,
    WIDTH_PX,
    render_chart,
    render_charts,
)
from lpip_eval.report.context import build_context

REPO = Path(__file__).resolve().parent.parent
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
        specs: dict[str, dict[str, Any]]) -> None:
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
    ordered = [specs["paths"], specs["effects"]]
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(ordered),
                          capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
    fresh = [bytes.fromhex(h) for h in json.loads(done.stdout)]
    assert fresh == [render_chart(s) for s in ordered]


def test_render_charts_keys_follow_sections_and_ids(results: dict[str, Any]) -> None:
    twfe, event = results["twfe"], results["event-study"]
    assert list(render_charts(build_context([twfe]))) == ["0-paths"]
    images = render_charts(build_context([twfe, event]))
    assert list(images) == ["0-paths", "1-paths", "1-effects"]
    # The paths chart of both designs shows the same group means.
    assert images["0-paths"] == images["1-paths"]
    for png in images.values():
        _assert_valid_png(png)


def test_unknown_or_missing_kind_raises(specs: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match=r"unknown chart kind 'pie'.*effects, paths"):
        render_chart(dict(specs["paths"], kind="pie"))
    without = {k: v for k, v in specs["paths"].items() if k != "kind"}
    with pytest.raises(ValueError, match=r"unknown chart kind None"):
        render_chart(without)
    with pytest.raises(ValueError):
        render_charts({"sections": [{"charts": [dict(specs["paths"], kind="gap")]}]})


def test_new_kinds_plug_in_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"paths", "effects"} <= set(CHART_KINDS)
    seen: list[str] = []

    def draw(fig: Any, ax: Any, spec: dict[str, Any]) -> None:
        seen.append(spec["id"])
        ax.plot([0, 1], [0, 1], color=PILOT_COLOUR)

    monkeypatch.setitem(CHART_KINDS, "gap", draw)
    png = render_chart({"id": "g", "kind": "gap", "series": {}})
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
                                    TEXT_COLOUR])
def test_colours_meet_wcag_contrast_on_white(colour: str) -> None:
    # WCAG 2.1 SC 1.4.3 (text, AA) asks 4.5:1; lines carrying data are held to the same.
    assert _contrast(colour) >= 4.5


def test_quarter_labels_are_thinned_to_whole_years() -> None:
    labels = [f"{y}Q{q}" for y in range(2015, 2025) for q in range(1, 5)]
    shown = charts._label_positions(labels)
    assert 4 <= len(shown) <= 10
    assert all(labels[i].endswith("Q1") for i in shown)
    steps = {b - a for a, b in itertools.pairwise(shown)}
    assert len(steps) == 1 and steps.pop() % 4 == 0
    # Starting mid-year, the first label is the first Q1.
    assert charts._label_positions(labels[2:])[0] == 2
    assert charts._label_positions(labels[:6]) == list(range(6))


def test_month_and_year_labels_are_thinned() -> None:
    months = [f"{y}-{m:02d}" for y in range(2015, 2025) for m in range(1, 13)]
    shown = charts._label_positions(months)
    assert len(shown) <= 10 and all(months[i].endswith("-01") for i in shown)
    years = [str(y) for y in range(1960, 2025)]
    shown = charts._label_positions(years)
    assert len(shown) <= 12 and shown[0] == 0
    assert math.gcd(*(b - a for a, b in itertools.pairwise(shown))) in (5, 10)


def test_axis_label_from_ylabel_or_title() -> None:
    assert charts._ylabel({"ylabel": "Rate (%)", "title": "A: b"}, "x") == "Rate (%)"
    assert charts._ylabel({"title": "Employment rate: pilot areas"}, "x") == "Employment rate"
    assert charts._ylabel({"title": "Estimated effect on the claimant rate by period "
                                    "relative to the start"}, "x") == "Effect on claimant rate"
    assert charts._ylabel({}, "Estimated effect") == "Estimated effect"

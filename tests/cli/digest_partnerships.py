"""Simulated partnerships for the digest tests: the West of England generator with another
seed, another four pilot areas and another true effect on the employment rate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).resolve().parents[2] / "examples" / "west_of_england" / "generate.py"

CONFIG = """title = "{title}"
[data]
file = "pilot.csv"
comparators = "comparators.csv"
start = "2021Q3"
[[outcome]]
column = "employment_rate"
label = "employment rate"
unit = "percentage points"
[run]
seed = 1
draws = 19
[did]
design = "twfe"
[synth]
design = "classic"
placebo_in_time = false
leave_one_out = false
[match]
design = "twfe"
[output]
dir = "out"
report = false
markdown = false
"""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lpip_digest_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def make_partnership(folder: Path, *, seed: int, first: int, effect: float,
                     title: str) -> Path:
    """Write pilot.csv, comparators.csv and evaluation.toml (did, synth, match) in
    ``folder``; the pilots are the generator's areas ``first`` to ``first + 3``."""
    gen = _generator()
    areas = gen.PILOT_AREAS + gen.COMPARATOR_AREAS
    pilots = areas[first:first + 4]
    gen.PILOT_AREAS = pilots
    gen.COMPARATOR_AREAS = tuple(a for a in areas if a not in pilots)
    gen.TRUE_EFFECT_EMPLOYMENT = effect
    pilot, comparators = gen.simulate(seed)
    folder.mkdir(parents=True, exist_ok=True)
    gen.write_csv(pilot, folder / "pilot.csv")
    gen.write_csv(comparators, folder / "comparators.csv")
    config = folder / "evaluation.toml"
    config.write_text(CONFIG.format(title=title), encoding="utf-8")
    return config

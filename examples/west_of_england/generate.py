"""Generate the SIMULATED West of England example data set (``pilot.csv``, ``comparators.csv``).

THESE ARE SIMULATED DATA, NOT REAL STATISTICS. The area codes, names and regions are real
(ONS GSS codes for English local authorities), so the files look like real LPIP data, but every
number in them (employment rate, claimant rate, 16-64 population) was made up by this script
from a seeded random number generator. Do not quote them as facts about any place.

The story
---------
The four West of England authorities (Bath and North East Somerset, Bristol, North Somerset,
South Gloucestershire) run a skills programme from ``2021Q3`` on. ``comparators.csv`` holds 36
other English local authorities from all nine regions, some of them much like the pilot areas
and some not, so that matching and synthetic control have something to find.

Data-generating process
-----------------------
One row per area ``i`` and quarter ``t``, 2015Q1 to 2024Q4 (40 quarters). Outcomes in
percentage points::

    employment_rate[i,t] = a_i + m_t + c_t + r_{g(i),t} + l_i . F_t + e_it + 1.5 * D_it
    claimant_rate[i,t]   = b_i + n_t + k_t - 0.3 * (r_{g(i),t} + l_i . F_t) + u_it - 0.3 * D_it

* ``a_i``, ``b_i``: area fixed effects (hand-set, plausible levels for each place).
* ``m_t``, ``n_t``: a national trend shared by every area (piecewise linear: employment rising
  to 2019 then flat; claimant rate falling to 2018, then up with Universal Credit).
* ``c_t``, ``k_t``: the COVID shock, identical for every area: employment falls by up to
  1.4 pp and the claimant rate jumps by up to 2.6 pp in 2020Q2-2021Q2, fading out by 2022.
* ``r_{g,t}``: a region-specific quarterly shock, AR(1) with rho 0.7 and SD 0.2 pp, mean zero;
  ``g(i)`` is the area's ONS region.
* ``F_t``: two common factors, each AR(1) with rho 0.85 and SD 0.5, mean zero. ``l_i`` are
  area loadings: a centre for the area's region plus N(0, 0.15) noise. The pilot areas share
  the South West centre, which South West and South East comparators are close to and London
  and northern comparators are not.
* ``e_it``, ``u_it``: idiosyncratic AR(1) noise (rho 0.5) with SD 0.5 pp (employment) and
  0.15 pp (claimant rate).
* ``D_it``: 1 for the four pilot areas from 2021Q3 on, else 0.

No seasonality. ``population`` (16-64) grows smoothly from a hand-set 2015 level at a rate
drawn per area from U(0.1%, 0.9%) a year, rounded to whole people, unaffected by treatment.

TRUE EFFECTS (constant, from 2021Q3, none before): ``employment_rate`` +1.5 pp,
``claimant_rate`` -0.3 pp.

Every shock has mean zero and the COVID shock and national trend are common to all areas, so
parallel trends hold by construction in expectation; in any one draw the factors and region
shocks make them hold only approximately, as in real data.

Outcomes are rounded to 2 decimals. With the fixed ``SEED`` the output is byte-identical on
every run. Regenerate with ``python examples/west_of_england/generate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED: int = 20210701
FIRST_YEAR: int = 2015
LAST_YEAR: int = 2024
TREATMENT_START: str = "2021Q3"
TRUE_EFFECT_EMPLOYMENT: float = 1.5
TRUE_EFFECT_CLAIMANT: float = -0.3

OUT_DIR: Path = Path(__file__).resolve().parent
COLUMNS: list[str] = [
    "area",
    "area_name",
    "region",
    "urban_rural",
    "period",
    "employment_rate",
    "claimant_rate",
    "population",
]

# Process parameters (see the module docstring).
N_FACTORS: int = 2
FACTOR_RHO: float = 0.85
FACTOR_SD: float = 0.5
LOADING_SD: float = 0.15
REGION_RHO: float = 0.7
REGION_SD: float = 0.2
NOISE_RHO: float = 0.5
EMPLOYMENT_NOISE_SD: float = 0.5
CLAIMANT_NOISE_SD: float = 0.15
CLAIMANT_PER_EMPLOYMENT: float = -0.3
POP_GROWTH_RANGE: tuple[float, float] = (0.001, 0.009)


@dataclass(frozen=True)
class Area:
    """One local authority: real code, name and region; made-up baseline levels."""

    code: str
    name: str
    region: str
    urban_rural: str
    population_2015: int
    employment: float
    claimant: float


PILOT_AREAS: tuple[Area, ...] = (
    Area("E06000022", "Bath and North East Somerset", "South West", "Mixed", 118000, 77.5, 1.6),
    Area("E06000023", "Bristol, City of", "South West", "Urban", 305000, 75.5, 2.9),
    Area("E06000024", "North Somerset", "South West", "Mixed", 125000, 78.0, 1.9),
    Area("E06000025", "South Gloucestershire", "South West", "Mixed", 172000, 79.0, 1.6),
)

COMPARATOR_AREAS: tuple[Area, ...] = (
    # South West
    Area("E06000026", "Plymouth", "South West", "Urban", 164000, 73.5, 2.8),
    Area("E06000027", "Torbay", "South West", "Urban", 75000, 72.0, 3.2),
    Area("E06000030", "Swindon", "South West", "Urban", 140000, 77.5, 2.5),
    Area("E06000052", "Cornwall", "South West", "Rural", 322000, 75.0, 2.2),
    Area("E06000054", "Wiltshire", "South West", "Rural", 290000, 79.0, 1.5),
    Area("E07000041", "Exeter", "South West", "Urban", 85000, 76.0, 1.7),
    Area("E07000078", "Cheltenham", "South West", "Urban", 74000, 78.0, 1.9),
    Area("E07000081", "Gloucester", "South West", "Urban", 82000, 77.0, 2.6),
    # South East
    Area("E06000038", "Reading", "South East", "Urban", 112000, 77.0, 2.6),
    Area("E06000043", "Brighton and Hove", "South East", "Urban", 206000, 75.0, 3.0),
    Area("E06000044", "Portsmouth", "South East", "Urban", 151000, 74.5, 2.9),
    Area("E06000045", "Southampton", "South East", "Urban", 174000, 73.5, 2.9),
    Area("E07000178", "Oxford", "South East", "Urban", 112000, 72.5, 1.7),
    # East of England
    Area("E06000031", "Peterborough", "East of England", "Urban", 123000, 75.0, 3.2),
    Area("E06000032", "Luton", "East of England", "Urban", 140000, 72.0, 3.6),
    Area("E06000034", "Thurrock", "East of England", "Mixed", 107000, 75.5, 3.0),
    Area("E07000008", "Cambridge", "East of England", "Urban", 95000, 75.5, 1.5),
    # London
    Area("E09000007", "Camden", "London", "Urban", 180000, 70.0, 3.2),
    Area("E09000022", "Lambeth", "London", "Urban", 245000, 75.5, 4.0),
    Area("E09000025", "Newham", "London", "Urban", 245000, 69.5, 4.1),
    # East Midlands
    Area("E06000015", "Derby", "East Midlands", "Urban", 160000, 73.5, 3.1),
    Area("E06000016", "Leicester", "East Midlands", "Urban", 235000, 69.0, 3.6),
    Area("E06000018", "Nottingham", "East Midlands", "Urban", 230000, 68.5, 3.9),
    # West Midlands
    Area("E06000021", "Stoke-on-Trent", "West Midlands", "Urban", 160000, 70.5, 3.5),
    Area("E08000025", "Birmingham", "West Midlands", "Urban", 720000, 68.5, 4.3),
    Area("E08000026", "Coventry", "West Midlands", "Urban", 238000, 71.5, 3.3),
    # North West
    Area("E06000007", "Warrington", "North West", "Mixed", 130000, 77.5, 2.3),
    Area("E08000003", "Manchester", "North West", "Urban", 390000, 69.5, 4.0),
    Area("E08000012", "Liverpool", "North West", "Urban", 335000, 68.5, 4.0),
    # Yorkshire and The Humber
    Area(
        "E06000010",
        "Kingston upon Hull, City of",
        "Yorkshire and The Humber",
        "Urban",
        170000,
        69.5,
        4.1,
    ),
    Area("E06000014", "York", "Yorkshire and The Humber", "Urban", 140000, 77.0, 1.5),
    Area("E08000019", "Sheffield", "Yorkshire and The Humber", "Urban", 385000, 71.5, 3.3),
    Area("E08000035", "Leeds", "Yorkshire and The Humber", "Urban", 520000, 73.0, 3.3),
    # North East
    Area("E06000001", "Hartlepool", "North East", "Urban", 58000, 69.0, 4.3),
    Area("E08000021", "Newcastle upon Tyne", "North East", "Urban", 205000, 69.5, 3.6),
    Area("E08000024", "Sunderland", "North East", "Urban", 175000, 70.0, 3.9),
)

# Centre of the factor loadings for each ONS region (area loading = centre + noise).
REGION_LOADING_CENTRES: dict[str, tuple[float, float]] = {
    "North East": (1.5, -0.6),
    "North West": (1.3, -0.4),
    "Yorkshire and The Humber": (1.3, -0.4),
    "East Midlands": (1.2, -0.2),
    "West Midlands": (1.3, -0.3),
    "East of England": (0.8, 0.3),
    "London": (0.4, 1.2),
    "South East": (0.9, 0.4),
    "South West": (1.0, 0.2),
}

# National trend knots: (quarter index from 2015Q1, pp).
EMPLOYMENT_TREND_KNOTS: tuple[tuple[int, float], ...] = ((0, -1.0), (19, 1.0), (39, 0.8))
CLAIMANT_TREND_KNOTS: tuple[tuple[int, float], ...] = ((0, 0.4), (12, 0.0), (20, 0.3), (39, 0.5))

# COVID shock, common to every area (pp); quarters not listed are 0.
COVID_EMPLOYMENT: dict[str, float] = {
    "2020Q2": -0.8,
    "2020Q3": -1.2,
    "2020Q4": -1.4,
    "2021Q1": -1.3,
    "2021Q2": -0.9,
    "2021Q3": -0.5,
    "2021Q4": -0.2,
}
COVID_CLAIMANT: dict[str, float] = {
    "2020Q1": 0.1,
    "2020Q2": 2.4,
    "2020Q3": 2.6,
    "2020Q4": 2.5,
    "2021Q1": 2.4,
    "2021Q2": 2.0,
    "2021Q3": 1.3,
    "2021Q4": 0.8,
    "2022Q1": 0.5,
    "2022Q2": 0.3,
    "2022Q3": 0.1,
}


def quarters(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> list[str]:
    """Quarter labels like ``2015Q1`` from ``first_year``Q1 to ``last_year``Q4."""
    return [f"{year}Q{q}" for year in range(first_year, last_year + 1) for q in range(1, 5)]


def ar1(
    rng: np.random.Generator, n_series: int, n_periods: int, rho: float, sd: float
) -> np.ndarray:
    """Stationary mean-zero AR(1) series with marginal SD ``sd``, shape (n_series, n_periods)."""
    out = np.empty((n_series, n_periods))
    out[:, 0] = rng.normal(0.0, sd, n_series)
    innovation_sd = sd * np.sqrt(1.0 - rho**2)
    for t in range(1, n_periods):
        out[:, t] = rho * out[:, t - 1] + rng.normal(0.0, innovation_sd, n_series)
    return out


def trend(knots: tuple[tuple[int, float], ...], n_periods: int) -> np.ndarray:
    """Piecewise-linear national trend through ``knots`` over quarter indices 0..n_periods-1."""
    xs, ys = zip(*knots, strict=True)
    return np.interp(np.arange(n_periods), xs, ys)


def simulate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the panel and return (pilot, comparators) frames in long format."""
    rng = np.random.default_rng(seed)
    areas = PILOT_AREAS + COMPARATOR_AREAS
    n_areas = len(areas)
    periods = quarters()
    n_periods = len(periods)
    regions = sorted(REGION_LOADING_CENTRES)

    # Draws, in a fixed order.
    factors = ar1(rng, N_FACTORS, n_periods, FACTOR_RHO, FACTOR_SD)
    region_shocks = ar1(rng, len(regions), n_periods, REGION_RHO, REGION_SD)
    centres = np.array([REGION_LOADING_CENTRES[a.region] for a in areas])
    loadings = centres + rng.normal(0.0, LOADING_SD, (n_areas, N_FACTORS))
    employment_noise = ar1(rng, n_areas, n_periods, NOISE_RHO, EMPLOYMENT_NOISE_SD)
    claimant_noise = ar1(rng, n_areas, n_periods, NOISE_RHO, CLAIMANT_NOISE_SD)
    growth = rng.uniform(*POP_GROWTH_RANGE, n_areas)

    region_index = np.array([regions.index(a.region) for a in areas])
    common = region_shocks[region_index] + loadings @ factors  # (n_areas, n_periods)
    covid_emp = np.array([COVID_EMPLOYMENT.get(p, 0.0) for p in periods])
    covid_cla = np.array([COVID_CLAIMANT.get(p, 0.0) for p in periods])

    is_pilot = np.array([a in PILOT_AREAS for a in areas])
    is_post = np.array([p >= TREATMENT_START for p in periods])  # labels sort as text
    treated = np.outer(is_pilot, is_post).astype(float)

    base_emp = np.array([a.employment for a in areas])[:, None]
    base_cla = np.array([a.claimant for a in areas])[:, None]
    employment = (
        base_emp
        + trend(EMPLOYMENT_TREND_KNOTS, n_periods)
        + covid_emp
        + common
        + employment_noise
        + TRUE_EFFECT_EMPLOYMENT * treated
    )
    claimant = (
        base_cla
        + trend(CLAIMANT_TREND_KNOTS, n_periods)
        + covid_cla
        + CLAIMANT_PER_EMPLOYMENT * common
        + claimant_noise
        + TRUE_EFFECT_CLAIMANT * treated
    )
    if claimant.min() <= 0.0:
        raise RuntimeError("simulated claimant rate is not positive; change the parameters")

    years = np.arange(n_periods) / 4.0
    pop0 = np.array([a.population_2015 for a in areas], dtype=float)[:, None]
    population = np.rint(pop0 * (1.0 + growth[:, None]) ** years).astype(np.int64)

    frame = pd.DataFrame(
        {
            "area": np.repeat([a.code for a in areas], n_periods),
            "area_name": np.repeat([a.name for a in areas], n_periods),
            "region": np.repeat([a.region for a in areas], n_periods),
            "urban_rural": np.repeat([a.urban_rural for a in areas], n_periods),
            "period": np.tile(periods, n_areas),
            "employment_rate": np.round(employment.ravel(), 2),
            "claimant_rate": np.round(claimant.ravel(), 2),
            "population": population.ravel(),
        },
        columns=COLUMNS,
    )
    pilot_rows = np.repeat(is_pilot, n_periods)
    pilot = frame.loc[pilot_rows].reset_index(drop=True)
    comparators = frame.loc[~pilot_rows].reset_index(drop=True)
    return pilot, comparators


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` with fixed formatting so repeated runs are byte-identical."""
    frame.to_csv(path, index=False, float_format="%.2f", lineterminator="\n", encoding="utf-8")


def main() -> None:
    """Simulate and write ``pilot.csv`` and ``comparators.csv`` next to this script."""
    pilot, comparators = simulate()
    for name, frame in (("pilot.csv", pilot), ("comparators.csv", comparators)):
        path = OUT_DIR / name
        write_csv(frame, path)
        print(f"wrote {path} ({frame['area'].nunique()} areas, {len(frame)} rows)")


if __name__ == "__main__":
    main()

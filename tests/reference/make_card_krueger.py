"""Convert Card & Krueger's fixed-width ``public.dat`` into a tidy long CSV of FTE employment.

Usage (from the repository root)::

    python tests/reference/make_card_krueger.py

reads ``tests/reference/card_krueger_public.dat`` and writes
``tests/reference/card_krueger_fte.csv``; ``tests/methods/test_reference_did.py`` checks that
the CSV in the repository is exactly what this script produces.

Columns follow ``card_krueger_codebook.txt`` (1-based, inclusive); ``.`` means missing.
Full-time-equivalent employment is ``FTE = EMPFT + NMGRS + 0.5 * EMPPT`` (Card & Krueger
1994, AER 84(4), p. 775 and Table 3), per wave; FTE is missing when any of the three counts
is missing.

Output, one row per store and wave (410 stores x 2 waves):

* ``store``   unique store id: state + sheet number (``NJ407``, ``PA407``: sheet 407 occurs
  once in each state, so the sheet number alone is not unique);
* ``sheet``, ``chain`` (1=BK, 2=KFC, 3=Roy Rogers, 4=Wendy's), ``state`` (NJ/PA), ``nj`` (1/0);
* ``status2`` status of the second interview (1 answered, 2/4/5 temporarily closed,
  3 closed permanently, 0 refused);
* ``wave`` 0 (Feb/Mar 1992, before NJ's minimum wage rise on 1 April 1992) or 1 (Nov/Dec
  1992); ``period`` the month the wave began, ``1992-02`` or ``1992-11`` (a label
  ``lpip_eval.data.periods`` parses as monthly);
* ``fte`` (empty when missing);
* ``balanced`` 1 when the store has FTE in both waves: the "balanced sample of stores" of
  Table 3, row 4 (384 stores: 309 NJ, 75 PA). The six permanently closed stores (status 3)
  have zero employment recorded in wave 2 and so are in it, as in the paper; the four
  temporarily closed stores (status 2, 4, 5) have missing wave-2 employment and are not
  (Table 3, row 5 instead sets their FTE to 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAT = HERE / "card_krueger_public.dat"
CSV = HERE / "card_krueger_fte.csv"

# name: (start, end), 1-based inclusive, from card_krueger_codebook.txt
COLUMNS = {
    "SHEET": (1, 3),
    "CHAIN": (5, 5),
    "STATE": (9, 9),
    "EMPFT": (26, 30),
    "EMPPT": (32, 36),
    "NMGRS": (38, 42),
    "STATUS2": (110, 110),
    "EMPFT2": (122, 126),
    "EMPPT2": (128, 132),
    "NMGRS2": (134, 138),
}
WAVES = ((0, "1992-02", ""), (1, "1992-11", "2"))
FIELDS = ("store", "sheet", "chain", "state", "nj", "status2", "wave", "period", "fte",
          "balanced")


def _field(line: str, name: str) -> float | None:
    start, end = COLUMNS[name]
    text = line[start - 1:end].strip()
    return None if text in ("", ".") else float(text)


def _fte(line: str, suffix: str) -> float | None:
    full, part, managers = (_field(line, n + suffix) for n in ("EMPFT", "EMPPT", "NMGRS"))
    if full is None or part is None or managers is None:
        return None
    return full + managers + 0.5 * part


def convert(dat: Path = DAT) -> list[dict[str, str]]:
    """Rows of the long CSV, in file order of the stores, wave 0 then wave 1."""
    rows: list[dict[str, str]] = []
    for line in dat.read_text(encoding="ascii").splitlines():
        if not line.strip():
            continue
        sheet = int(_field(line, "SHEET") or 0)
        nj = int(_field(line, "STATE") or 0)
        state = "NJ" if nj else "PA"
        ftes = [_fte(line, suffix) for _, _, suffix in WAVES]
        balanced = all(f is not None for f in ftes)
        for (wave, period, _), fte in zip(WAVES, ftes, strict=True):
            rows.append({
                "store": f"{state}{sheet:03d}", "sheet": str(sheet),
                "chain": str(int(_field(line, "CHAIN") or 0)), "state": state, "nj": str(nj),
                "status2": str(int(_field(line, "STATUS2") or 0)), "wave": str(wave),
                "period": period, "fte": "" if fte is None else format(fte, ".10g"),
                "balanced": str(int(balanced)),
            })
    return rows


def render(rows: list[dict[str, str]]) -> str:
    """CSV text with ``\\n`` line endings."""
    lines = [",".join(FIELDS)] + [",".join(r[f] for f in FIELDS) for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else CSV
    rows = convert()
    stores = {r["store"] for r in rows}
    if len(stores) * 2 != len(rows):
        raise SystemExit("store ids are not unique")
    out.write_text(render(rows), encoding="ascii", newline="")
    print(f"wrote {out}: {len(rows)} rows, {len(stores)} stores", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

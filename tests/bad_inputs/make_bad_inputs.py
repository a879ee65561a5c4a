"""Write the malformed input files in this folder (run once; the files are committed).

    /work/venv/bin/python tests/bad_inputs/make_bad_inputs.py

Every file is a small variation of one good panel: 2 pilot areas and 5 comparator areas
(English unitary authorities), quarterly 2019Q1-2021Q4, pilot from 2021Q1. ``good/`` holds
the good files themselves. The tests read the files; they never run this script, so a
change here shows up as a changed file in review. Values are made up (deterministic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"

PILOT = {"E06000022": "Bath and North East Somerset", "E06000023": "Bristol, City of"}
COMPARATORS = {
    "E06000001": "Hartlepool",
    "E06000002": "Middlesbrough",
    "E06000003": "Redcar and Cleveland",
    "E06000004": "Stockton-on-Tees",
    "E06000005": "Darlington",
}
QUARTERS = [f"{y}Q{q}" for y in (2019, 2020, 2021) for q in (1, 2, 3, 4)]
START = "2021Q1"


def base_panel() -> pd.DataFrame:
    """The good long panel, pilot areas first; columns as in examples/west_of_england."""
    rng = np.random.default_rng(20240101)
    rows = []
    for i, (area, name) in enumerate({**PILOT, **COMPARATORS}.items()):
        pilot = area in PILOT
        level = 70.0 + 1.3 * i
        for t, period in enumerate(QUARTERS):
            post = pilot and period >= START
            rows.append({
                "area": area,
                "area_name": name,
                "period": period,
                "employment_rate": round(level + 0.1 * t + (1.5 if post else 0.0)
                                         + rng.normal(0.0, 0.3), 2),
                "claimant_rate": round(3.0 + 0.05 * i - 0.02 * t + rng.normal(0.0, 0.1), 2),
                "population": 100000 + 5000 * i,
                "pilot": int(pilot),
                "treated_now": int(post),
                "first_treated": START if pilot else "",
            })
    return pd.DataFrame(rows)


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pilot rows, comparator rows) without the treatment columns."""
    plain = frame.drop(columns=["pilot", "treated_now", "first_treated"])
    is_pilot = plain["area"].isin(list(PILOT))
    return plain[is_pilot].reset_index(drop=True), plain[~is_pilot].reset_index(drop=True)


def csv(frame: pd.DataFrame, name: str, **kwargs: object) -> None:
    frame.to_csv(HERE / name, index=False, lineterminator="\n", **kwargs)  # type: ignore[arg-type]


def text(name: str, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    (HERE / name).write_bytes(data)


def main() -> None:
    GOOD.mkdir(exist_ok=True)
    panel = base_panel()
    pilot, comps = split(panel)
    panel.to_csv(GOOD / "panel.csv", index=False, lineterminator="\n")
    pilot.to_csv(GOOD / "pilot.csv", index=False, lineterminator="\n")
    comps.to_csv(GOOD / "comparators.csv", index=False, lineterminator="\n")
    pilot.to_excel(GOOD / "pilot.xlsx", index=False, sheet_name="Data")

    # --- file format
    text("empty.csv", b"")
    text("header_only.csv", ",".join(pilot.columns) + "\n")
    text("blank_lines_only.csv", "\n\n   \n\n")
    csv(pilot.drop(columns="area_name"), "space_separated.csv", sep=" ")
    csv(pilot, "semicolon_decimal_comma.csv", sep=";", decimal=",")
    lines = pilot.to_csv(index=False, lineterminator="\n").splitlines()
    lines[4] = lines[4].replace('"Bath and North East Somerset"', "Bath, N.E. Somerset").replace(
        "Bath and North East Somerset", "Bath, N.E. Somerset")
    text("ragged_rows.csv", "\n".join(lines) + "\n")
    quoted = pilot.to_csv(index=False, lineterminator="\n").splitlines()
    quoted[16] = quoted[16].replace('"Bristol, City of"', '"Bristol, City of')
    text("unclosed_quote.csv", "\n".join(quoted) + "\n")
    text("title_rows.csv", "Table 3: Employment rate by local authority\n\n"
         + pilot.to_csv(index=False, lineterminator="\n"))
    dup_header = pilot.rename(columns={"claimant_rate": "employment_rate"})
    csv(dup_header, "duplicate_header.csv")
    welsh = pilot.replace({"Bath and North East Somerset": "Ynys Môn (Anglesey)"})
    text("not_utf8.csv", welsh.to_csv(index=False, lineterminator="\n").encode("cp1252"))
    text("utf16.csv", pilot.to_csv(index=False, lineterminator="\n").encode("utf-16"))
    text("unsupported.json", pilot.to_json(orient="records"))
    (HERE / "folder.csv").mkdir(exist_ok=True)  # a folder where a file is expected
    text("folder.csv/README.md",
         "A folder named like a CSV file, for tests/data/test_bad_inputs.py.\n")
    with pd.ExcelWriter(HERE / "notes_first_sheet.xlsx") as book:
        pd.DataFrame({"About this workbook": ["Source: made up", "Contact: nobody"]}).to_excel(
            book, sheet_name="Notes", index=False)
        pilot.to_excel(book, sheet_name="Data", index=False)
    text("corrupt.xlsx", "this is not really a workbook\n")
    text("corrupt.parquet", "this is not really a parquet file\n")
    wrong = pilot.copy()
    wrong["employment_rate"] = wrong["employment_rate"].map("{:.2f}".format).astype(object)
    wrong.loc[[3, 4], "employment_rate"] = "c"  # ONS marker for a suppressed value
    wrong.to_parquet(HERE / "wrong_types.parquet", index=False)
    floats = pilot.copy()
    floats["period"] = [2019 + (q - 1) / 4 for q in range(1, 13)] * 2
    floats.to_parquet(HERE / "period_as_float.parquet", index=False)

    # --- columns and values
    csv(pilot.rename(columns={"period": "time"}), "missing_period_column.csv")
    dots = comps.astype({"employment_rate": object})
    dots.loc[[14, 15, 16], "employment_rate"] = ".."
    csv(dots, "comparators_outcome_dotdot.csv")
    na_text = pilot.astype({"employment_rate": object})
    na_text.loc[6, "employment_rate"] = "n/a"
    csv(na_text, "outcome_na_text.csv")
    inf = pilot.astype({"employment_rate": object})
    inf.loc[2, "employment_rate"] = "inf"
    csv(inf, "outcome_infinite.csv")
    csv(pd.concat([pilot.iloc[:6], pilot.iloc[[5]], pilot.iloc[6:]]), "duplicate_area_period.csv")
    mixed = pilot.copy()
    mixed.loc[mixed["area"] == "E06000023", "period"] = [
        f"{y}-{m:02d}" for y in (2019, 2020, 2021) for m in (1, 4, 7, 10)]
    csv(mixed, "mixed_period_formats.csv")
    unreadable = pilot.copy()
    unreadable.loc[7, "period"] = "2020Q5"
    unreadable.loc[8, "period"] = "Spring 2021"
    csv(unreadable, "unparseable_period.csv")
    no_period = pilot.copy()
    no_period.loc[9, "period"] = ""
    csv(no_period, "missing_period_value.csv")
    no_area = pilot.copy()
    no_area.loc[13, "area"] = ""
    csv(no_area, "missing_area_value.csv")
    short = pilot.replace({"E06000023": "E0600023"})
    csv(short, "gss_short_code.csv")
    lower = comps.replace({"E06000004": "e06000004"})
    csv(lower, "comparators_gss_lowercase.csv")

    # --- comparators file
    csv(comps.drop(columns="claimant_rate"), "comparators_missing_column.csv")
    csv(comps.assign(notes="checked"), "comparators_extra_column.csv")
    csv(comps.rename(columns={"area": "Area", "period": "Period"}), "comparators_renamed.csv")
    csv(pd.concat([comps, pilot[pilot["area"] == "E06000023"]]), "comparators_overlap.csv")

    # --- treatment
    csv(panel[panel["area"].isin(list(PILOT))], "only_treated.csv")
    no_pre = pilot.copy()
    no_pre.loc[(no_pre["area"] == "E06000023") & (no_pre["period"] < START),
               "employment_rate"] = np.nan
    csv(no_pre, "treated_no_pre_period.csv")
    not_binary = panel.copy()
    not_binary.loc[20, "treated_now"] = 2
    csv(not_binary, "treatment_not_binary.csv")
    off = panel.copy()
    off.loc[22, "treated_now"] = 0  # E06000023, 2021Q3: switched off after 2021Q1
    csv(off, "treatment_switches_off.csv")
    varies = panel.copy()
    varies.loc[(varies["area"] == "E06000023") & (varies["period"] < "2020Q1"), "pilot"] = 0
    csv(varies, "treated_col_varies.csv")
    ft_varies = panel.copy()
    ft_varies.loc[15, "first_treated"] = "2021Q2"
    csv(ft_varies, "first_treated_varies.csv")
    ft_text = panel.copy()
    ft_text.loc[ft_text["area"] == "E06000023", "first_treated"] = "soon"
    csv(ft_text, "first_treated_unparseable.csv")
    negative = panel.copy()
    negative.loc[40, "population"] = -1
    csv(negative, "negative_weights.csv")
    csv(panel[panel["period"] >= "2020Q4"], "one_pre_period.csv")
    staggered = panel.copy()
    staggered.loc[staggered["area"] == "E06000023", "first_treated"] = "2020Q3"
    csv(staggered, "staggered_starts.csv")


if __name__ == "__main__":
    main()

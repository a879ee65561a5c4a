"""``lpip-eval digest`` end to end: issue 16's acceptance commands (dat.bcg with REML and DL;
five simulated partnerships run with three designs each) and the error contract."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from lpip_eval.cli.commands import app
from tests.cli.digest_partnerships import make_partnership
from tests.cli_runner import check_error_line, run_cli

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "lpip_eval" / "results" / "schema" / "digest.schema.json")
                    .read_text(encoding="utf-8"))
BCG_ARGS = ["digest", "--effects", "bcg.csv", "--name-col", "trial", "--estimate-col", "yi",
            "--se-col", "sei", "--json", "-"]


@pytest.fixture()
def bcg_dir(tmp_path: Path) -> Path:
    d = pd.read_csv(ROOT / "tests" / "reference" / "bcg_trials.csv")
    t, c = d["tpos"] + d["tneg"], d["cpos"] + d["cneg"]
    frame = pd.DataFrame({"trial": d["author"] + " " + d["year"].astype(str),
                          "yi": np.log((d["tpos"] / t) / (d["cpos"] / c)),
                          "sei": np.sqrt(1 / d["tpos"] - 1 / t + 1 / d["cpos"] - 1 / c)})
    frame.to_csv(tmp_path / "bcg.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("pooling,tau2,mu", [("reml", 0.3132, -0.7145),
                                             ("dl", 0.3088, -0.7141)])
def test_bcg_acceptance(bcg_dir: Path, monkeypatch: pytest.MonkeyPatch, pooling: str,
                        tau2: float, mu: float) -> None:
    code, out, err = run_cli([*BCG_ARGS, "--pooling", pooling], bcg_dir, monkeypatch)
    assert code == 0, err
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["kind"] == "digest" and data["groups"][0]["k"] == 13
    assert data["heterogeneity"]["tau2"] == pytest.approx(tau2, abs=1e-4)  # metafor
    assert data["pooled"]["estimate"] == pytest.approx(mu, abs=1e-4)  # metafor
    assert data["heterogeneity"]["q"] == pytest.approx(152.2330, abs=1e-4)  # metafor
    again = run_cli([*BCG_ARGS, "--pooling", pooling], bcg_dir, monkeypatch)[1]
    assert again == out  # deterministic


def test_bcg_reports(bcg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = [a for a in BCG_ARGS if a not in ("--json", "-")]
    code, out, err = run_cli([*args, "--hartung-knapp", "--report", "d.html", "--eml", "d.eml",
                              "--markdown", "d.md"], bcg_dir, monkeypatch)
    assert code == 0, err
    assert "In a new area, expect between" in out
    html = (bcg_dir / "d.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "Where it worked" in html
    assert "Hartung-Knapp" in html
    message = BytesParser(policy=policy.default).parsebytes((bcg_dir / "d.eml").read_bytes())
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html",
                                                              "image/png"}
    assert "| Aronson 1948 |" in (bcg_dir / "d.md").read_text(encoding="utf-8")


def test_five_partnerships(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five simulated partnerships (seed, places and true effect differ), each run with did,
    synth and match: one result per place is pooled, the others shown beside it."""
    from typer.testing import CliRunner

    effects = (1.5, 1.0, 2.0, 0.5, 1.5)
    folders = []
    for i, effect in enumerate(effects):
        config = make_partnership(tmp_path / f"p{i}", seed=100 + i, first=4 * i,
                                  effect=effect, title=f"Partnership {i + 1}")
        result = CliRunner().invoke(app, ["run", str(config), "--quiet"])
        assert result.exit_code == 0, result.output
        folders.append(f"p{i}/out")
    folders[2] += "/index.json"  # an index.json works like its folder
    code, out, err = run_cli(["digest", *folders, "--json", "d.json", "--report", "d.html"],
                             tmp_path, monkeypatch)
    assert code == 0, err
    data = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    (group,) = data["groups"]
    assert group["k"] == 5
    pooled = [r for r in group["results"] if r["role"] == "pooled"]
    assert sorted(r["place"] for r in pooled) == [f"Partnership {i}" for i in range(1, 6)]
    assert len([r for r in group["results"] if r["role"] == "alternative"]) == 10
    assert sum(r["weight"] for r in pooled) == pytest.approx(100.0)
    assert 0.5 < data["pooled"]["estimate"] < 2.0  # the true effects average 1.3
    assert data["prediction"]["low"] < data["pooled"]["ci_low"]
    assert "Across 5 places" in out
    # duplicates: the same partnership twice is refused, nothing written
    code, out, err = run_cli(["digest", "p0/out", "p0/out/index.json", "--json", "x.json"],
                             tmp_path, monkeypatch)
    assert code == 3
    check_error_line(err, files=(), mentions=("the same evaluation twice",))
    assert not (tmp_path / "x.json").exists()


def test_usage_and_file_errors(bcg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run_cli([*BCG_ARGS, "--pooling", "bayes"], bcg_dir, monkeypatch)
    assert code == 2
    check_error_line(err, files=(), mentions=("--pooling",))
    code, _, err = run_cli(["digest"], bcg_dir, monkeypatch)
    assert code == 2
    check_error_line(err, files=(), mentions=("nothing to digest",))
    (bcg_dir / "bad.json").write_text("{", encoding="utf-8")
    code, _, err = run_cli(["digest", "bad.json", "--report", "r.html"], bcg_dir, monkeypatch)
    assert code == 3
    check_error_line(err, files=("bad.json",), mentions=("not valid JSON",))
    assert not (bcg_dir / "r.html").exists()


def test_digest_never_overwrites_its_input_and_checks_addresses_first(
        bcg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest shares report's output and e-mail rules (issue 10): an output that is an
    input is refused, a bad address is refused before anything is written."""
    args = [a for a in BCG_ARGS if a not in ("--json", "-")]
    before = (bcg_dir / "bcg.csv").read_bytes()
    code, _, err = run_cli([*args, "--markdown", "bcg.csv"], bcg_dir, monkeypatch)
    assert code == 2 and "is an input file" in err
    assert (bcg_dir / "bcg.csv").read_bytes() == before
    code, _, err = run_cli([*args, "--markdown", "d.md", "--send-to", '"Doe, John" <john>',
                            "--from", "hub@example.org"], bcg_dir, monkeypatch)
    assert code == 2 and "--send-to" in err and err.count("Error:") == 1
    assert not (bcg_dir / "d.md").exists()

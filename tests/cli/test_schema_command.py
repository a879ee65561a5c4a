"""``lpip-eval schema``: the published JSON Schemas, the result's with the registry's methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import check_error_line, run_cli

from lpip_eval.methods.registry import METHODS


def test_schema_prints_the_result_schema_with_the_registry_methods(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["schema"], tmp_path, monkeypatch)
    assert code == 0
    document = json.loads(out)
    assert document["title"] == "lpip-eval EffectResult"
    assert document["properties"]["method"]["enum"] == list(METHODS)


@pytest.mark.parametrize("kind", ["plan", "digest"])
def test_schema_prints_the_plan_and_digest_schemas(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["schema", kind], tmp_path, monkeypatch)
    assert code == 0
    assert json.loads(out)["$schema"].startswith("https://json-schema.org/")


def test_unknown_schema_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["schema", "digets"], tmp_path, monkeypatch)
    assert code == 2 and out == ""
    check_error_line(err, files=(), mentions=("digets", "did you mean 'digest'?"))

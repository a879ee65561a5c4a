"""One JSON Schema check for results (docs: "JSON result"), shared by the tests.

``assert_valid`` validates a result document against the published schema (Draft 2020-12,
with format checks) and names every failing path; ``assert_finite`` asserts the document has
no NaN or infinity (``json.dumps(allow_nan=False)`` would raise on them).
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import jsonschema

from lpip_eval.methods.registry import result_schema


@cache
def validator() -> jsonschema.protocols.Validator:
    """The validator of the published schema, itself checked against Draft 2020-12."""
    schema = result_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid(document: dict[str, Any]) -> None:
    """``document`` is valid against the schema (the message lists every error's path)."""
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def floats(value: Any) -> list[float]:
    """Every float in a JSON-like document."""
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in floats(v)]
    return [value] if isinstance(value, float) else []


def assert_finite(document: dict[str, Any]) -> None:
    """No NaN or infinity anywhere in ``document``."""
    json.dumps(document, allow_nan=False)  # raises ValueError on NaN or infinity
    assert all(math.isfinite(f) for f in floats(document))

"""Shared pytest setup: make the helper modules in tests/ (e.g. ``simulate``) importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Our linear algebra is many small products; multi-threaded BLAS only adds contention on a
# shared 2-core machine (30x slower under load). Set before NumPy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


import pytest  # noqa: E402
from cli_runner import input_hashes  # noqa: E402


@pytest.fixture(scope="module")
def hashes_before() -> dict[str, str]:
    """SHA-256 of every file in tests/bad_inputs/ before a module's tests run."""
    return input_hashes()

"""The one 'did you mean' helper (errors.nearest / errors.closest), shared by data columns,
config keys, method names and gates."""

from __future__ import annotations

import pytest

from lpip_eval.errors import UsageError, closest, nearest
from lpip_eval.results.gates import parse_gates


@pytest.mark.parametrize(("name", "valid", "meant"), [
    ("SEED", ["draws", "seed"], "seed"),            # other case (difflib alone misses it)
    ("employment", ["employment_rate", "claimant_rate"], "employment_rate"),  # a prefix
    ("desing", ["design", "inference"], "design"),  # a typo
    ("zzz", ["draws", "seed"], None),
])
def test_nearest(name: str, valid: list[str], meant: str | None) -> None:
    assert nearest(name, valid) == meant


def test_closest_lists_keys_sorted_or_data_names_in_order() -> None:
    assert closest("zzz", ["seed", "draws"]) == "valid: draws, seed"
    names = [f"area {k}" for k in range(15, 0, -1)]
    assert closest("zzz", names, "areas include", limit=2) == \
        "areas include: 'area 15', 'area 14' and 13 more"


def test_gates_use_the_same_rule() -> None:
    with pytest.raises(UsageError) as exc:  # an unknown gate is a usage error (exit 2)
        parse_gates(["POOR-PRE-FIT"])
    assert exc.value.hint is not None
    assert exc.value.hint.startswith("did you mean 'poor-pre-fit'? gates: ")


def test_errors_survive_pickling_as_from_a_worker_process() -> None:
    # a design's error raised in a process-pool or Dask worker reaches the CLI unchanged
    import pickle

    from lpip_eval.errors import DesignError
    from lpip_eval.methods.specs import OptionError

    for error in (OptionError("draws", "must be at least 19, got 3", hint="e.g. 999"),
                  DesignError("too few periods", hint="use more")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert (str(back), back.exit_code, back.__dict__) == (str(error), error.exit_code,
                                                              error.__dict__)

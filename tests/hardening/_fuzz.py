"""Settings shared by the hardening tests: bounded, reproducible fuzzing.

``@FUZZ`` runs ``GIC_FUZZ_EXAMPLES`` examples (100 by default, so that the whole folder stays
well under two minutes on two busy cores), derandomised so that CI sees the same inputs on
every run, without a deadline (a loaded machine is not a bug), and without Hypothesis'
example database (nothing written into the repository). Raise the number locally to fuzz
longer: ``GIC_FUZZ_EXAMPLES=2000 pytest tests/hardening``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("GIC_FUZZ_EXAMPLES", "100"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def mutations(seed: bytes):
    """A strategy of byte strings near ``seed``: cut, with bytes replaced, inserted or
    duplicated, the way a truncated transfer or a bit flip breaks a file."""
    from hypothesis import strategies as st

    @st.composite
    def mutate(draw):
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["cut", "flip", "insert", "delete", "repeat"]))
            if not data:
                break
            at = draw(st.integers(0, len(data) - 1))
            if kind == "cut":
                del data[at:]
            elif kind == "flip":
                data[at] = draw(st.integers(0, 255))
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=12))
            elif kind == "delete":
                del data[at : at + draw(st.integers(1, 40))]
            else:
                end = min(len(data), at + draw(st.integers(1, 40)))
                data[at:at] = data[at:end]
        return bytes(data)

    return mutate()

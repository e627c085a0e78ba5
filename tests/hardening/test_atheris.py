"""Coverage-guided fuzzing (atheris, :mod:`tests.hardening.atheris_targets`) of the VOEvent,
NATS message, photometry CSV, FITS and descriptor parsers, for a bounded number of runs.

``GIC_ATHERIS_RUNS`` inputs per parser (2,000 by default, a few seconds each); raise it to
fuzz longer: ``GIC_ATHERIS_RUNS=200000 pytest tests/hardening/test_atheris.py``. A crash
fails the test with libFuzzer's report, which names the input it saved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.atheris_targets import NAMES

RUNS = int(os.environ.get("GIC_ATHERIS_RUNS", "2000"))
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", sorted(NAMES))
def test_coverage_guided_inputs_end_in_a_record_or_the_documented_error(tmp_path, target):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.hardening.atheris_targets",
            target,
            str(tmp_path / "corpus"),
            f"-runs={RUNS}",
            "-seed=1",
            "-max_len=8192",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert f"Done {RUNS} runs" in run.stderr, run.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))

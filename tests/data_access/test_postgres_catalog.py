"""The store tests on a lake whose catalog is in PostgreSQL (pgserver), as a deployment over
several machines keeps it: they run again in a pytest of their own with
``GIC_TEST_CATALOG=postgres`` (tests/conftest.py), each workspace's catalog in a new database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: The tests of each store, through the ``workspace`` and ``stores`` fixtures.
STORE_TESTS = [
    "tests/data_access/telemetry/test_store.py",
    "tests/data_access/alerts/test_store.py",
    "tests/data_access/calibration/test_store.py",
    "tests/data_access/products/test_store.py",
]


def test_the_store_tests_pass_with_the_catalog_in_postgresql(pg_server):
    environment = {**os.environ, "GIC_TEST_CATALOG": "postgres"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *STORE_TESTS],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout, run.stdout[-2000:]

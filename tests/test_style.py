"""The code reads as one codebase: ruff's lint and format settle it (pyproject's [tool.ruff])."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.fail("ruff is not installed (pip install -e '.[test]')")
    return subprocess.run([binary, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_lint():
    run = ruff("check", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_format():
    run = ruff("format", "--check", ".")
    assert run.returncode == 0, run.stdout + run.stderr

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


def test_no_formatter_opt_outs():
    """The formatter decides every line: no ``fmt: skip`` or ``fmt: off`` left in the code."""
    opt_outs = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in (
            "analysis",
            "data_access",
            "pipelines",
            "app",
            "demo",
            "sandbox",
            "bench",
            "tests",
            "tools",
        )
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "# fmt: " + "skip" in line or "# fmt: " + "off" in line
    ]
    assert not opt_outs, "formatter opt-outs: " + ", ".join(opt_outs)

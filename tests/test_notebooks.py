"""Every notebook runs top to bottom against a demo workspace: a notebook that breaks fails CI."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, demo_copy, monkeypatch):
    monkeypatch.setenv("GIC_WORKSPACE", str(demo_copy))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_there_is_a_notebook_per_capability():
    expected = {"telemetry", "alerts", "calibration", "products", "reprocess"}
    assert {p.stem for p in NOTEBOOKS} >= expected

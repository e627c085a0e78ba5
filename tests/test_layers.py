"""The three layers import one way: analysis/ is pure science, data_access/ never imports app/."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "analysis": {"app", "data_access", "panel", "holoviews", "bokeh", "duckdb", "requests",
                 "psycopg", "pandas"},
    "data_access": {"app", "panel", "holoviews", "bokeh"},
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_one_way(layer):
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_modules(path) & FORBIDDEN[layer])
        for path in (REPO / layer).rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}

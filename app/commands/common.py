"""What every ``gic`` subcommand shares: the workspace, output formats, progress bars."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from typing import TextIO

import pandas as pd
from tqdm import tqdm

from data_access.workspace import Workspace, resolve_workspace_root


class UsageError(Exception):
    """A command given arguments it cannot use; the message says which and why."""


def open_workspace(args) -> Workspace:
    """The workspace named by ``--workspace``, ``GIC_WORKSPACE`` or ``./workspace``, its
    cache read at the snapshot of ``--at`` when given."""
    workspace = Workspace.open(resolve_workspace_root(args.workspace))
    at = getattr(args, "at", None)
    return workspace if at is None else dataclasses.replace(workspace, at=at)


def write_frame(frame: pd.DataFrame, fmt: str, out: TextIO | None = None) -> None:
    """Print a table as ``json`` (a list of objects), ``csv`` or an aligned ``table``."""
    out = out or sys.stdout
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        json.dump(records, out, indent=2)
        out.write("\n")
    elif fmt == "csv":
        frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    elif fmt == "table":
        out.write(frame.to_string(index=False) + "\n" if len(frame) else "(nothing)\n")
    else:
        raise UsageError(f"unknown format '{fmt}'")


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator:
    """A progress callback ``(done, total)`` drawing a bar on stderr when it is a terminal."""
    bar = tqdm(desc=description, unit="file", file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()

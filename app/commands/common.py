"""What every ``gic`` subcommand shares: the workspace, output formats, progress bars."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from typing import TextIO, TypeVar

import pandas as pd
from tqdm import tqdm

from data_access.stores import Stores
from data_access.workspace import Workspace, resolve_workspace_root

#: What a report reader returns.
R = TypeVar("R")


class UsageError(Exception):
    """A command given arguments it cannot use; the message says which and why."""


def open_workspace(args) -> Workspace:
    """The workspace named by ``--workspace``, ``GIC_WORKSPACE`` or ``./workspace``, its
    cache read at the snapshot of ``--at`` when given."""
    workspace = Workspace.open(resolve_workspace_root(args.workspace))
    at = getattr(args, "at", None)
    return workspace if at is None else dataclasses.replace(workspace, at=at)


def read_report(args, make: Callable[[Stores], R | None], *, missing: str) -> R:
    """What ``make`` reads from the workspace's stores (opened read-only, closed after).

    Raises
    ------
    UsageError
        With the text ``missing`` when ``make`` finds nothing (returns None).
    """
    stores = Stores(open_workspace(args), read_only=True)
    try:
        report = make(stores)
    finally:
        stores.close()
    if report is None:
        raise UsageError(missing)
    return report


def print_json(report, *, default: Callable | None = None) -> None:
    """Print a report as indented JSON (``default`` turns what JSON lacks into text)."""
    print(json.dumps(report, indent=2, default=default))


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

"""Downloads of what a view shows: every table as CSV and as Parquet."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import panel as pn

FORMATS = ("csv", "parquet")


def table_bytes(frame: pd.DataFrame, kind: str) -> io.BytesIO:
    """A table as CSV or Parquet bytes, for a FileDownload."""
    buffer = io.BytesIO()
    if kind == "csv":
        buffer.write(frame.to_csv(index=False).encode())
    elif kind == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        raise ValueError(f"unknown download format '{kind}'; expected one of {FORMATS}")
    buffer.seek(0)
    return buffer


def download_buttons(name: str, table: Callable[[], pd.DataFrame]) -> pn.Row:
    """CSV and Parquet buttons that download ``table()`` as ``name.csv`` / ``name.parquet``."""
    return pn.Row(
        *(
            pn.widgets.FileDownload(
                callback=lambda kind=kind: table_bytes(table(), kind),
                filename=f"{name}.{kind}",
                label=kind.upper(),
                color="primary",
                width=90,
                margin=(2, 4),
            )
            for kind in FORMATS
        )
    )

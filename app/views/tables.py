"""The read-only tables of the pages (Panel's Tabulator), column titles escaped.

Tabulator shows the cells of a text column as text (Bokeh's ``StringFormatter``) but
writes a column's title into the page as HTML; a column named by a FITS table, a
descriptor or a cache row is text from outside, so every table of a page is made here.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from app.markup import escape_html

#: Rows beyond which a table gets a filter above each column.
LONG_TABLE = 20


def table(frame: pd.DataFrame, *, titles: dict | None = None, **options) -> pn.widgets.Tabulator:
    """A read-only table as wide as the page, without the index: its columns fit their
    content and scroll sideways within the page, the first (the key) frozen so that it stays
    in view; a table longer than :data:`LONG_TABLE` rows gets a filter above each column.

    Parameters
    ----------
    frame : DataFrame
    titles : dict, optional
        Column → title shown, for the columns not shown by their name; every title is
        escaped.
    **options
        Tabulator's (``pagination``, ``selectable``, ``hidden_columns``, ``frozen_columns``
        for other key columns, ``header_filters``...).
    """
    shown = {column: column for column in frame.columns} | (titles or {})
    settings = {
        "disabled": True,
        "show_index": False,
        "sizing_mode": "stretch_width",
        "layout": "fit_data_table",
        "frozen_columns": list(frame.columns[:1]),
        "header_filters": len(frame) > LONG_TABLE,
    }
    return pn.widgets.Tabulator(
        frame,
        titles={column: escape_html(title) for column, title in shown.items()},
        **settings | options,
    )


def paged_table(frame: pd.DataFrame, **options) -> pn.widgets.Tabulator:
    """A :func:`table` of ten rows a page (``page_size`` may change it)."""
    return table(frame, **{"pagination": "local", "page_size": 10} | options)

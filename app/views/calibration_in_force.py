"""The masters in force: which master of each instrument, filter and type is in force now,
when and how it was promoted, and whether it is valid; a card for each on the Bias, Dark
and Flat pages."""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import panel as pn

from app.markup import html, markdown
from app.plots.calibration import kind_label
from data_access.calibration.store import CalibrationStore


def _promoted_how(report) -> str:
    """How a master came in force, from the row of its report (None: no report)."""
    if report is None or pd.isna(report["certified"]) or not report["certified"]:
        return "automatic"
    return f"certified by {report['certified_by']}"


def _when(moment) -> str:
    return "at an unknown time" if pd.isna(moment) else f"{pd.Timestamp(moment):%Y-%m-%d %H:%M} UTC"


def in_force(store: CalibrationStore, caltype: str, kinds: pd.DataFrame) -> pd.DataFrame:
    """The master in force of each kind of ``kinds`` (instrument, filter): instrument,
    filter, file, night, promoted_at, how (automatic, or certified by whom), valid (its
    verdict in force); file None for a kind with none in force."""
    masters = store.masters(caltype)
    masters = masters[masters["status"] == "master"].set_index(["instrument", "filter"])
    reports = store.trend(caltype).drop_duplicates("master_id", keep="last")
    reports = reports.set_index("master_id")
    rows = []
    for instrument, filter_ in zip(kinds["instrument"], kinds["filter"], strict=True):
        row = {"instrument": instrument, "filter": filter_, "file": None, "night": None}
        if (instrument, filter_) in masters.index:
            master = masters.loc[(instrument, filter_)]
            report = (
                reports.loc[master["master_id"]] if master["master_id"] in reports.index else None
            )
            row |= {
                "file": PurePath(master["path"]).name,
                "night": master["night"],
                "promoted_at": master["promoted_at"],
                "how": _promoted_how(report),
                "valid": None if report is None else bool(report["verdict"]),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def in_force_cards(frame: pd.DataFrame, caltype: str) -> pn.FlexBox:
    """A card for each row of :func:`in_force`."""
    cards = []
    for row in frame.itertuples():
        kind = kind_label(row.instrument, row.filter)
        if row.file is None:
            text = markdown("No master {caltype} in force.", caltype=caltype)
        else:
            text = markdown(
                "**In force**: {file}, night {night}; promoted {when} ({how}); {valid}",
                file=row.file,
                night="unknown" if pd.isna(row.night) else f"{pd.Timestamp(row.night):%Y-%m-%d}",
                when=_when(row.promoted_at),
                how=row.how,
                valid="valid" if row.valid else "**not valid**",
            )
        cards.append(
            pn.Card(
                pn.pane.Markdown(text, margin=(0, 5)),
                header=pn.pane.HTML(html("<b>{caltype} {kind}</b>", caltype=caltype, kind=kind)),
                collapsible=False,
                width=300,
                margin=(3, 4),
            )
        )
    return pn.FlexBox(*cards, sizing_mode="stretch_width")

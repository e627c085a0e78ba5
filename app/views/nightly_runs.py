"""The nightly calibration runs: what each fetched, built, validated, promoted, published
and deleted, and what failed."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from app.markup import SafeMarkdown, markdown
from app.views.tables import paged_table
from data_access.calibration.nightly_runs import NightlyRuns

#: Column titles of the runs' table.
TITLES = {
    "night": "Night",
    "started_at": "Started (UTC)",
    "links": "Links",
    "frames_fetched": "Fetched",
    "frames_failed": "Not had",
    "masters_built": "Built",
    "masters_valid": "Valid",
    "masters_promoted": "Promoted",
    "published": "Published",
    "raw_deleted": "Raw deleted",
    "outcome": "Outcome",
    "failures": "Failures",
}


def runs_frame(runs: NightlyRuns, *, limit: int = 30) -> pd.DataFrame:
    """The newest runs, the columns of :data:`TITLES`, the night as ``YYYY-MM-DD``."""
    frame = runs.table(limit=limit)[list(TITLES)]
    frame["night"] = pd.to_datetime(frame["night"]).dt.strftime("%Y-%m-%d")
    frame["started_at"] = pd.to_datetime(frame["started_at"]).dt.strftime("%Y-%m-%d %H:%M")
    return frame


class NightlyRunsView(pn.viewable.Viewer):
    """The last nightly calibration runs, newest first, with a line on the newest."""

    runs = param.ClassSelector(class_=NightlyRuns, constant=True)

    def __init__(self, runs: NightlyRuns, **params) -> None:
        super().__init__(runs=runs, **params)

    def summary(self, frame: pd.DataFrame) -> SafeMarkdown:
        """One line on the newest run."""
        if frame.empty:
            return markdown("No nightly calibration run yet.")
        last = frame.iloc[0]
        return markdown(
            "Last nightly run: night {night}, **{outcome}**: {promoted:d} of {built:d} "
            "master(s) promoted, {failed:d} frame(s) not had.",
            night=last["night"],
            outcome=last["outcome"],
            promoted=int(last["masters_promoted"]),
            built=int(last["masters_built"]),
            failed=int(last["frames_failed"]),
        )

    def __panel__(self) -> pn.Column:
        frame = runs_frame(self.runs)
        return pn.Column(
            pn.pane.Markdown(self.summary(frame)),
            paged_table(frame, titles=TITLES),
            name="Nightly runs",
            sizing_mode="stretch_width",
        )

"""Each nightly calibration run in the cache's ``calibration_nightly_run``: what it fetched,
built, validated, promoted, published and deleted, and what failed.

A run's ``outcome`` is ``done`` (every frame had, every series gave a report), ``no
frames`` (nothing to do: the completeness grid shows the night's series missing) or
``failures`` (the texts are in ``failures``, a JSON list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from data_access.cache import Cache, next_id

#: Outcomes of a nightly run.
DONE, NO_FRAMES, FAILURES = "done", "no frames", "failures"


@dataclass
class NightlyRecord:
    """The counts of one nightly run, as kept (times naive UTC)."""

    night: date
    started_at: datetime
    finished_at: datetime
    links: int = 0
    frames_fetched: int = 0
    frames_failed: int = 0
    masters_built: int = 0
    masters_valid: int = 0
    masters_promoted: int = 0
    published: int = 0
    raw_deleted: int = 0
    outcome: str = DONE
    failures: list[str] = field(default_factory=list)


_COUNTS = (
    "links",
    "frames_fetched",
    "frames_failed",
    "masters_built",
    "masters_valid",
    "masters_promoted",
    "published",
    "raw_deleted",
)


class NightlyRuns:
    """The nightly calibration runs of a workspace."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def record(self, run: NightlyRecord) -> int:
        """Keep ``run``; returns its ``run_id``."""
        columns = ("run_id", "night", "started_at", "finished_at", *_COUNTS, "outcome", "failures")
        with self.cache.transaction() as con:
            run_id = next_id(con, "calibration_nightly_run", "run_id")
            values = [run_id, run.night, run.started_at, run.finished_at]
            values += [getattr(run, name) for name in _COUNTS]
            values += [run.outcome, json.dumps(run.failures)]
            con.execute(
                f"INSERT INTO calibration_nightly_run ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                values,
            )
        return run_id

    def last_started(self) -> dict[date, datetime]:
        """Night to the start (naive UTC) of its last run."""
        rows = self.cache.execute(
            "SELECT night, max(started_at) FROM calibration_nightly_run GROUP BY night"
        )
        return dict(rows)

    def done_before(self, moment: datetime) -> list[date]:
        """Nights whose last run is ``done`` and finished before ``moment`` (naive UTC)."""
        rows = self.cache.execute(
            "SELECT night FROM calibration_nightly_run "
            "QUALIFY row_number() OVER (PARTITION BY night ORDER BY started_at DESC, run_id DESC)"
            " = 1 AND outcome = ? AND finished_at < ? ORDER BY night",
            [DONE, moment],
        )
        return [row[0] for row in rows]

    def table(self, *, limit: int = 60) -> pd.DataFrame:
        """The newest runs first: night, times, counts, outcome and failures (one text)."""
        frame = self.cache.query_df(
            "SELECT run_id, night, started_at, finished_at, "
            + ", ".join(_COUNTS)
            + ", outcome, failures FROM calibration_nightly_run "
            "ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [limit],
        )
        frame["failures"] = ["; ".join(json.loads(text)) for text in frame["failures"]]
        return frame

"""The image quality of every science frame the workbench sees, in the cache's ``frame_quality``.

A record comes from GP1's outputs (``source`` 'gp1', what its first step computed, read
from the CDB), from a GP2 run of the workbench ('gp2') or from the demo ('demo'). One row
is kept per frame and source (the newest record replaces the earlier one, in the same
transaction); where GP1 and GP2 both measured a frame, GP1's figures are shown. Each row
carries the telemetry at the exposure (a JSON object, column → reading as text) and is
judged against the ``[quality]`` limits of gic.toml (:class:`~analysis.frame_quality.QualityLimits`).
Use::

    store = QualityStore.from_workspace(workspace, cache)
    store.record([quality], paths=["raw/a.fits"], telemetry=[{"humidity (%)": "41.0"}])
    store.frames(date(2026, 12, 1), instrument="DDRAGO1", filter_="g")   # with `outside`
    store.nightly("DDRAGO1", "g", start, end)                            # nightly medians
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from analysis.frame_quality import FIGURES, FrameQuality, QualityLimits
from data_access.alerts.bursts import _plain
from data_access.cache import Cache, next_id

_NIGHT = re.compile(r"^\d{8}$")

#: The stored columns a page or JSON shows, in order (``telemetry`` is expanded after them).
COLUMNS = [
    "image_id",
    "night",
    "instrument",
    "filter",
    "t_mid",
    "exptime",
    *FIGURES[:2],
    "zp_stars",
    *FIGURES[2:],
    "source",
    "run_id",
    "path",
]

#: GP1's figures first, then the newest record: the one row shown per frame.
_PREFERRED = """
    QUALIFY row_number() OVER (
        PARTITION BY image_id, t_mid
        ORDER BY (source = 'gp1') DESC, recorded_at DESC, quality_id DESC
    ) = 1
"""


def parse_night(text: str) -> date:
    """The night of a ``YYYYMMDD`` text (a URL's or a command's).

    Raises
    ------
    ValueError
        If the text is not a date written YYYYMMDD; the message quotes it.
    """
    try:
        if not _NIGHT.match(str(text)):
            raise ValueError("not eight digits")
        return datetime.strptime(str(text), "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"{str(text)[:40]!r} is not a night (YYYYMMDD)") from None


def json_records(frame: pd.DataFrame) -> list[dict]:
    """A table's rows JSON-ready: times in ISO UTC, dates as YYYY-MM-DD, NaN as None."""
    return [
        {
            key: value.isoformat() if type(value) is date else _plain(value)
            for key, value in row.items()
        }
        for row in frame.to_dict("records")
    ]


def nightly_medians(frames: pd.DataFrame) -> pd.DataFrame:
    """The nightly medians of each figure of frames (:meth:`QualityStore.frames`), oldest first.

    Returns
    -------
    DataFrame
        night, n_frames, n_outside, then the median of each of
        :data:`~analysis.frame_quality.FIGURES`.
    """
    columns = ["night", "n_frames", "n_outside", *FIGURES]
    if frames.empty:
        return pd.DataFrame(columns=columns)
    grouped = frames.groupby("night", sort=True)
    medians = grouped[list(FIGURES)].median()
    medians.insert(0, "n_outside", grouped["outside"].agg(lambda s: int((s != "").sum())))
    medians.insert(0, "n_frames", grouped.size())
    return medians.reset_index()[columns]


class QualityStore:
    """The ``frame_quality`` table of the cache, judged against the limits.

    Parameters
    ----------
    cache : Cache
    limits : QualityLimits
        The ``[quality]`` limits of gic.toml.
    night_offset_h : float
        Hours added to a UTC time to give its observing night's date
        (``[calibration] night_offset_h``, the nights of the calibration pages).
    trend_nights : int, optional
        Nights the trends look back over by default.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        limits: QualityLimits,
        night_offset_h: float,
        trend_nights: int = 30,
    ) -> None:
        self.cache = cache
        self.limits = limits
        self.night_offset_h = night_offset_h
        self.trend_nights = trend_nights

    @classmethod
    def from_workspace(cls, workspace, cache: Cache) -> QualityStore:
        config = workspace.config
        return cls(
            cache,
            limits=QualityLimits.from_settings(config.quality),
            night_offset_h=config.calibration.night_offset_h,
            trend_nights=config.quality.trend_nights,
        )

    def night_of(self, moment: datetime) -> date:
        """The observing night of a UTC time (naive, or aware and converted)."""
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return (moment + timedelta(hours=self.night_offset_h)).date()

    # -- writing --------------------------------------------------------------------------
    def record(
        self,
        records: Sequence[FrameQuality],
        *,
        paths: Sequence[str] | None = None,
        telemetry: Sequence[dict] | None = None,
        run_id: str = "",
    ) -> int:
        """Store records (each replacing the earlier record of its frame and source).

        Parameters
        ----------
        records : sequence of FrameQuality
        paths : sequence of str, optional
            The file of each record.
        telemetry : sequence of dict, optional
            The readings at each record's exposure, column → text.
        run_id : str, optional
            The GP2 run that measured them.

        Returns
        -------
        int
            Rows written.

        Raises
        ------
        ValueError
            If ``paths`` or ``telemetry`` do not match ``records`` one to one, or a record's
            ``t_mid`` is not an ISO time (the message names the frame).
        """
        paths = list(paths) if paths is not None else [""] * len(records)
        telemetry = list(telemetry) if telemetry is not None else [{}] * len(records)
        if not len(paths) == len(telemetry) == len(records):
            raise ValueError(
                f"frame quality: {len(records)} records, {len(paths)} paths and "
                f"{len(telemetry)} telemetry rows: one each expected"
            )
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = {}  # a frame given twice: the later record replaces the earlier
        for q, path, readings in zip(records, paths, telemetry, strict=True):
            row = self._row(q, path, readings, run_id, now)
            key = (row["image_id"], row["t_mid"], row["source"])
            rows.pop(key, None)  # and it takes the last place, as the newest
            rows[key] = row
        if not rows:
            return 0
        # object columns: a missing figure goes in as NULL (not NaN)
        incoming = pd.DataFrame(list(rows.values()), dtype=object)
        columns = ", ".join(incoming.columns)
        with self.cache.transaction() as con:  # set-based: the lake's DELETE scans per call
            first = next_id(con, "frame_quality", "quality_id")
            incoming["quality_id"] = range(first, first + len(incoming))
            con.register("_incoming", incoming)
            try:
                con.execute(
                    "DELETE FROM frame_quality f USING _incoming i WHERE f.image_id = i.image_id "
                    "AND f.t_mid = i.t_mid AND f.source = i.source"
                )
                con.execute(
                    f"INSERT INTO frame_quality ({columns}, quality_id) "
                    f"SELECT {columns}, quality_id FROM _incoming"
                )
            finally:
                con.unregister("_incoming")
        return len(rows)

    def _row(self, quality: FrameQuality, path: str, readings: dict, run_id: str, now) -> dict:
        values = quality.to_dict()
        try:
            t_mid = datetime.fromisoformat(values["t_mid"]).replace(tzinfo=None)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{quality.image_id}: t_mid {values['t_mid']!r} is not an ISO time"
            ) from exc
        for figure in FIGURES:
            values[figure] = None if not math.isfinite(values[figure]) else values[figure]
        return {
            **values,
            "t_mid": t_mid,
            "night": self.night_of(t_mid),
            "path": str(path),
            "telemetry": json.dumps({str(k): str(v) for k, v in readings.items()}),
            "run_id": run_id,
            "recorded_at": now,
        }

    # -- reading --------------------------------------------------------------------------
    def kinds(self) -> pd.DataFrame:
        """Every instrument and filter with records: instrument, filter, n_frames, last_night."""
        return self.cache.query_df(
            "SELECT instrument, filter, count(DISTINCT (image_id, t_mid)) AS n_frames, "
            "max(night) AS last_night FROM frame_quality GROUP BY instrument, filter "
            "ORDER BY instrument, filter"
        )

    def nights(self) -> list[date]:
        """The nights with records, newest first."""
        rows = self.cache.execute("SELECT DISTINCT night FROM frame_quality ORDER BY night DESC")
        return [row[0] for row in rows]

    def frames(self, night: date, *, instrument: str = "", filter_: str = "") -> pd.DataFrame:
        """One night's frames (of one instrument and filter when given), time-ordered.

        Returns
        -------
        DataFrame
            :data:`COLUMNS`, ``outside`` (why the frame lies outside the limits, '' when it
            does not), then one column per telemetry reading.
        """
        where, params = ["night = ?"], [night]
        for column, value in (("instrument", instrument), ("filter", filter_)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        return self._judged(" AND ".join(where), params)

    def of_images(self, names: Sequence[str]) -> pd.DataFrame:
        """The records of the frames named (``image_id``), as :meth:`frames` gives them."""
        names = [str(n) for n in names]
        if not names:
            return self._judged("false", [])
        return self._judged(f"image_id IN ({', '.join('?' * len(names))})", names)

    def of_product(self, product_id: int) -> pd.DataFrame:
        """The frames of the GP2 runs a product version was built from, as :meth:`frames`
        gives them (their own records, not those of later runs)."""
        return self._judged(
            "run_id IN (SELECT run_id FROM product_run WHERE product_id = ?)", [int(product_id)]
        )

    def frames_between(self, instrument: str, filter_: str, start: date, end: date) -> pd.DataFrame:
        """The frames of one instrument and filter over the nights ``start`` to ``end``, as
        :meth:`frames` gives them."""
        return self._judged(
            "instrument = ? AND filter = ? AND night BETWEEN ? AND ?",
            [instrument, filter_, start, end],
        )

    def nightly(self, instrument: str, filter_: str, start: date, end: date) -> pd.DataFrame:
        """The nightly medians of each figure of one instrument and filter, oldest first
        (:func:`nightly_medians` of :meth:`frames_between`)."""
        return nightly_medians(self.frames_between(instrument, filter_, start, end))

    def _judged(self, where: str, params: list) -> pd.DataFrame:
        frame = self.cache.query_df(
            f"SELECT {', '.join(COLUMNS)}, telemetry FROM frame_quality WHERE {where} "
            f"{_PREFERRED} ORDER BY t_mid, image_id",
            params,
        )
        frame["night"] = pd.to_datetime(frame["night"]).dt.date
        frame["outside"] = ["; ".join(self.limits.outside(row)) for row in frame.to_dict("records")]
        readings = pd.DataFrame([json.loads(text) for text in frame.pop("telemetry")])
        return pd.concat([frame.reset_index(drop=True), readings.reset_index(drop=True)], axis=1)

    def night_report(self, night: date, *, instrument: str = "", filter_: str = "") -> dict:
        """One night's frames and the trends up to it, JSON-ready (``gic night show``).

        Returns
        -------
        dict
            night, limits, frames (:meth:`frames`), and trends: per ``instrument/filter``
            of the night's frames, the :meth:`nightly` medians of the :attr:`trend_nights`
            nights ending with it.
        """
        frames = self.frames(night, instrument=instrument, filter_=filter_)
        start = night - timedelta(days=self.trend_nights - 1)
        kinds = frames[["instrument", "filter"]].drop_duplicates().itertuples(index=False)
        return {
            "night": night.isoformat(),
            "limits": dataclasses.asdict(self.limits),
            "frames": json_records(frames),
            "trends": {
                f"{i}/{f}": json_records(self.nightly(i, f, start, night)) for i, f in kinds
            },
        }

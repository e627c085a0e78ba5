"""Calibration reports in the cache: ingest, series of a night, trends, completeness.

Reports live in the cache (``calibration_report``); certifications by hand are added
(``calibration_certification``), never replacing the automatic verdict. The master files
they describe are :class:`~data_access.calibration.masters.MasterFiles`'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration import (
    CALIBRATION_TYPES,
    Limits,
    ValidationReport,
    report_from_dict,
)
from analysis.limits import DocumentLimitError, load_json, size_problem
from data_access.cache import Cache, next_id
from data_access.config import CalibrationConfig, ConfigError

#: Largest calibration report read, in bytes (a report is about 2 kB).
MAX_REPORT_BYTES = 1024 * 1024


class CalibrationStoreError(ValueError):
    """A calibration request that cannot be carried out; the message says why."""


@dataclass
class ReportIngestSummary:
    """What one ingest of report files did, per file."""

    ingested: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{len(self.ingested)} new, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged, {len(self.rejected)} rejected"
        )


def utc_now() -> datetime:
    """Now, as naive UTC (the cache's times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_obs_time(text: str) -> datetime:
    """A report's DATE as naive UTC.

    Raises
    ------
    ValueError
        If it is not an ISO 8601 date or time.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"DATE '{text}' is not an ISO 8601 time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _report_extra(report: ValidationReport) -> str:
    return json.dumps(
        {
            "reasons": list(report.reasons),
            "limits": None
            if report.limits is None
            else {
                "meandiff": [_finite(v) for v in report.limits.meandiff],
                "rmsdiff": [_finite(v) for v in report.limits.rmsdiff],
            },
            "histogram": None
            if report.histogram_counts is None
            else {"counts": list(report.histogram_counts), "edges": list(report.histogram_edges)},
            "residual": None if report.residual is None else report.residual.to_dict(),
            "limit_rule": None if report.limit_rule is None else report.limit_rule.describe(),
            "reference_level": _finite(report.reference_level),
            "reference_noise": _finite(report.reference_noise),
            "quadrants": None
            if report.quadrants is None
            else [_finite(q) for q in report.quadrants],
            "quadrant_spread": _finite(report.quadrant_spread),
            "temperature": _finite(report.temperature),
            "reference_temperature": _finite(report.reference_temperature),
        },
        default=_json_default,
    )


class CalibrationReports:
    """Validation reports and night series of calibration masters, in the cache.

    Parameters
    ----------
    cache : Cache
        The workspace's cache.
    config : CalibrationConfig, optional
        ``[calibration]`` settings (night offset, expected series).
    """

    def __init__(self, cache: Cache, config: CalibrationConfig | None = None) -> None:
        self.cache = cache
        self.config = config or CalibrationConfig()

    def night_of(self, moment: datetime) -> date:
        """The observing night a UTC time belongs to (``night_offset_h`` in the config)."""
        return (moment + timedelta(hours=self.config.night_offset_h)).date()

    def insert_report(
        self,
        con,
        report: ValidationReport,
        source: str,
        key: str,
        *,
        night: date | None = None,
        master_id: int | None = None,
        reference_id: int | None = None,
        text: str | None = None,
    ) -> int:
        """Insert one report within the transaction ``con``; returns its report_id."""
        if report.date or night is None:
            obs_time = parse_obs_time(report.date)
        else:  # frames without DATE-OBS: the night's date stands for it
            obs_time = datetime(night.year, night.month, night.day)
        text = text if text is not None else json.dumps(report.to_dict(), indent=2)
        report_id = next_id(con, "calibration_report", "report_id")
        con.execute(
            "INSERT INTO calibration_report VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report_id,
                source,
                key,
                _sha256_bytes(text.encode()),
                report.im_name,
                report.caltype,
                report.date,
                obs_time,
                night or self.night_of(obs_time),
                report.origin,
                report.telescop,
                report.instrume,
                report.filter,
                _finite(report.mean),
                _finite(report.median),
                _finite(report.rms),
                _finite(report.meandiff),
                _finite(report.mediandif),
                _finite(report.rmsdiff),
                bool(report.valid),
                report.unit,
                _report_extra(report),
                master_id,
                reference_id,
                text,
                utc_now(),
            ],
        )
        return report_id

    def record_series(
        self,
        night: date,
        instrument: str,
        filter_: str,
        caltype: str,
        *,
        n_frames: int,
        n_good: int,
        problem: str | None = None,
        rejected: Sequence[tuple[str, str]] = (),
        report_id: int | None = None,
    ) -> None:
        """Note what one night brought of one series (for the completeness grid)."""
        series = "night = ? AND instrume = ? AND filter = ? AND caltype = ?"
        with self.cache.transaction() as con:
            kind = [night, instrument, filter_, caltype]
            # a read first: a lake's DELETE costs a write even when it finds nothing
            if con.execute(
                f"SELECT count(*) FROM calibration_series WHERE {series}", kind
            ).fetchone()[0]:
                con.execute(f"DELETE FROM calibration_series WHERE {series}", kind)
            con.execute(
                "INSERT INTO calibration_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    night,
                    instrument,
                    filter_,
                    caltype,
                    n_frames,
                    n_good,
                    problem,
                    json.dumps([list(r) for r in rejected]),
                    report_id,
                    utc_now(),
                ],
            )

    def built_series(self, night: date) -> set[tuple[str, str, str]]:
        """The kinds (instrument, filter, type) of which a master of ``night`` was already
        built here."""
        rows = self.cache.execute(
            "SELECT DISTINCT instrume, filter, caltype FROM calibration_report "
            "WHERE source = 'run' AND night = ?",
            [night],
        )
        return {tuple(row) for row in rows}

    # -- ingest -------------------------------------------------------------------------
    def ingest_reports(
        self, paths: Iterable[Path], *, source: str = "files"
    ) -> ReportIngestSummary:
        """Put report JSON files (the notes' format) into the cache, idempotently.

        A file already ingested with the same content adds nothing; a changed one replaces
        its report; a broken one is rejected with a reason naming the file and the key.
        """
        summary = ReportIngestSummary()
        for path in paths:
            key = str(Path(path).resolve())
            try:
                if too_large := size_problem(Path(path).stat().st_size, MAX_REPORT_BYTES):
                    summary.rejected.append((key, f"{path}: {too_large}"))
                    continue
                raw = Path(path).read_bytes()
            except OSError as exc:
                summary.rejected.append((key, f"{path}: {exc}"))
                continue
            self.ingest_report_bytes(raw, source=source, key=key, where=str(path), summary=summary)
        return summary

    def ingest_report_bytes(
        self, raw: bytes, *, source: str, key: str, where: str, summary: ReportIngestSummary
    ) -> None:
        """Put one report (the notes' JSON, as bytes) into the cache under ``(source, key)``.

        Idempotent as :meth:`ingest_reports`; the outcome is added to ``summary`` under
        ``key``, a rejection with its reason after ``where`` (the file or the row).
        """
        try:
            report = report_from_dict(load_json(raw, max_bytes=MAX_REPORT_BYTES))
            parse_obs_time(report.date)
        except DocumentLimitError as exc:
            summary.rejected.append((key, f"{where}: not a report: {exc}"))
            return
        except ValueError as exc:
            summary.rejected.append((key, f"{where}: {exc}"))
            return
        self._ingest_one(report, raw.decode("utf-8", "replace"), source, key, summary)

    def _ingest_one(self, report, text, source, key, summary) -> None:
        sha = _sha256_bytes(text.encode())
        with self.cache.transaction() as con:
            same = con.execute(
                "SELECT count(*) FROM calibration_report WHERE sha256 = ?", [sha]
            ).fetchone()[0]
            old = con.execute(
                "SELECT report_id FROM calibration_report WHERE source = ? AND key = ?",
                [source, key],
            ).fetchall()
            if same:
                summary.unchanged.append(key)
                return
            for (report_id,) in old:
                con.execute("DELETE FROM calibration_report WHERE report_id = ?", [report_id])
            self.insert_report(con, report, source, key, text=text)
        (summary.replaced if old else summary.ingested).append(key)

    # -- queries ------------------------------------------------------------------------
    def trend(
        self,
        caltype: str,
        instrument: str | None = None,
        filter_: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Reports of one type between two UTC times (DATE), oldest first.

        Returns
        -------
        DataFrame
            report_id, master_id, date (UTC time of the first frame), night, im_name,
            instrument, filter, caltype, mean, median, rms, meandiff, mediandif, rmsdiff,
            unit, valid (automatic), certified (latest hand verdict or NA), verdict (the
            one in force), comment, certified_by, certified_at, status (of the master
            file: master, old, history, rejected, candidate; NA when only the report came),
            source, quadrant_spread (highest minus lowest quadrant median), meandiff_low,
            meandiff_high, rmsdiff_low, rmsdiff_high (the limits the report was judged by,
            in the difference's unit; NA when it came without them), temperature (°C).
        """
        return self.cache.query_df(
            f"""{_REPORTS}
            WHERE r.caltype = $caltype
              AND ($instrument IS NULL OR r.instrume = $instrument)
              AND ($filter IS NULL OR r.filter = $filter)
              AND ($start IS NULL OR r.obs_time >= $start) AND ($end IS NULL OR r.obs_time < $end)
            ORDER BY r.obs_time, r.instrume, r.filter, r.report_id""",
            {
                "caltype": caltype,
                "instrument": instrument,
                "filter": filter_,
                "start": _naive(start),
                "end": _naive(end),
            },
        )

    def invalid(
        self, start: datetime | None = None, end: datetime | None = None, caltype: str | None = None
    ) -> pd.DataFrame:
        """Reports whose verdict in force is bad, between two UTC times (as :meth:`trend`)."""
        return self.cache.query_df(
            f"""{_REPORTS}
            WHERE NOT verdict AND ($caltype IS NULL OR r.caltype = $caltype)
              AND ($start IS NULL OR r.obs_time >= $start) AND ($end IS NULL OR r.obs_time < $end)
            ORDER BY r.obs_time, r.instrume, r.filter""",
            {"caltype": caltype, "start": _naive(start), "end": _naive(end)},
        )

    def kinds(self, caltype: str | None = None) -> pd.DataFrame:
        """Every (caltype, instrument, filter) seen in reports or series, for selectors."""
        return self.cache.query_df(
            """SELECT DISTINCT caltype, instrume AS instrument, filter FROM (
                 SELECT caltype, instrume, filter FROM calibration_report
                 UNION SELECT caltype, instrume, filter FROM calibration_series)
               WHERE $caltype IS NULL OR caltype = $caltype ORDER BY ALL""",
            {"caltype": caltype},
        )

    def completeness(
        self, first_night: date, last_night: date, caltype: str | None = None
    ) -> pd.DataFrame:
        """Night × instrument × filter × type: did the series arrive, how many frames, verdict.

        The kinds are those expected by the config (``expected``) and those seen in the
        range. ``verdict`` is ``OK`` (a master passed, or was certified good), ``invalid``
        (frames came but no master passed: too few good frames, or a bad verdict) or
        ``missing`` (nothing came).

        Returns
        -------
        DataFrame
            night, instrument, filter, caltype, arrived, n_frames (NA when only a report
            came), verdict, report_id, problem.
        """
        params = {"first": first_night, "last": last_night, "caltype": caltype}
        seen = self.cache.query_df(
            f"""WITH rep AS ({_REPORTS} WHERE r.night BETWEEN $first AND $last),
            last_rep AS (SELECT night, instrument, filter, caltype,
                           arg_max(report_id, report_id) AS report_id,
                           bool_or(verdict) AS verdict
                         FROM rep GROUP BY ALL)
            SELECT coalesce(s.night, l.night) AS night,
                   coalesce(s.instrume, l.instrument) AS instrument,
                   coalesce(s.filter, l.filter) AS filter,
                   coalesce(s.caltype, l.caltype) AS caltype,
                   s.n_frames, l.report_id, l.verdict, s.problem
            FROM (SELECT * FROM calibration_series WHERE night BETWEEN $first AND $last) s
            FULL JOIN last_rep l ON s.night = l.night AND s.instrume = l.instrument
                 AND s.filter = l.filter AND s.caltype = l.caltype
            WHERE $caltype IS NULL OR coalesce(s.caltype, l.caltype) = $caltype""",
            params,
        )
        kinds = {
            tuple(k) for k in seen[["instrument", "filter", "caltype"]].itertuples(index=False)
        }
        for entry in self.config.expected:
            parts = entry.split("/")
            if len(parts) != 3 or parts[2] not in CALIBRATION_TYPES:
                raise ConfigError(
                    f"calibration.expected: '{entry}' is not 'INSTRUMENT/FILTER/TYPE'"
                )
            if caltype is None or parts[2] == caltype:
                kinds.add(tuple(parts))
        nights = pd.date_range(first_night, last_night, freq="D").date
        grid = pd.DataFrame(
            [(n, *k) for n in nights for k in sorted(kinds)],
            columns=["night", "instrument", "filter", "caltype"],
        )
        seen["night"] = pd.to_datetime(seen["night"]).dt.date
        grid = grid.merge(seen, how="left", on=["night", "instrument", "filter", "caltype"])
        grid["arrived"] = grid["n_frames"].fillna(0).gt(0) | grid["report_id"].notna()
        grid["n_frames"] = grid["n_frames"].astype("Int64")
        grid["report_id"] = grid["report_id"].astype("Int64")
        grid["verdict"] = np.where(
            ~grid["arrived"],
            "missing",
            np.where(grid["verdict"].fillna(False).astype(bool), "OK", "invalid"),
        )
        return grid[
            [
                "night",
                "instrument",
                "filter",
                "caltype",
                "arrived",
                "n_frames",
                "verdict",
                "report_id",
                "problem",
            ]
        ]

    def report(self, report_id: int) -> dict:
        """One report: the notes' JSON (``report``) and what travels beside it (``extra``)."""
        rows = self.cache.execute(
            "SELECT report_json, extra FROM calibration_report WHERE report_id = ?", [report_id]
        )
        if not rows:
            raise CalibrationStoreError(f"no calibration report with id {report_id}")
        return {"report": json.loads(rows[0][0]), "extra": json.loads(rows[0][1])}

    def histogram(self, report_id: int) -> tuple[np.ndarray, np.ndarray, Limits | None] | None:
        """The difference histogram of a report (counts, edges) and its limits, or None."""
        extra = self.report(report_id)["extra"]
        if not extra.get("histogram"):
            return None
        limits = extra.get("limits")
        return (
            np.asarray(extra["histogram"]["counts"]),
            np.asarray(extra["histogram"]["edges"]),
            None
            if limits is None
            else Limits(_bounds(limits["meandiff"]), _bounds(limits["rmsdiff"])),
        )


# Every report with its verdict in force (the latest certification, else the automatic one).
_REPORTS = """SELECT * EXCLUDE (obs_time, instrume) FROM (
    SELECT r.report_id, r.master_id, r.obs_time AS date, r.night, r.im_name,
           r.instrume AS instrument, r.filter, r.caltype, r.mean, r.median, r.rms,
           r.meandiff, r.mediandif, r.rmsdiff, r.unit, r.valid,
           c.verdict AS certified, coalesce(c.verdict, r.valid) AS verdict,
           c.comment, c.user_name AS certified_by, c.certified_at,
           m.status, r.source,
           TRY_CAST(json_extract_string(r.extra, '$.quadrant_spread') AS DOUBLE)
               AS quadrant_spread,
           TRY_CAST(json_extract_string(r.extra, '$.limits.meandiff[0]') AS DOUBLE) AS meandiff_low,
           TRY_CAST(json_extract_string(r.extra, '$.limits.meandiff[1]') AS DOUBLE)
               AS meandiff_high,
           TRY_CAST(json_extract_string(r.extra, '$.limits.rmsdiff[0]') AS DOUBLE) AS rmsdiff_low,
           TRY_CAST(json_extract_string(r.extra, '$.limits.rmsdiff[1]') AS DOUBLE) AS rmsdiff_high,
           TRY_CAST(json_extract_string(r.extra, '$.temperature') AS DOUBLE) AS temperature,
           r.obs_time, r.instrume
    FROM calibration_report r
    LEFT JOIN (SELECT report_id, arg_max(verdict, certified_at) AS verdict,
                      arg_max(comment, certified_at) AS comment,
                      arg_max(user_name, certified_at) AS user_name,
                      max(certified_at) AS certified_at
               FROM calibration_certification GROUP BY report_id) c USING (report_id)
    LEFT JOIN calibration_master m USING (master_id)
) r"""


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _bounds(values: list) -> tuple[float, float]:
    """Two stored bounds (null when they could not be computed: NaN)."""
    return tuple(np.nan if v is None else float(v) for v in values)  # type: ignore[return-value]


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment

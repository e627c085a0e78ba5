"""Calibration masters and their reports, in one store: the files, the reports, the link.

:class:`~data_access.calibration.masters.MasterFiles` keeps the files on disk (its module
docstring draws the layout), :class:`~data_access.calibration.reports.CalibrationReports`
the reports in the cache; :class:`CalibrationStore` composes the two for what needs both:
adding a master with its report, promotion, certification, the statuses of the files.

Promotion replaces the links, each by ``os.replace`` of a fresh link (atomic on
POSIX): OLD first, then MASTER. A process that dies half-way leaves MASTER on the
old master or on the new one, never on nothing, and :meth:`CalibrationStore.reconcile`
(run before every change) brings the statuses in the cache back in line with the
links. Certifications by hand are added (``calibration_certification``), never replacing
the automatic verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration import (
    CALIBRATION_TYPES,
    Limits,
    Master,
    ValidationReport,
    difference_image,
    header_type,
)
from data_access.cache import Cache, next_id
from data_access.calibration.masters import MASTER_LINK, OLD_LINK, MasterFiles, replace_link
from data_access.calibration.reports import (
    MAX_REPORT_BYTES,
    CalibrationReports,
    CalibrationStoreError,
    ReportIngestSummary,
    parse_obs_time,
    utc_now,
)
from data_access.config import CalibrationConfig, ConfigError

__all__ = [
    "MAX_REPORT_BYTES",
    "CalibrationStore",
    "CalibrationStoreError",
    "ReportIngestSummary",
    "limits_for",
    "parse_obs_time",
]

#: Called with the name of each step of a promotion; tests set it to kill the process there.
_promotion_step: Callable[[str], None] = lambda step: None  # noqa: E731


def limits_for(config: CalibrationConfig, caltype: str, instrument: str, filter_: str) -> Limits:
    """The cuts of one type, instrument and filter: ``[calibration.limits]`` and its overrides.

    Raises
    ------
    ConfigError
        If an override or a mode cannot be read; the message quotes it.
    """
    table = config.limits
    windows = {
        name: [
            getattr(table, f"{caltype}_{name}_min"),
            getattr(table, f"{caltype}_{name}_max"),
            getattr(table, f"{caltype}_{name}_mode"),
        ]
        for name in ("meandiff", "rmsdiff")
    }
    for entry in table.overrides:
        words = entry.split()
        if len(words) < 4 or words[0] not in CALIBRATION_TYPES:
            raise ConfigError(
                f"calibration.limits.overrides: '{entry}' is not "
                "'TYPE INSTRUMENT FILTER meandiff=LO:HI rmsdiff=LO:HI'"
            )
        if words[0] != caltype or words[1] != instrument or words[2] not in ("*", filter_):
            continue
        for item in words[3:]:
            name = item.partition("=")[0]
            window = _override_window(item, entry, windows.get(name, [0, 0, "absolute"])[2])
            if name not in windows:
                raise ConfigError(
                    f"calibration.limits.overrides: '{name}' in '{entry}' is not "
                    "meandiff or rmsdiff"
                )
            windows[name] = window
    try:
        return Limits(
            meandiff=tuple(windows["meandiff"][:2]),
            rmsdiff=tuple(windows["rmsdiff"][:2]),
            meandiff_mode=windows["meandiff"][2],
            rmsdiff_mode=windows["rmsdiff"][2],
        )
    except ValueError as exc:
        raise ConfigError(f"calibration.limits, {caltype}: {exc}") from None


def _override_window(item: str, entry: str, mode: str) -> list:
    """``[low, high, mode]`` of an override's ``NAME=LO:HI`` or ``NAME=LO:HI:MODE``."""
    parts = item.partition("=")[2].split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(
            f"calibration.limits.overrides: '{item}' in '{entry}' is not NAME=LO:HI[:MODE]"
        ) from None
    return [low, high, parts[2] if len(parts) == 3 else mode]


class CalibrationStore:
    """Masters on disk (in force, old, history, rejected) and their reports in the cache.

    Parameters
    ----------
    cache : Cache
        The workspace's cache.
    masters_dir : Path
        The masters folder (see :mod:`data_access.calibration.masters` for its layout).
    config : CalibrationConfig, optional
        ``[calibration]`` settings (limits, night offset, expected series).
    """

    def __init__(
        self, cache: Cache, masters_dir: Path, config: CalibrationConfig | None = None
    ) -> None:
        self.cache = cache
        self.masters_dir = Path(masters_dir)
        self.config = config or CalibrationConfig()
        self.files = MasterFiles(self.masters_dir, self.config)
        self.reports = CalibrationReports(cache, self.config)

    @classmethod
    def from_workspace(cls, workspace, cache: Cache | None = None) -> CalibrationStore:
        """The store of a workspace (its cache is opened when not given)."""
        config = workspace.config.calibration
        return cls(cache or workspace.cache(), workspace.path(config.masters_dir), config)

    # -- places -------------------------------------------------------------------------
    def folder(self, caltype: str, instrument: str, filter_: str) -> Path:
        """The folder of one kind of master: :meth:`MasterFiles.folder`."""
        return self.files.folder(caltype, instrument, filter_)

    def night_of(self, moment: datetime) -> date:
        """The observing night of a UTC time: :meth:`CalibrationReports.night_of`."""
        return self.reports.night_of(moment)

    def in_force(self, caltype: str, instrument: str, filter_: str) -> Path | None:
        """The master in force of one kind: :meth:`MasterFiles.in_force`."""
        return self.files.in_force(caltype, instrument, filter_)

    def reference(
        self, caltype: str, instrument: str, filter_: str
    ) -> tuple[np.ndarray, object, int | None] | None:
        """The master in force as (data, header, master_id), or None when there is none."""
        path = self.in_force(caltype, instrument, filter_)
        if path is None:
            return None
        data, header = self.files.read(path)
        return data, header, self._master_id_of(path)

    def _master_id_of(self, path: Path) -> int | None:
        relative = self.files.relative(path)
        rows = self.cache.execute(
            "SELECT master_id FROM calibration_master WHERE path = ?", [relative]
        )
        return rows[0][0] if rows else None

    def _path_of(self, master_id: int) -> tuple[Path, tuple[str, str, str], str]:
        rows = self.cache.execute(
            "SELECT path, caltype, instrume, filter, status FROM calibration_master "
            "WHERE master_id = ?",
            [master_id],
        )
        if not rows:
            raise CalibrationStoreError(f"no master with id {master_id} in the cache")
        path, caltype, instrument, filter_, status = rows[0]
        return self.masters_dir / path, (caltype, instrument, filter_), status

    # -- adding -------------------------------------------------------------------------
    def keep_file(self, master: Master, im_name: str) -> Path:
        """Write a new master's file into its kind's history under ``im_name`` (made unique),
        before its report exists (see :meth:`add`): the kind is the master header's, as
        the report will say it."""
        header = master.header
        return self.files.keep(
            master,
            header_type(header),
            str(header.get("INSTRUME", "")),
            str(header.get("FILTER", "")),
            im_name,
        )

    def add(
        self,
        master: Master,
        report: ValidationReport,
        night: date,
        *,
        reference_id: int | None = None,
        promote: bool = True,
        kept: Path | None = None,
    ) -> tuple[int, int]:
        """Keep a new master and its report; promote it when valid (and ``promote``).

        The file goes to ``history/`` under the report's IM_NAME (made unique), unless
        :meth:`keep_file` wrote it already (``kept``), the report and the master's row into
        the cache; an invalid master is kept with status ``rejected``.

        Returns
        -------
        (master_id, report_id)
        """
        caltype, instrument, filter_ = report.caltype, report.instrume, report.filter
        path = kept or self.files.keep(master, caltype, instrument, filter_, report.im_name)
        if path.stem != Path(report.im_name).stem:
            report = _renamed(report, path.name)
        relative = str(path.relative_to(self.masters_dir))
        with self.cache.transaction() as con:
            master_id = next_id(con, "calibration_master", "master_id")
            con.execute(
                "INSERT INTO calibration_master VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                [
                    master_id,
                    caltype,
                    instrument,
                    filter_,
                    night,
                    relative,
                    int(master.header.get("NCOMBINE", 0)),
                    "candidate" if report.valid else "rejected",
                    utc_now(),
                ],
            )
            report_id = self.reports.insert_report(
                con,
                report,
                "run",
                path.name,
                night=night,
                master_id=master_id,
                reference_id=reference_id,
            )
        if report.valid and promote:
            self.promote(master_id)
        return master_id, report_id

    def one_commit(self) -> AbstractContextManager:
        """The writes of the block (a master's row and its series, say) in one commit of
        the lake: each commit costs a reading of the catalog and rows in it. A promotion
        belongs after the commit of the master's row, never inside it (a MASTER link must
        never point at a master the cache does not know)."""
        return self.cache.transaction()

    def record_series(self, night: date, instrument: str, filter_: str, caltype: str, **what):
        """Note what one night brought of one series: :meth:`CalibrationReports.record_series`."""
        self.reports.record_series(night, instrument, filter_, caltype, **what)

    def built_series(self, night: date) -> set[tuple[str, str, str]]:
        """The kinds built this night: :meth:`CalibrationReports.built_series`."""
        return self.reports.built_series(night)

    # -- promotion ----------------------------------------------------------------------
    def reconcile(self) -> None:
        """Bring the statuses in the cache in line with the MASTER and OLD links."""
        rows = self.cache.execute(
            "SELECT DISTINCT caltype, instrume, filter FROM calibration_master"
        )
        for caltype, instrument, filter_ in rows:
            self._reconcile_kind(caltype, instrument, filter_)

    def _reconcile_kind(self, caltype: str, instrument: str, filter_: str) -> None:
        """The statuses of one kind in line with its links: MASTER's target ``master``,
        OLD's ``old``, any other former master or old ``history``. Reads the kind's rows
        first and writes only those that change, in one statement (each write of the lake
        costs a commit and catalog rows)."""
        folder = self.folder(caltype, instrument, filter_)
        master = self.files.link_target(folder, MASTER_LINK)
        old = self.files.link_target(folder, OLD_LINK)
        old = None if old == master else old
        with self.cache.transaction() as con:
            rows = con.execute(
                "SELECT master_id, path, status FROM calibration_master "
                "WHERE caltype = ? AND instrume = ? AND filter = ? "
                "AND (status IN ('master', 'old') OR path = ? OR path = ?)",
                [caltype, instrument, filter_, master, old],
            ).fetchall()
            changed = {}
            for master_id, path, status in rows:
                wanted = "master" if path == master else "old" if path == old else "history"
                if wanted != status:
                    changed[master_id] = wanted
            if not changed:
                return
            cases = " ".join("WHEN ? THEN ?" for _ in changed)
            ids = ", ".join("?" for _ in changed)
            con.execute(  # a promotion records the lake snapshot it was made from (gic --at)
                f"UPDATE calibration_master SET status = CASE master_id {cases} END, "
                "promoted_at = CASE WHEN path = ? THEN coalesce(promoted_at, ?) "
                "ELSE promoted_at END, "
                "lake_snapshot = CASE WHEN path = ? THEN coalesce(lake_snapshot, ?) "
                "ELSE lake_snapshot END, "
                "retired_at = CASE WHEN path = ? THEN NULL "
                "WHEN path IS DISTINCT FROM ? THEN coalesce(retired_at, ?) ELSE retired_at END "
                f"WHERE master_id IN ({ids})",
                [
                    *(value for pair in changed.items() for value in pair),
                    master,
                    utc_now(),
                    master,
                    self.cache.snapshot(),
                    master,
                    old,
                    utc_now(),
                    *changed,
                ],
            )

    def promote(self, master_id: int) -> Path:
        """Make a master the one in force of its kind; the one before becomes OLD.

        Returns
        -------
        Path
            The MASTER.fits link.
        """
        path, kind, _ = self._path_of(master_id)
        if not path.is_file():
            raise CalibrationStoreError(f"{path}: the file of master {master_id} is missing")
        folder = self.folder(*kind)
        current = self.files.current(folder)
        if current == path.resolve():  # linked already (a promotion cut short): finish it
            self._reconcile_kind(*kind)
            return folder / MASTER_LINK
        _promotion_step("start")
        if current is not None:
            replace_link(folder / OLD_LINK, current)
        _promotion_step("old-linked")
        replace_link(folder / MASTER_LINK, path)
        _promotion_step("master-linked")
        self._reconcile_kind(*kind)
        return folder / MASTER_LINK

    def _demote(self, master_id: int) -> None:
        path, kind, status = self._path_of(master_id)
        self._reconcile_kind(*kind)
        folder = self.folder(*kind)
        if status == "master":
            rows = self.cache.execute(
                "SELECT master_id FROM calibration_master WHERE caltype = ? AND instrume = ? "
                "AND filter = ? AND status IN ('old', 'history') AND master_id <> ? "
                "ORDER BY status = 'old' DESC, promoted_at DESC NULLS LAST LIMIT 1",
                [*kind, master_id],
            )
            if not rows:
                raise CalibrationStoreError(
                    f"master {master_id} is the only {kind[0]} of {kind[1]}/{kind[2]} "
                    "ever in force; "
                    "certify another one good first"
                )
            self.promote(rows[0][0])
        elif status == "old":
            (folder / OLD_LINK).unlink(missing_ok=True)
        with self.cache.transaction() as con:
            con.execute(
                "UPDATE calibration_master SET status = 'rejected', retired_at = ? "
                "WHERE master_id = ?",
                [utc_now(), master_id],
            )

    def certify(self, report_id: int, good: bool, *, comment: str, user: str) -> None:
        """Certify a report's verdict by hand; a good master is promoted, a bad one demoted.

        The automatic verdict stays as it was; the certification (verdict, comment, user,
        time) is added beside it and the latest one counts. Nothing is deleted.

        Raises
        ------
        CalibrationStoreError
            If the report is unknown, the comment or user empty, or a bad master is the only
            one ever in force of its kind.
        """
        if not comment.strip() or not user.strip():
            raise CalibrationStoreError("a certification needs a comment and a user name")
        rows = self.cache.execute(
            "SELECT master_id FROM calibration_report WHERE report_id = ?", [report_id]
        )
        if not rows:
            raise CalibrationStoreError(f"no calibration report with id {report_id}")
        seen = self.cache.snapshot()  # the lake as the user saw it (gic --at)
        master_id = rows[0][0]
        if master_id is not None:
            if good:
                self.promote(master_id)
            else:
                self._demote(master_id)
        with self.cache.transaction() as con:
            con.execute(
                "INSERT INTO calibration_certification VALUES (?, ?, ?, ?, ?, ?)",
                [report_id, bool(good), comment.strip(), user.strip(), utc_now(), seen],
            )

    # -- reports ------------------------------------------------------------------------
    def ingest_reports(
        self, paths: Iterable[Path], *, source: str = "files"
    ) -> ReportIngestSummary:
        """Put report JSON files into the cache: :meth:`CalibrationReports.ingest_reports`."""
        return self.reports.ingest_reports(paths, source=source)

    def ingest_report_bytes(
        self, raw: bytes, *, source: str, key: str, where: str, summary: ReportIngestSummary
    ) -> None:
        """Put one report into the cache: :meth:`CalibrationReports.ingest_report_bytes`."""
        self.reports.ingest_report_bytes(raw, source=source, key=key, where=where, summary=summary)

    def trend(
        self,
        caltype: str,
        instrument: str | None = None,
        filter_: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Reports of one type between two UTC times: :meth:`CalibrationReports.trend`."""
        return self.reports.trend(caltype, instrument, filter_, start, end)

    def invalid(
        self, start: datetime | None = None, end: datetime | None = None, caltype: str | None = None
    ) -> pd.DataFrame:
        """Reports whose verdict in force is bad: :meth:`CalibrationReports.invalid`."""
        return self.reports.invalid(start, end, caltype)

    def kinds(self, caltype: str | None = None) -> pd.DataFrame:
        """Every kind seen in reports or series: :meth:`CalibrationReports.kinds`."""
        return self.reports.kinds(caltype)

    def completeness(
        self, first_night: date, last_night: date, caltype: str | None = None
    ) -> pd.DataFrame:
        """Night × kind: did the series arrive: :meth:`CalibrationReports.completeness`."""
        return self.reports.completeness(first_night, last_night, caltype)

    def report(self, report_id: int) -> dict:
        """One report and what travels beside it: :meth:`CalibrationReports.report`."""
        return self.reports.report(report_id)

    def histogram(self, report_id: int) -> tuple[np.ndarray, np.ndarray, Limits | None] | None:
        """The difference histogram of a report: :meth:`CalibrationReports.histogram`."""
        return self.reports.histogram(report_id)

    # -- master files of the reports ----------------------------------------------------
    def master_image(self, report_id: int) -> tuple[np.ndarray, object] | None:
        """The master of a report as (data, header), or None when only the report came."""
        rows = self.cache.execute(
            "SELECT master_id FROM calibration_report WHERE report_id = ?", [report_id]
        )
        if not rows or rows[0][0] is None:
            return None
        path, _, _ = self._path_of(rows[0][0])
        return self.files.read(path)

    def difference_image(self, report_id: int) -> np.ndarray | None:
        """new − ref (new / ref for flats) of a report, or None without both files."""
        rows = self.cache.execute(
            "SELECT master_id, reference_id, caltype FROM calibration_report WHERE report_id = ?",
            [report_id],
        )
        if not rows or rows[0][0] is None or rows[0][1] is None:
            return None
        new, _ = self.files.read(self._path_of(rows[0][0])[0])
        ref, _ = self.files.read(self._path_of(rows[0][1])[0])
        return difference_image(new, ref, rows[0][2])

    def reference_name(self, report_id: int) -> str | None:
        """The file name of the master a report's candidate was compared with (None: none)."""
        rows = self.cache.execute(
            "SELECT reference_id FROM calibration_report WHERE report_id = ?", [report_id]
        )
        if not rows or rows[0][0] is None:
            return None
        return self._path_of(rows[0][0])[0].name

    def masters(self, caltype: str | None = None) -> pd.DataFrame:
        """Every master file with its status, newest first."""
        return self.cache.query_df(
            "SELECT master_id, caltype, instrume AS instrument, filter, night, path, n_frames, "
            "status, created_at, promoted_at, retired_at FROM calibration_master "
            "WHERE $caltype IS NULL OR caltype = $caltype ORDER BY created_at DESC, master_id DESC",
            {"caltype": caltype},
        )


def _renamed(report: ValidationReport, name: str) -> ValidationReport:
    from dataclasses import replace

    return replace(report, im_name=name)

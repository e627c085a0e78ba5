"""The Reprocess page's files: the frames it can reprocess, and the runs it made.

Frames to reprocess lie in the workspace's ``[gp2] input_dir``, one folder per burst
(named by its burst ID) or per set of frames::

    raw/gp2/sb26031401/raw/*.fits       the frames (else the FITS files of the folder itself)
    raw/gp2/sb26031401/config/          the notes' pipeline folder (pipeline.cfg...), optional

Each run goes to ``<[gp2] output_dir>/<run id>/`` with what it was asked to do and what
it gave, so that a run can be shown again, compared with another, or saved as a product::

    run.json          source, steps, parameters, calibration files, the masters used, times,
                      per-image summary
    output/           the runner's outputs (images and tables of the steps asked for)
    photometry.csv    the light curve (what ``gic products build --photometry`` reads)
    sources.csv, candidates.csv
    display.fits      per image, the reduced and difference images for the eye
                      (block means, longest side at most
                      :data:`~analysis.images.DISPLAY_MAX_SIDE`)

The runs themselves, and saving one as a product version, are in :mod:`pipelines.reprocess`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table

from analysis.images import block_mean
from data_access.gp2.config import ModuleSettings, PipelineSettings, read_pipeline_config
from data_access.gp2.files import (
    fits_files_in,
    read_image,
    scan_images,
    write_photometry,
    write_table,
)
from data_access.gp2.records import HeaderKeywords, RunPlan, RunResult
from data_access.gp2.run_folder import (
    StoredRun,
    _calibration,
    _candidates,
    _image_row,
    _json,
    _read_csv,
    _sources,
    _write_display,
    masters_used,
)
from data_access.safe_files import write_atomic

_RUN_ID = re.compile(r"^[A-Za-z0-9_.+-]+$")


class ReprocessError(ValueError):
    """A run or a folder that cannot be used; the message names it."""


def _file_state(path: Path) -> tuple:
    """A file's name, size and modification time (None for a file gone meanwhile)."""
    try:
        state = path.stat()
    except OSError:
        return (path.name, None, None)
    return (path.name, state.st_size, state.st_mtime_ns)


class ReprocessStore:
    """The frames the page can reprocess and the runs it made (files only, no cache).

    Parameters
    ----------
    input_dir : Path
        Folder of frame folders (``[gp2] input_dir`` of the workspace).
    runs_dir : Path
        Folder of the runs (``[gp2] output_dir`` of the workspace).
    keywords : HeaderKeywords, optional
        The header keywords the frames are read with (``[gp2] *_key``).
    """

    def __init__(
        self, input_dir: Path, runs_dir: Path, *, keywords: HeaderKeywords | None = None
    ) -> None:
        self.input_dir = Path(input_dir)
        self.runs_dir = Path(runs_dir)
        self.keywords = keywords or HeaderKeywords()
        #: folder → (its FITS files' names, sizes and times, its row of :meth:`folders`)
        self._folder_rows: dict[Path, tuple[tuple, dict | None]] = {}

    @classmethod
    def from_workspace(cls, workspace) -> ReprocessStore:
        gp2 = workspace.config.gp2
        return cls(
            workspace.path(gp2.input_dir),
            workspace.path(gp2.output_dir),
            keywords=HeaderKeywords.from_config(gp2),
        )

    # -- frames ---------------------------------------------------------------------------
    def folders(self) -> pd.DataFrame:
        """Every frame folder of :attr:`input_dir`: name, path, burst_id (its TRGID, else
        its name), n_images, first (start of the first exposure, ISO UTC).

        The home page and the Reprocess page ask at every visit: a folder's headers are read
        again only when its FITS files change (a name, a size or a modification time)."""
        rows = []
        for folder in sorted(p for p in self.input_dir.iterdir() if p.is_dir()):
            row = self._folder_row(folder)
            if row is not None:
                rows.append(row)
        return pd.DataFrame(rows, columns=["name", "path", "burst_id", "n_images", "first"])

    def _folder_row(self, folder: Path) -> dict | None:
        files = fits_files_in([self.frames_dir(folder)])
        signature = tuple(_file_state(f) for f in files)
        kept = self._folder_rows.get(folder)
        if kept is not None and kept[0] == signature:
            return kept[1]
        infos, _ = scan_images(files, keywords=self.keywords)
        row = None
        if infos:
            trigger = str(infos[0].header.get("TRGID", "")).strip()
            row = {
                "name": folder.name,
                "path": str(folder),
                "burst_id": trigger or folder.name,
                "n_images": len(infos),
                "first": infos[0].t_start,
            }
        self._folder_rows[folder] = (signature, row)
        return row

    @staticmethod
    def frames_dir(folder: Path | str) -> Path:
        """Where a folder's frames are: its ``raw/`` when it has one, else itself."""
        folder = Path(folder)
        return folder / "raw" if (folder / "raw").is_dir() else folder

    def images(self, folder: Path | str) -> tuple[pd.DataFrame, dict[str, fits.Header]]:
        """The frames of a folder, time-ordered, from their headers alone.

        Returns
        -------
        images : DataFrame
            name, path, instrument, filter, exptime (s), t_start, t_end (ISO UTC), t_mid (UTC).
        headers : dict
            name → header.

        Raises
        ------
        ReprocessError
            If the folder does not exist or holds no readable FITS frame.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ReprocessError(f"{folder}: no such folder of frames")
        infos, unreadable = scan_images([self.frames_dir(folder)], keywords=self.keywords)
        if not infos:
            reasons = "; ".join(reason for _, reason in unreadable[:3])
            raise ReprocessError(
                f"{folder}: no readable FITS frame{': ' + reasons if reasons else ''}"
            )
        frame = pd.DataFrame(
            [
                {
                    "name": i.name,
                    "path": str(i.path),
                    "instrument": i.instrument,
                    "filter": i.filter,
                    "exptime": i.exptime,
                    "t_start": i.t_start,
                    "t_end": i.t_end,
                }
                for i in infos
            ]
        )
        start = pd.to_datetime(frame["t_start"], errors="coerce")
        end = pd.to_datetime(frame["t_end"], errors="coerce")
        frame["t_mid"] = start + (end - start) / 2
        return frame, {i.name: i.header for i in infos}

    @staticmethod
    def thumbnail(path: Path | str, max_side: int = 128) -> np.ndarray:
        """A frame's pixels as block means, longest side at most ``max_side``."""
        data, _ = read_image(path)
        return block_mean(data, max_side)

    @staticmethod
    def pipeline(folder: Path | str | None) -> PipelineSettings:
        """The folder's pipeline configuration (``config/``), else the defaults (every module
        with default parameters; the masters in force are asked for)."""
        config = Path(folder) / "config" if folder else None
        if config is None or not config.is_dir():
            return PipelineSettings(modules={"pipeline": ModuleSettings()})
        pipeline = read_pipeline_config(config)
        modules = {
            step: _rooted(settings, Path(folder)) for step, settings in pipeline.modules.items()
        }
        return dataclasses.replace(pipeline, modules=modules)

    # -- runs -----------------------------------------------------------------------------
    def new_run(self, label: str) -> tuple[str, Path]:
        """A new, empty run folder: ``<UTC time>_<label>`` (a number added when taken)."""
        stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S}_{re.sub(r'[^A-Za-z0-9_.+-]', '_', label)}"
        for number in range(1000):
            run_id = stem if number == 0 else f"{stem}-{number}"
            folder = self.runs_dir / run_id
            try:
                folder.mkdir(parents=True)
            except FileExistsError:
                continue
            return run_id, folder
        raise ReprocessError(f"{self.runs_dir}: cannot make a run folder for {stem}")

    def save(
        self,
        run_id: str,
        plan: RunPlan,
        result: RunResult,
        *,
        source: str,
        burst_id: str,
        user: str,
        started: datetime,
    ) -> StoredRun:
        """Write a finished run's parameters, tables and display images to its folder."""
        folder = self._folder(run_id)
        images = [_image_row(r) for r in result.images]
        sources = _sources(result.images)
        candidates = _candidates(result)
        write_table(folder / "sources.csv", Table.from_pandas(sources))
        write_table(folder / "candidates.csv", Table.from_pandas(candidates))
        if len(result.light_curve):
            write_photometry(folder / "photometry.csv", result.light_curve)
        _write_display(folder / "display.fits", result.images)
        meta = {
            "run_id": run_id,
            "source": source,
            "burst_id": burst_id,
            "t0": plan.t0,
            "steps": list(plan.steps),
            "chain": list(plan.chain()),
            "parameters": dataclasses.asdict(plan.settings_for("pipeline").parameters),
            "calibration": _calibration(
                plan.settings_for("reduction"), plan.settings_for("subtraction")
            ),
            "masters": masters_used(result.inputs),
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "user": user,
            "images": images,
            "failures": [list(f) for f in result.failures],
            "transient": list(result.transient) if result.transient else None,
            "decay": dataclasses.asdict(result.decay) if result.decay else None,
        }
        write_atomic(folder, "run.json", json.dumps(meta, indent=1, default=_json).encode("utf-8"))
        return self.load(run_id)

    def record_stopped(
        self, run_id: str, plan: RunPlan, *, source: str, burst_id: str, user: str, started
    ) -> Path:
        """Record a run stopped on request: its partial outputs removed, ``stopped.json``
        (who, what, when) left in its folder; :meth:`runs` lists finished runs only."""
        folder = self._folder(run_id)
        if (folder / "output").is_dir():
            # a task cancelled may still be writing there (a Dask worker finishes the task
            # it runs): moved aside at once, so that nothing new appears in what is removed
            aside = folder / f".output-stopped-{secrets.token_hex(4)}"
            (folder / "output").rename(aside)
            shutil.rmtree(aside)
        record = {
            "run_id": run_id,
            "status": "stopped",
            "source": source,
            "burst_id": burst_id,
            "steps": list(plan.steps),
            "user": user,
            "started_at": started.isoformat(timespec="seconds"),
            "stopped_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_atomic(folder, "stopped.json", json.dumps(record, indent=1).encode("utf-8"))
        return folder / "stopped.json"

    def runs(self) -> pd.DataFrame:
        """Every finished run, newest first: run_id, source, burst_id, steps, n_images,
        failures, decay_index, started_at, user."""
        rows = []
        for path in sorted(self.runs_dir.glob("*/run.json"), reverse=True):
            meta = json.loads(path.read_text("utf-8"))
            decay = meta.get("decay") or {}
            rows.append(
                {
                    "run_id": meta["run_id"],
                    "source": meta["source"],
                    "burst_id": meta["burst_id"],
                    "steps": ", ".join(meta["steps"]),
                    "n_images": len(meta["images"]),
                    "failures": len(meta["failures"]),
                    "decay_index": decay.get("index", math.nan),
                    "started_at": meta["started_at"],
                    "user": meta["user"],
                }
            )
        columns = [
            "run_id",
            "source",
            "burst_id",
            "steps",
            "n_images",
            "failures",
            "decay_index",
            "started_at",
            "user",
        ]
        return pd.DataFrame(rows, columns=columns)

    def load(self, run_id: str) -> StoredRun:
        """A run read back from its folder.

        Raises
        ------
        ReprocessError
            If there is no such finished run.
        """
        folder = self._folder(run_id)
        path = folder / "run.json"
        if not path.is_file():
            raise ReprocessError(f"{path}: no such finished run")
        meta = json.loads(path.read_text("utf-8"))
        return StoredRun(
            run_id,
            folder,
            meta,
            pd.DataFrame(meta["images"]),
            _read_csv(folder / "photometry.csv"),
            _read_csv(folder / "sources.csv"),
            _read_csv(folder / "candidates.csv"),
        )

    def run_of(self, photometry: Path | str) -> str | None:
        """The run whose ``photometry.csv`` this is, or None (a file from elsewhere)."""
        path = Path(photometry).resolve()
        folder = path.parent
        in_runs = folder.parent == self.runs_dir.resolve() and _RUN_ID.match(folder.name)
        found = in_runs and path.name == "photometry.csv" and (folder / "run.json").is_file()
        return folder.name if found else None

    def remove(self, run_id: str) -> None:
        """Delete a run's folder (a run that failed, or that nobody wants)."""
        shutil.rmtree(self._folder(run_id), ignore_errors=False)

    def _folder(self, run_id: str) -> Path:
        if not _RUN_ID.match(run_id or ""):
            raise ReprocessError(f"{run_id!r} is not a run id (letters, digits, _ . + -)")
        return self.runs_dir / run_id


# -- helpers --------------------------------------------------------------------------------
def _rooted(settings: ModuleSettings, folder: Path) -> ModuleSettings:
    """Calibration paths relative to the frame folder made absolute."""
    files = {
        name: str(folder / value) if value and not Path(value).is_absolute() else value
        for name in ("bias", "dark", "flat", "reference", "catalog")
        if (value := getattr(settings, name)) is not None
    }
    return dataclasses.replace(settings, **files)

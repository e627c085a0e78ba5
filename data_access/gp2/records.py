"""The records of a GP2 run: what it was asked to do (:class:`RunPlan`) and what it gave
(:class:`RunResult`, one :class:`ImageResult` per image). Plain data, read by the runner
that fills them and by the run folders that keep them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import Table

from analysis.afterglow import JointDecayFit
from data_access.config import Gp2Config
from data_access.fits_frames import FrameError
from data_access.gp2.config import PREREQUISITES, STEPS, ModuleSettings, PipelineSettings

_DEFAULTS = Gp2Config()

#: What each keyword of :class:`HeaderKeywords` holds, for the error of a missing one.
_MEANING = {
    "saturate": "saturation level",
    "exptime": "exposure time in s",
    "filter": "filter",
    "instrument": "instrument",
    "date_obs": "start of the exposure",
}


@dataclass(frozen=True)
class HeaderKeywords:
    """The header keywords GP2 reads (``[gp2] *_key`` of gic.toml; their defaults here).

    The plan carries them to every step, so that a Dask worker reads the same keywords as
    the process that planned the run.
    """

    saturate: str = _DEFAULTS.saturate_key
    exptime: str = _DEFAULTS.exptime_key
    filter: str = _DEFAULTS.filter_key
    instrument: str = _DEFAULTS.instrument_key
    date_obs: str = _DEFAULTS.date_obs_key

    @classmethod
    def from_config(cls, config: Gp2Config) -> HeaderKeywords:
        """The keywords of a workspace's ``[gp2]`` settings."""
        return cls(
            saturate=config.saturate_key,
            exptime=config.exptime_key,
            filter=config.filter_key,
            instrument=config.instrument_key,
            date_obs=config.date_obs_key,
        )

    def required(self, header: fits.Header, what: str, source: str):
        """The value of the keyword for ``what`` (a field name, e.g. ``"exptime"``).

        Raises
        ------
        FrameError
            If the header lacks it; the message names the file, the keyword and the setting.
        """
        key = getattr(self, what)
        if key not in header:
            raise FrameError(
                f"{source}: header keyword {key} is missing (expected the {_MEANING[what]}; "
                f"[gp2] {what}_key names the keyword)"
            )
        return header[key]

    def text(self, header: fits.Header, what: str) -> str:
        """The keyword's value as stripped text, empty when the header lacks it."""
        return str(header.get(getattr(self, what), "")).strip()


@dataclass(frozen=True)
class RunPlan:
    """What a run does: the modules asked for, their settings, the output layout.

    Attributes
    ----------
    steps : tuple of str
        Modules asked for (their outputs are written); the ones they need run too.
    settings : dict
        Module name → :class:`ModuleSettings` (``"pipeline"``: the defaults).
    headers : tuple of str
        Header keywords building the output folders (empty: everything in ``output``).
    t0 : str
        Trigger time, ISO UTC, for the decay fit (empty: no fit).
    keywords : HeaderKeywords
        The header keywords the steps read.
    instrumental : bool
        Photometry of an image without a reference catalogue writes instrumental
        magnitudes (``inst_mag``, −2.5 log10 of the electrons); False: such an image fails.
    """

    steps: tuple[str, ...]
    settings: dict = field(default_factory=dict)
    headers: tuple[str, ...] = ()
    t0: str = ""
    keywords: HeaderKeywords = field(default_factory=HeaderKeywords)
    instrumental: bool = False

    @classmethod
    def from_pipeline(
        cls, pipeline: PipelineSettings, *, t0: str = "", keywords: HeaderKeywords | None = None
    ) -> RunPlan:
        """The plan of the notes' pipeline level ([Structure of pipeline], [Workspace] headers)."""
        return cls(
            pipeline.steps,
            dict(pipeline.modules),
            pipeline.headers,
            t0,
            keywords or HeaderKeywords(),
        )

    @classmethod
    def for_module(
        cls,
        step: str,
        settings: ModuleSettings,
        *,
        t0: str = "",
        keywords: HeaderKeywords | None = None,
    ) -> RunPlan:
        """The plan of the notes' module level: one module, outputs straight into ``output``."""
        if step not in STEPS:
            raise ValueError(f"unknown module {step!r}; modules are {', '.join(STEPS)}")
        return cls((step,), {"pipeline": settings}, (), t0, keywords or HeaderKeywords())

    def settings_for(self, step: str) -> ModuleSettings:
        return self.settings.get(step) or self.settings.get("pipeline") or ModuleSettings()

    def chain(self) -> tuple[str, ...]:
        """Every module that runs, in order (the asked ones and what they need)."""
        needed = set(self.steps)
        for step in self.steps:
            needed |= set(PREREQUISITES[step])
        return tuple(step for step in STEPS if step in needed)


@dataclass(frozen=True)
class ImageResult:
    """What a run made of one image (or one stack), for a page or a notebook.

    ``reduced`` and ``difference`` are arrays (electrons) when the run kept images;
    ``sources`` and ``candidates`` are tables with ``x``, ``y`` (pixels, 0-based) and
    ``ra``, ``dec`` (degrees) when the frame has a WCS.
    """

    name: str
    path: str
    header: fits.Header | None
    filter: str
    t_start: str
    t_end: str
    exptime: float
    fwhm: float
    zp: float
    zp_err: float
    limit_mag: float
    sources: Table | None
    candidates: Table | None
    reduced: np.ndarray | None
    difference: np.ndarray | None
    outputs: dict
    log: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class RunResult:
    """A whole run: per image, the light curve, the candidates, the failures.

    Attributes
    ----------
    images : list of ImageResult
    light_curve : astropy.table.Table
        The photometry table (:data:`~analysis.gp2.summary.PHOTOMETRY_COLUMNS`), empty
        without the summary module.
    candidates : astropy.table.Table
        Every candidate of every image (``image_id``, ``filter``, ``x``, ``y``, ``ra``,
        ``dec``, ``snr``, ``flux``, ``transient`` True for the one located).
    transient : tuple or None
        (ra, dec, n_images) of the located transient.
    decay : JointDecayFit or None
        Power-law fit of the detections (when the plan has T0 and enough points).
    failures : list of (file, reason)
    summary_files : dict
        Written files: ``photometry`` and ``candidates`` CSVs per burst folder.
    inputs : dict
        Per frame: its instrument, filter and the files it was processed with (bias,
        dark, flat, reference, catalog; None when not given).
    """

    images: list
    light_curve: Table
    candidates: Table
    transient: tuple | None
    decay: JointDecayFit | None
    failures: list
    summary_files: dict
    inputs: dict = field(default_factory=dict)

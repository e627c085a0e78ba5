"""One image on its way through the GP2 pipeline: its state, what every step of a run
shares, the masters and catalogues read once per worker process, and the boundary
(:func:`guarded`) that turns a step's failure into a failed image."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from analysis.gp2 import ZeroPoint
from analysis.gp2.alignment import Alignment
from analysis.gp2.subtraction import Difference
from data_access.gp2.config import ModuleSettings, Parameters
from data_access.gp2.files import read_catalogue, read_image, write_image
from data_access.gp2.records import HeaderKeywords

log = logging.getLogger("gic.gp2")


@dataclass(frozen=True)
class ImageInputs:
    """The files one image is processed with (paths; None when not given)."""

    bias: str | None = None
    dark: str | None = None
    flat: str | None = None
    reference: str | None = None
    catalog: str | None = None


@dataclass(frozen=True)
class ImageState:
    """One image on its way through the pipeline (see the module docstring)."""

    name: str
    path: str
    out_dir: str
    header: fits.Header | None = None
    data: np.ndarray | None = None
    mask: np.ndarray | None = None
    background: np.ndarray | None = None  # None once subtracted from data
    rms: float = math.nan
    fwhm: float = math.nan
    sources: Table | None = None
    alignment: Alignment | None = None
    reduced: np.ndarray | None = None
    photometry: Table | None = None
    zp: ZeroPoint | None = None
    limit: float = math.nan
    difference: Difference | None = None
    diff_zp: ZeroPoint | None = None
    candidates: Table | None = None
    done: tuple[str, ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    log: tuple[str, ...] = ()
    error: str | None = None
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepContext:
    """What every step of a run shares: settings per module, the modules asked for by name,
    the header keywords read."""

    settings: dict = field(default_factory=dict)  # step -> ModuleSettings
    explicit: frozenset = frozenset()
    keep_images: bool = True
    keywords: HeaderKeywords = field(default_factory=HeaderKeywords)
    instrumental: bool = False

    def parameters(self, step: str) -> Parameters:
        return self.settings.get(step, ModuleSettings()).parameters

    def writes(self, step: str) -> bool:
        return step in self.explicit


@functools.lru_cache(maxsize=32)
def _master(path: str) -> tuple[np.ndarray, fits.Header]:
    return read_image(path)


@functools.lru_cache(maxsize=8)
def _catalogue(path: str) -> Table:
    return read_catalogue(path)


def guarded(step: str, function: Callable, state: ImageState, *args) -> ImageState:
    """Run one step on one image; a failure marks the image failed and is logged, never raised."""
    if state.error is not None:
        return state
    started = time.perf_counter()
    try:
        new = function(state, *args)
    except Exception as exc:  # the boundary: this image is reported, the others go on
        message = f"{state.path}: {step}: {exc}"
        log.error("%s", message, exc_info=not isinstance(exc, ValueError | OSError))
        return dataclasses.replace(
            state, error=message, log=state.log + (f"{step}: FAILED: {exc}",)
        )
    line = f"{step}: {_describe(step, new)} ({time.perf_counter() - started:.2f} s)"
    log.info("%s %s", state.name, line)
    return dataclasses.replace(new, done=new.done + (step,), log=new.log + (line,))


def _describe(step: str, state: ImageState) -> str:
    if step == "findstars":
        return (
            f"{len(state.sources)} sources, FWHM {state.fwhm:.2f} px, sky noise {state.rms:.1f} e-"
        )
    if step == "photometry" and "inst_mag" in state.photometry.colnames:
        return f"instrumental magnitudes of {len(state.photometry)} sources (no catalogue)"
    if step == "photometry" and state.zp is not None:
        zp = state.zp
        stars = f"({zp.n_stars} stars), limit {state.limit:.2f}"
        return f"zero point {zp.value:.3f} ± {zp.error:.3f} {stars}"
    if step == "subtraction" and state.candidates is not None:
        return f"{len(state.candidates)} candidates, difference noise {state.difference.rms:.1f} e-"
    if step == "alignment" and state.alignment is not None:
        return f"{state.alignment.method}, residual {state.alignment.residual:.3f} px"
    return "done"


def _output(state: ImageState, step: str, path: Path) -> tuple[tuple[str, str], ...]:
    return state.outputs + ((step, str(path)),)


def _image_output(
    state: ImageState,
    context: StepContext,
    step: str,
    folder: str,
    data: np.ndarray,
    header,
    mask: np.ndarray | None,
    *,
    name: str | None = None,
) -> tuple[tuple[str, str], ...]:
    """The state's outputs, plus the step's image written to ``<out_dir>/<folder>/<name>.fits``
    when the step's outputs are wanted (``context.writes(step)``)."""
    if not context.writes(step):
        return state.outputs
    target = Path(state.out_dir) / folder / f"{name or state.name}.fits"
    return _output(state, step, write_image(target, data, header, mask=mask))


def _subtracted(state: ImageState) -> np.ndarray:
    if state.background is None:
        return state.data
    return (state.data - state.background).astype(np.float32)


def load(path: str, name: str, out_dir: str) -> ImageState:
    """Read a frame (the first task of an image's chain)."""
    data, header = read_image(path)
    return ImageState(
        name=name,
        path=path,
        out_dir=out_dir,
        header=header,
        data=data,
        mask=~np.isfinite(data),
        log=(f"read {path}",),
    )


def _filter(state: ImageState, context: StepContext) -> str:
    return context.keywords.text(state.header, "filter")


def slim(state: ImageState, keep_images: bool, keep_difference: bool) -> ImageState:
    """The state without the arrays no later task needs (frees a worker's memory)."""
    difference = state.difference if keep_difference else None
    return dataclasses.replace(
        state,
        data=None,
        background=None,
        mask=None,
        reduced=state.reduced if keep_images else None,
        difference=difference,
    )

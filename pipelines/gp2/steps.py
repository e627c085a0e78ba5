"""The GP2 modules over one image's state: what one task of a run does.

Each step takes an :class:`ImageState` and returns a new one (the input is never
changed), reads the masters, reference and catalogue it needs (cached per worker
process), calls :mod:`analysis.gp2`, and writes its own outputs when the run asked for
that module by name (a module run only because a later one needs it writes nothing).
:func:`guarded` is the boundary: a step that fails marks its image failed, with the
file, the step and the reason, and the image's later steps pass it along untouched,
so that one bad image never stops the others (BANZAI's ``Stage.run``).
"""

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

from analysis.gp2 import (
    ZeroPoint,
    align_image,
    aperture_photometry,
    catalogue_magnitudes,
    find_candidates,
    find_stars,
    limiting_magnitude,
    match_catalogue,
    match_psf,
    reduce_frame,
    remove_cosmics,
    sky_positions,
    stack_frames,
    subtract_reference,
    transform_from_sources,
    transform_from_wcs,
    zero_point,
)
from analysis.gp2.alignment import Alignment, aligned_header, celestial_wcs
from analysis.gp2.cosmics import GAIN_OF_ELECTRONS, NO_SATURATION
from analysis.gp2.photometry import magnitudes
from analysis.gp2.subtraction import Difference, known_source_radius, psf_broadened
from data_access.gp2.config import ModuleSettings, Parameters
from data_access.gp2.files import read_catalogue, read_image, write_image, write_table
from data_access.gp2.records import HeaderKeywords

log = logging.getLogger("gic.gp2")

#: Header keyword marking a frame this pipeline has reduced (reduction is not done twice).
REDUCED_KEY = "GP2RED"

#: The zero point of instrumental magnitudes: −2.5 log10 of the electrons in the aperture.
INSTRUMENTAL = ZeroPoint(0.0, 0.0, 0.0, 0)


def no_catalogue(needed_by: str | None = None) -> str:
    """Why an image without a reference catalogue is refused: by photometry asked for by name
    (``needed_by`` None), or by the module whose zero points and magnitudes would be NaN."""
    why = (
        "no reference catalogue to calibrate the magnitudes on ([Calibration] catalog "
        "of the module's file)"
    )
    if needed_by is None:
        return f"photometry: {why}; give one, or ask for instrumental magnitudes (--instrumental)"
    return f"{needed_by} needs calibrated photometry: {why}; give one"


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


# -- cached readers (one per worker process) ----------------------------------------------
@functools.lru_cache(maxsize=32)
def _master(path: str) -> tuple[np.ndarray, fits.Header]:
    return read_image(path)


@functools.lru_cache(maxsize=8)
def _catalogue(path: str) -> Table:
    return read_catalogue(path)


@dataclass(frozen=True)
class Reference:
    """A reference image ready for subtraction: background-subtracted, its PSF and zero point."""

    data: np.ndarray
    mask: np.ndarray
    header: fits.Header
    fwhm: float
    rms: float
    sources: Table
    zp: ZeroPoint


@functools.lru_cache(maxsize=8)
def load_reference(
    path: str, catalog: str | None, filter_name: str, parameters: Parameters
) -> Reference:
    """Read a reference image, extract its sources and measure its zero point (cached)."""
    data, header = read_image(path)
    mask = ~np.isfinite(data)
    found = find_stars(
        np.nan_to_num(data),
        mask=mask,
        detect_thresh=parameters.detect_thresh,
        minarea=parameters.minarea,
    )
    if not math.isfinite(found.fwhm):
        raise ValueError(f"{path}: no star to measure the reference's PSF on")
    subtracted = np.where(mask, 0.0, data - found.background).astype(np.float32)
    zp = ZeroPoint(math.nan, math.nan, math.nan, 0)
    if catalog:
        zp = _zero_point(
            subtracted,
            found.table,
            header,
            found.rms,
            parameters.aperture * found.fwhm,
            _catalogue(catalog),
            filter_name,
            parameters,
            mask=mask,
        )
    return Reference(subtracted, mask, header, found.fwhm, found.rms, found.table, zp)


def _zero_point(
    data, sources, header, rms, radius, catalogue, filter_name, parameters, *, mask=None
) -> ZeroPoint:
    where = sky_positions(sources["x"], sources["y"], header)
    if where is None:
        return ZeroPoint(math.nan, math.nan, math.nan, 0)
    cat_ra, cat_dec, cat_mag = catalogue_magnitudes(catalogue, filter_name)
    index, cat_index, _ = match_catalogue(
        *where, cat_ra, cat_dec, radius_arcsec=parameters.match_radius
    )
    table = aperture_photometry(
        data, sources["x"][index], sources["y"][index], radius=radius, rms=rms, mask=mask
    )
    good = table["flag"] == 0
    return zero_point(
        np.asarray(table["flux"])[good],
        np.asarray(table["flux_err"])[good],
        cat_mag[cat_index][good],
    )


# -- the boundary ------------------------------------------------------------------------
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


# -- the steps ---------------------------------------------------------------------------
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


def reduction(state: ImageState, context: StepContext, inputs: ImageInputs) -> ImageState:
    header = state.header
    if header.get(REDUCED_KEY):
        return dataclasses.replace(
            state, log=state.log + ("reduction: already reduced, left as is",)
        )
    p = context.parameters("reduction")
    exptime_key = context.keywords.exptime
    bias = _master(inputs.bias)[0] if inputs.bias else None
    dark, dark_exptime = None, None
    if inputs.dark:
        dark, dark_header = _master(inputs.dark)
        if (
            not str(dark_header.get("BUNIT", "")).strip().endswith("/s")
            and exptime_key in dark_header
        ):
            dark_exptime = float(dark_header[exptime_key])
    flat = _master(inputs.flat)[0] if inputs.flat else None
    reduced = reduce_frame(
        state.data,
        header,
        bias=bias,
        dark=dark,
        dark_exptime=dark_exptime,
        flat=flat,
        gain=p.gain,
        sat_level=p.sat_level,
        exptime_key=exptime_key,
        saturate_key=context.keywords.saturate,
    )
    out = reduced.header
    out[REDUCED_KEY] = (True, "reduced by gic gp2")
    for key, path in (
        ("BIASFILE", inputs.bias),
        ("DARKFILE", inputs.dark),
        ("FLATFILE", inputs.flat),
    ):
        out[key] = (Path(path).name if path else "none", "master applied")
    outputs = _image_output(state, context, "reduction", "reduced", reduced.data, out, reduced.mask)
    return dataclasses.replace(
        state,
        data=reduced.data,
        mask=reduced.mask,
        header=out,
        outputs=outputs,
        reduced=reduced.data if context.keep_images else None,
    )


def cosmics(state: ImageState, context: StepContext) -> ImageState:
    p = context.parameters("cosmics")
    saturation = float(state.header.get(context.keywords.saturate, NO_SATURATION))
    cleaned = remove_cosmics(
        state.data,
        mask=state.mask,
        gain=GAIN_OF_ELECTRONS,
        readnoise=p.readnoise,
        sigclip=p.cr_sigclip,
        objlim=p.cr_objlim,
        saturation=saturation,
    )
    header = state.header.copy()
    header["NCOSMIC"] = (cleaned.count, "pixels cleaned of cosmic rays (L.A.Cosmic)")
    outputs = _image_output(state, context, "cosmics", "cosmics", cleaned.data, header, state.mask)
    return dataclasses.replace(
        state,
        data=cleaned.data,
        header=header,
        outputs=outputs,
        reduced=cleaned.data if context.keep_images else None,
    )


def findstars(state: ImageState, context: StepContext) -> ImageState:
    p = context.parameters("findstars")
    saturation = state.header.get(context.keywords.saturate)
    found = find_stars(
        state.data,
        mask=state.mask,
        detect_thresh=p.detect_thresh,
        minarea=p.minarea,
        saturation=None if saturation is None else float(saturation),
    )
    header = state.header.copy()
    header["FWHM"] = (
        round(found.fwhm, 3) if math.isfinite(found.fwhm) else "nan",
        "PSF FWHM, pixels",
    )
    header["SKYRMS"] = (round(found.rms, 3), "background noise per pixel, e-")
    header["SKYLEVEL"] = (round(float(np.median(found.background)), 3), "sky per pixel, e-")
    table = found.table.copy()
    where = sky_positions(table["x"], table["y"], header)
    if where is not None:
        table["ra"], table["dec"] = where
    outputs = state.outputs
    if context.writes("findstars"):
        outputs = _output(
            state,
            "findstars",
            write_table(Path(state.out_dir) / "sources" / f"{state.name}.csv", table),
        )
    return dataclasses.replace(
        state,
        background=found.background,
        rms=found.rms,
        fwhm=found.fwhm,
        sources=table,
        header=header,
        outputs=outputs,
    )


def _grid_of(
    inputs: ImageInputs, anchor: ImageState | None, state: ImageState, context: StepContext
):
    """The header, shape and sources of the frame an image is aligned onto."""
    if inputs.reference:
        reference = load_reference(
            inputs.reference,
            inputs.catalog,
            _filter(state, context),
            context.parameters("subtraction"),
        )
        return reference.header, reference.data.shape, reference.sources
    if anchor is None or anchor.name == state.name:
        return None
    if anchor.error is not None:
        raise ValueError(f"its alignment frame {anchor.path} failed")
    return anchor.header, anchor.data.shape, anchor.sources


def alignment(
    state: ImageState, context: StepContext, inputs: ImageInputs, anchor: ImageState | None
) -> ImageState:
    grid = _grid_of(inputs, anchor, state, context)
    if grid is None:
        transform, header, shape = Alignment.identity(), state.header.copy(), state.data.shape
    else:
        grid_header, shape, grid_sources = grid
        if celestial_wcs(state.header) is not None and celestial_wcs(grid_header) is not None:
            transform = transform_from_wcs(state.header, grid_header, state.data.shape)
        else:
            transform = transform_from_sources(
                np.column_stack([state.sources["x"], state.sources["y"]]),
                np.column_stack([grid_sources["x"], grid_sources["y"]]),
            )
        header = aligned_header(state.header, grid_header, transform)
    data, mask = align_image(_subtracted(state), transform, shape, mask=state.mask)
    sources = state.sources.copy()
    sources["x"], sources["y"] = transform.apply(sources["x"], sources["y"])
    outputs = _image_output(state, context, "alignment", "aligned", data, header, mask)
    return dataclasses.replace(
        state,
        data=data,
        mask=mask,
        background=None,
        header=header,
        sources=sources,
        alignment=transform,
        outputs=outputs,
    )


def stacking(states: list[ImageState], context: StepContext, name: str) -> ImageState:
    """Combine aligned images of one filter into a new image state (its sources extracted anew).

    The stack's log starts with its frames' logs (each line after the frame's name), so that
    a run's log keeps every step of every frame.
    """
    started = time.perf_counter()
    good = [s for s in states if s.error is None]
    first = states[0]
    if not good:
        return dataclasses.replace(first, name=name, error=f"{name}: stacking: every input failed")
    p = context.parameters("stacking")
    stack = stack_frames(
        [s.data for s in good],
        [s.header for s in good],
        masks=[s.mask for s in good],
        names=[s.name for s in good],
        method=p.stack_method,
        exptime_key=context.keywords.exptime,
        date_key=context.keywords.date_obs,
    )
    state = ImageState(
        name=name,
        path=good[0].path,
        out_dir=good[0].out_dir,
        header=stack.header,
        data=stack.data,
        mask=stack.mask,
        inputs=tuple(s.name for s in good),
        reduced=stack.data if context.keep_images else None,
        log=tuple(f"{s.name}: {line}" for s in states for line in s.log)
        + (f"stack of {', '.join(s.name for s in good)}",),
    )
    state = findstars(state, dataclasses.replace(context, explicit=frozenset()))
    outputs = _image_output(
        state, context, "stacking", "stacked", stack.data, stack.header, stack.mask, name=name
    )
    line = f"stacking: {len(good)} frames, FWHM {state.fwhm:.2f} px ({time.perf_counter() - started:.2f} s)"
    return dataclasses.replace(state, outputs=outputs, done=("stacking",), log=state.log + (line,))


def _filter(state: ImageState, context: StepContext) -> str:
    return context.keywords.text(state.header, "filter")


def _radius(p: Parameters, fwhm: float, path: str) -> float:
    if not (math.isfinite(fwhm) and fwhm > 0):
        raise ValueError(f"{path}: no PSF size (no unsaturated star found); photometry needs one")
    return p.aperture * fwhm


def photometry(state: ImageState, context: StepContext, inputs: ImageInputs) -> ImageState:
    p = context.parameters("photometry")
    radius = _radius(p, state.fwhm, state.path)
    data = _subtracted(state)
    table = aperture_photometry(
        data, state.sources["x"], state.sources["y"], radius=radius, rms=state.rms, mask=state.mask
    )
    zp = ZeroPoint(math.nan, math.nan, math.nan, 0)
    if inputs.catalog:
        zp = _zero_point(
            data,
            state.sources,
            state.header,
            state.rms,
            radius,
            _catalogue(inputs.catalog),
            _filter(state, context),
            p,
            mask=state.mask,
        )
    if inputs.catalog or not context.instrumental:
        table["mag"], table["mag_err"] = magnitudes(table["flux"], table["flux_err"], zp)
    else:
        table["inst_mag"], table["inst_mag_err"] = magnitudes(
            table["flux"], table["flux_err"], INSTRUMENTAL
        )
    where = sky_positions(table["x"], table["y"], state.header)
    if where is not None:
        table["ra"], table["dec"] = where
    limit = limiting_magnitude(state.rms, radius, zp.value, nsigma=p.limit_nsigma)
    header = state.header.copy()
    for key, value, comment in (
        ("ZP", zp.value, "zero point, AB mag for 1 e- in the aperture"),
        ("ZPERR", zp.error, "zero point error, mag"),
        ("ZPSTARS", zp.n_stars, "stars of the zero point"),
        ("LIMMAG", limit, f"{p.limit_nsigma:g} sigma limiting magnitude, AB"),
        ("APRADIUS", radius, "aperture radius, pixels"),
        ("MAGTYPE", "AB" if inputs.catalog else "instrumental", "AB (catalogue) or instrumental"),
    ):
        header[key] = (
            round(value, 4)
            if isinstance(value, float) and math.isfinite(value)
            else (value if not isinstance(value, float) else "nan"),
            comment,
        )
    outputs = state.outputs
    if context.writes("photometry"):
        outputs = _output(
            state,
            "photometry",
            write_table(Path(state.out_dir) / "photometry" / f"{state.name}.csv", table),
        )
    return dataclasses.replace(
        state, photometry=table, zp=zp, limit=limit, header=header, outputs=outputs
    )


def _known_sources(state: ImageState, inputs: ImageInputs, filter_name: str):
    """Pixel positions and brightness of the catalogue's stars on the image's grid."""
    wcs = celestial_wcs(state.header)
    if not inputs.catalog or wcs is None:
        return None, None, None
    ra, dec, mag = catalogue_magnitudes(_catalogue(inputs.catalog), filter_name)
    x, y = wcs.world_to_pixel_values(ra, dec)
    return np.asarray(x), np.asarray(y), mag


def subtraction(state: ImageState, context: StepContext, inputs: ImageInputs) -> ImageState:
    p = context.parameters("subtraction")
    science = _subtracted(state)
    if inputs.reference:
        reference = load_reference(inputs.reference, inputs.catalog, _filter(state, context), p)
        if reference.data.shape != science.shape:
            raise ValueError(
                f"reference {inputs.reference} is {reference.data.shape}, the aligned image "
                f"{science.shape}: align the image first"
            )
        scale = (
            10 ** (0.4 * (state.zp.value - reference.zp.value))
            if state.zp and math.isfinite(state.zp.value) and math.isfinite(reference.zp.value)
            else 1.0
        )
        difference = subtract_reference(
            science,
            reference.data,
            science_fwhm=state.fwhm,
            reference_fwhm=reference.fwhm,
            scale=scale,
            science_mask=state.mask,
            reference_mask=reference.mask,
        )
    elif inputs.catalog:
        difference = Difference(science, state.mask.copy(), state.rms, state.fwhm, 0.0)
    else:
        raise ValueError(
            "subtraction needs a reference image or a catalogue ([Calibration] reference, catalog)"
        )
    diff_zp = state.zp
    if psf_broadened(state.fwhm, difference.fwhm) and inputs.catalog:
        matched = match_psf(science, state.fwhm, difference.fwhm)
        diff_zp = _zero_point(
            matched,
            state.sources,
            state.header,
            state.rms,
            p.aperture * difference.fwhm,
            _catalogue(inputs.catalog),
            _filter(state, context),
            p,
            mask=state.mask,
        )
    radius = p.aperture * difference.fwhm
    limit = limiting_magnitude(difference.rms, radius, diff_zp.value, nsigma=p.limit_nsigma)
    known_x, known_y, known_mag = _known_sources(state, inputs, _filter(state, context))
    known_radius = 0.0
    if known_x is not None:
        known_radius = known_source_radius(p.mask_radius * difference.fwhm, limit, known_mag)
    candidates = find_candidates(
        difference,
        threshold=p.candidate_thresh,
        minarea=p.minarea,
        known_x=known_x,
        known_y=known_y,
        known_radius=known_radius,
    )
    where = sky_positions(candidates["x"], candidates["y"], state.header)
    candidates["ra"], candidates["dec"] = (
        where if where is not None else (np.full(len(candidates), np.nan),) * 2
    )
    outputs = state.outputs
    if context.writes("subtraction"):
        folder = Path(state.out_dir) / "subtraction"
        outputs = _output(
            state,
            "subtraction",
            write_image(
                folder / f"{state.name}_diff.fits",
                difference.data,
                state.header,
                mask=difference.mask,
            ),
        )
        outputs = outputs + (
            ("candidates", str(write_table(folder / f"{state.name}_candidates.csv", candidates))),
        )
    return dataclasses.replace(
        state,
        difference=difference,
        diff_zp=diff_zp,
        candidates=candidates,
        limit=limit,
        outputs=outputs,
    )


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

"""Photometry and subtraction: the zero point on the reference catalogue, the reference
image ready for subtraction, the difference image and its candidates."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from analysis.gp2 import (
    ZeroPoint,
    aperture_photometry,
    catalogue_magnitudes,
    find_candidates,
    find_stars,
    limiting_magnitude,
    match_catalogue,
    match_psf,
    sky_positions,
    subtract_reference,
    zero_point,
)
from analysis.gp2.alignment import celestial_wcs
from analysis.gp2.photometry import magnitudes
from analysis.gp2.subtraction import Difference, known_source_radius, psf_broadened
from data_access.gp2.config import Parameters
from data_access.gp2.files import read_image, write_image, write_table
from pipelines.gp2.steps.image import (
    ImageInputs,
    ImageState,
    StepContext,
    _catalogue,
    _filter,
    _output,
    _subtracted,
)

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

"""The steps of one frame before it meets another: reduction (masters, gain, saturation
mask), cosmic-ray removal and source extraction (background, sources, PSF FWHM)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from analysis.gp2 import find_stars, reduce_frame, remove_cosmics, sky_positions
from analysis.gp2.cosmics import GAIN_OF_ELECTRONS, NO_SATURATION
from data_access.gp2.files import write_table
from pipelines.gp2.steps.image import (
    ImageInputs,
    ImageState,
    StepContext,
    _image_output,
    _master,
    _output,
)

#: Header keyword marking a frame this pipeline has reduced (reduction is not done twice).
REDUCED_KEY = "GP2RED"


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

"""Alignment and stacking: a frame resampled onto its reference's grid (or the first
frame's of its camera and filter), and aligned frames of one filter combined."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from analysis.gp2 import align_image, stack_frames, transform_from_sources, transform_from_wcs
from analysis.gp2.alignment import Alignment, aligned_header, celestial_wcs
from pipelines.gp2.steps.detection import findstars
from pipelines.gp2.steps.image import (
    ImageInputs,
    ImageState,
    StepContext,
    _filter,
    _image_output,
    _subtracted,
)
from pipelines.gp2.steps.measurement import load_reference


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

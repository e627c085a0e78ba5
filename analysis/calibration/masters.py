"""Building master bias, dark and flat frames from a night's series, block by block.

A frame is anything with a ``shape`` (ny, nx) that gives rows when sliced
(``frame[r0:r1]`` → ndarray): a NumPy array, a ``np.memmap``, or the data-access
layer's ``FitsFrame`` over a ``.fits``/``.fits.fz`` file. Only one block of rows of
every frame is in memory at a time (``block_bytes`` in all), plus the master itself.

- bias: the combine of the raw frames;
- dark: the combine of the bias-subtracted frames, each divided by its exposure time
  when ``per_second`` (counts per second), else all at one exposure time;
- flat: the combine of the bias- and dark-subtracted frames, each divided by its own
  median; the master is then divided by its median, so that its median is 1.
"""

from __future__ import annotations

import math
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

import numpy as np
from astropy.io import fits

from analysis.calibration.combine import METHODS, combine_rows
from analysis.calibration.frames import CALIBRATION_TYPES, FrameInfo

#: Bytes of input rows held at once by default (all frames of one block together).
BLOCK_BYTES = 64 * 2**20

#: Threads combining blocks of rows at once.
WORKERS = min(2, os.cpu_count() or 1)

#: Rows sampled per frame to measure a flat's level (its median).
LEVEL_SAMPLE_ROWS = 256


def software_version() -> str:
    """``gic-workbench X.Y.Z`` as installed, for the masters' provenance."""
    try:
        return f"gic-workbench {metadata.version('gic-workbench')}"
    except metadata.PackageNotFoundError:
        return "gic-workbench (not installed)"


class RowSource(Protocol):
    """A frame read by rows: ``shape`` is (ny, nx); ``frame[r0:r1]`` gives float rows in ADU.

    A frame may also offer ``read_into(rows, out)``, filling a float32 ``out`` with the
    rows of a slice (a step allowed), and
    ``integer_dtype``: an integer type holding every pixel exactly in ADU (raw counts,
    no scaling, no BLANK), which ``read_into`` then fills as well; None otherwise.
    """

    shape: tuple[int, ...]

    def __getitem__(self, rows: slice) -> np.ndarray: ...


@dataclass(frozen=True)
class Master:
    """A master frame and its provenance.

    Attributes
    ----------
    data : ndarray, float32, shape (ny, nx)
        ADU (bias), ADU/s or ADU at ``EXPTIME`` (dark), or relative response (flat).
    header : astropy.io.fits.Header
        IMAGETYP 'MASTER <TYPE>', CALTYPE, INSTRUME, FILTER, DATE-OBS (first frame),
        DATE-END (last frame), NCOMBINE, IMCMBnnn (input names), COMBMETH, BUNIT,
        EXPTIME, the binning and the inputs' CCD temperature (mean under the frames' own
        keyword, TEMP-MIN, TEMP-MAX) when the frames give them, SOFTWARE and HISTORY.
    """

    data: np.ndarray
    header: fits.Header

    @property
    def caltype(self) -> str:
        return str(self.header["CALTYPE"])


@dataclass(frozen=True)
class Corrections:
    """What is taken off every raw frame before combining.

    Attributes
    ----------
    bias : RowSource or None
        Master bias, ADU.
    dark : RowSource or None
        Master dark, ADU/s when ``dark_exptime`` is None, else ADU at ``dark_exptime`` s.
    dark_exptime : float or None
    per_second : bool
        Divide darks by their exposure time (counts per second).
    """

    bias: RowSource | None = None
    dark: RowSource | None = None
    dark_exptime: float | None = None
    per_second: bool = True


def _dark_scale(exptime: float, corrections: Corrections) -> float:
    """Factor turning the master dark into the dark of an exposure of ``exptime`` s."""
    if corrections.dark_exptime is None:
        return exptime
    return exptime / corrections.dark_exptime


def _apply(
    data: np.ndarray,
    info: FrameInfo,
    caltype: str,
    corrections: Corrections,
    bias_rows: np.ndarray | None,
    dark_rows: np.ndarray | None,
    level: float,
) -> None:
    """Correct raw rows in place (float32): bias, dark (scaled to the exposure), level."""
    if caltype == "bias":
        return
    if bias_rows is not None:
        data -= bias_rows
    if caltype == "dark":
        if corrections.per_second:
            data /= np.float32(info.exptime)
        return
    if dark_rows is not None:
        data -= dark_rows * np.float32(_dark_scale(info.exptime, corrections))
    data /= np.float32(level)


def _master_rows(source: RowSource | None, rows: slice) -> np.ndarray | None:
    return None if source is None else np.asarray(source[rows], dtype=np.float32)


def _read(frame: RowSource, rows: slice, out: np.ndarray) -> None:
    """Raw rows of a frame into ``out``, directly when the frame can (``read_into``)."""
    reader = getattr(frame, "read_into", None)
    if reader is not None:
        reader(rows, out)
    else:
        out[...] = frame[rows]


def _rows_shape(frame: RowSource, rows: slice) -> tuple[int, int]:
    """The shape of ``frame[rows]``."""
    ny, nx = frame.shape
    return len(range(*rows.indices(ny))), nx


def corrected_rows(
    frame: RowSource,
    info: FrameInfo,
    rows: slice,
    caltype: str,
    corrections: Corrections,
    *,
    level: float = 1.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rows of one raw frame, corrected as ``caltype`` needs, in float32.

    Parameters
    ----------
    frame : RowSource
    info : FrameInfo
        Gives the exposure time (s).
    rows : slice
        Rows to read (a step is allowed).
    caltype : {"bias", "dark", "flat"}
    corrections : Corrections
    level : float, optional
        A flat's level (ADU), its rows are divided by it.
    out : ndarray, float32, optional
        Where to put the rows (read straight into it).
    """
    data = np.empty(_rows_shape(frame, rows), np.float32) if out is None else out
    _read(frame, rows, data)
    _apply(
        data,
        info,
        caltype,
        corrections,
        _master_rows(corrections.bias, rows),
        _master_rows(corrections.dark, rows),
        level,
    )
    return data


def flat_level(frame: RowSource, info: FrameInfo, corrections: Corrections) -> float:
    """Median (ADU) of a flat after bias and dark subtraction, over evenly spaced rows.

    Raises
    ------
    ValueError
        If the level is not positive (the frame cannot be normalised); names the frame.
    """
    step = max(1, frame.shape[0] // LEVEL_SAMPLE_ROWS)
    sample = corrected_rows(frame, info, slice(0, frame.shape[0], step), "flat", corrections)
    finite = sample[np.isfinite(sample)]
    level = float(np.median(finite)) if finite.size else math.nan
    if not level > 0:
        raise ValueError(f"{info.name}: flat level {level} ADU after bias/dark, expected > 0")
    return level


def _block_rows(n_frames: int, nx: int, block_bytes: int) -> int:
    return max(1, block_bytes // max(1, n_frames * nx * 4))


def _stack_dtype(frames: Sequence[RowSource], caltype: str, method: str) -> np.dtype:
    """uint16 (half the bytes to move) when a bias's median can be taken on the raw counts
    as they are: every frame holds its pixels exactly as uint16; float32 otherwise."""
    exact = {getattr(frame, "integer_dtype", None) for frame in frames}
    if caltype == "bias" and method == "median" and exact == {np.dtype(np.uint16)}:
        return np.dtype(np.uint16)
    return np.dtype(np.float32)


def build_master(
    frames: Sequence[RowSource],
    infos: Sequence[FrameInfo],
    caltype: str,
    *,
    corrections: Corrections | None = None,
    method: str = "median",
    sigma: float = 3.0,
    block_bytes: int = BLOCK_BYTES,
    progress: Callable[[int, int], None] | None = None,
    provenance: dict[str, Any] | None = None,
    workers: int = WORKERS,
    temperature_key: str = "CCD-TEMP",
    binning_keys: tuple[str, str] = ("XBINNING", "YBINNING"),
    keep: tuple[slice, np.ndarray] | None = None,
) -> Master:
    """Combine checked frames of one instrument, filter and type into a master.

    Parameters
    ----------
    frames : sequence of RowSource
        Raw frames, ADU, all of one shape (see
        :func:`analysis.calibration.frames.check_frames`).
    infos : sequence of FrameInfo
        The frames' descriptions, in the same order.
    caltype : {"bias", "dark", "flat"}
    corrections : Corrections, optional
        Master bias (darks, flats) and dark (flats) to subtract.
    method : {"median", "mean"}, optional
        Median, or sigma-clipped mean.
    sigma : float, optional
        Clipping threshold of the mean, in robust standard deviations.
    block_bytes : int, optional
        Input bytes held at once (every frame's rows of one block, as float32).
    progress : callable(done_rows, total_rows), optional
    provenance : dict, optional
        Extra header cards (e.g. BIASFILE, DARKFILE, ORIGIN, TELESCOP).
    workers : int, optional
        Threads combining blocks at once (NumPy releases the GIL); each holds its own
        block, so ``block_bytes`` is shared among them.
    temperature_key : str, optional
        Keyword of the mean CCD temperature of the inputs (°C) in the master's header.
    binning_keys : (str, str), optional
        Keywords of the binning (x, y) in the master's header.
    keep : (slice, ndarray), optional
        Rows (a slice with a step) and a float32 array of shape (n, rows, nx) that
        receives those rows of every frame as they are combined (read and corrected),
        so that the residual check needs not read them again.

    Returns
    -------
    Master

    Raises
    ------
    ValueError
        If no frame is given, shapes differ, a dark or flat has no bias, or the
        method is unknown; the message says which.
    """
    corrections = corrections or Corrections()
    _check_inputs(frames, infos, caltype, method, corrections)
    ny, nx = frames[0].shape
    levels = [1.0] * len(frames)
    if caltype == "flat":
        levels = [flat_level(f, i, corrections) for f, i in zip(frames, infos, strict=True)]
    master = np.empty((ny, nx), np.float32)
    workers = max(1, min(workers, ny))
    rows_per_block = _block_rows(len(frames) * workers, nx, block_bytes)
    stacks: queue.SimpleQueue = queue.SimpleQueue()
    dtype = _stack_dtype(frames, caltype, method)
    for _ in range(workers):
        stacks.put(np.empty((len(frames), rows_per_block, nx), dtype))

    def combine_block(r0: int) -> int:
        r1 = min(ny, r0 + rows_per_block)
        rows = slice(r0, r1)
        stack = stacks.get()
        try:
            block = stack[:, : r1 - r0]
            bias_rows = _master_rows(corrections.bias, rows)
            dark_rows = _master_rows(corrections.dark, rows)
            for k, (frame, info) in enumerate(zip(frames, infos, strict=True)):
                _read(frame, rows, block[k])
                _apply(block[k], info, caltype, corrections, bias_rows, dark_rows, levels[k])
            if keep is not None:
                _keep_rows(block, r0, r1, ny, keep)
            combine_rows(block, method=method, sigma=sigma, out=master[r0:r1])
        finally:
            stacks.put(stack)
        return r1

    starts = range(0, ny, rows_per_block)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(combine_block, starts), start=1):
            if progress:
                progress(min(ny, done * rows_per_block), ny)
    if caltype == "flat":
        finite = master[np.isfinite(master)]
        norm = float(np.median(finite)) if finite.size else math.nan
        if not norm > 0:
            raise ValueError(f"the combined flat has median {norm}, cannot normalise it to 1")
        master /= np.float32(norm)
    header = _provenance(infos, caltype, method, sigma, corrections, levels, provenance or {})
    _add_conditions(header, infos, temperature_key, binning_keys)
    return Master(data=master, header=header)


def _keep_rows(block: np.ndarray, r0: int, r1: int, ny: int, keep) -> None:
    """Copy the rows of ``keep``'s slice that fall in rows r0 to r1 into ``keep``'s array."""
    rows, out = keep
    start, stop, step = rows.indices(ny)
    first = start + max(0, -(-(r0 - start) // step)) * step  # the first kept row >= r0
    last = min(r1, stop)
    if first < last:
        index = range(first, last, step)
        at = (first - start) // step
        out[:, at : at + len(index)] = block[:, first - r0 : last - r0 : step]


def _add_conditions(
    header: fits.Header,
    infos: Sequence[FrameInfo],
    temperature_key: str,
    binning_keys: tuple[str, str],
) -> None:
    """The inputs' binning and CCD temperature (mean, min, max) into the master's header."""
    if infos[0].binning is not None:
        for key, value in zip(binning_keys, infos[0].binning, strict=True):
            header[key] = (value, "binning of the inputs")
    temperatures = [i.temperature for i in infos if math.isfinite(i.temperature)]
    if temperatures:
        header[temperature_key] = (
            round(sum(temperatures) / len(temperatures), 3),
            "C, mean CCD temperature of inputs",
        )
        header["TEMP-MIN"] = (min(temperatures), "C, lowest of the inputs")
        header["TEMP-MAX"] = (max(temperatures), "C, highest of the inputs")


def _check_inputs(frames, infos, caltype, method, corrections) -> None:
    if caltype not in CALIBRATION_TYPES:
        raise ValueError(
            f"calibration type '{caltype}' is not one of {', '.join(CALIBRATION_TYPES)}"
        )
    if method not in METHODS:
        raise ValueError(f"combine method '{method}' is not one of {', '.join(METHODS)}")
    if not frames or len(frames) != len(infos):
        raise ValueError(
            f"need frames and as many descriptions, got {len(frames)} and {len(infos)}"
        )
    shape = tuple(frames[0].shape)
    for frame, info in zip(frames, infos, strict=True):
        if tuple(frame.shape) != shape or len(shape) != 2:
            raise ValueError(f"{info.name}: shape {tuple(frame.shape)}, expected {shape} (2D)")
    for name, given in (("bias", corrections.bias), ("dark", corrections.dark)):
        if given is not None and tuple(given.shape) != shape:
            raise ValueError(f"master {name} has shape {tuple(given.shape)}, frames have {shape}")
    if caltype in ("dark", "flat") and corrections.bias is None:
        raise ValueError(f"a {caltype} master needs a master bias to subtract")


def _provenance(infos, caltype, method, sigma, corrections, levels, extra) -> fits.Header:
    dates = sorted(i.date for i in infos if i.date)
    first = infos[0]
    header = fits.Header()
    header["IMAGETYP"] = (f"MASTER {caltype.upper()}", "master calibration frame")
    header["CALTYPE"] = (caltype, "bias, dark or flat")
    header["INSTRUME"] = first.instrument
    header["FILTER"] = first.filter
    header["DATE-OBS"] = (dates[0] if dates else "", "start of the first input frame")
    header["DATE-END"] = (dates[-1] if dates else "", "start of the last input frame")
    header["NCOMBINE"] = (len(infos), "number of frames combined")
    header["COMBMETH"] = (method, "median, or mean (sigma-clipped)")
    if method == "mean":
        header["CLIPSIG"] = (sigma, "clipping threshold, robust sigmas")
    header["BUNIT"] = {"bias": "ADU", "dark": "ADU", "flat": ""}[caltype]
    if caltype == "dark":
        if corrections.per_second:
            header["BUNIT"] = "ADU/s"
            header["EXPTIME"] = (1.0, "s; counts per second")
        else:
            header["EXPTIME"] = (first.exptime, "s, of every input")
    elif caltype == "bias":
        header["EXPTIME"] = (0.0, "s")
    for key, value in extra.items():
        header[key] = value
    header["SOFTWARE"] = software_version()
    for k, info in enumerate(infos, start=1):
        header[f"IMCMB{k:03d}"] = info.name
    for k, (info, level) in enumerate(zip(infos, levels, strict=True), start=1):
        note = f" level {level:.6g} ADU" if caltype == "flat" else ""
        header.add_history(f"input {k}: {info.name} {info.date} {info.exptime:g} s{note}")
    header.add_history(f"build_master(caltype={caltype!r}, method={method!r}, sigma={sigma})")
    return header

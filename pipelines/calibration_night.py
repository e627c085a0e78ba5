"""The calibration procedure over files: build a master, validate it, run a whole night.

This is the boundary where files meet the science (BANZAI's stage runner): frames
are opened here (:mod:`data_access.fits_frames`), combined and checked by
:mod:`analysis.calibration`, and the results kept by
:class:`~data_access.calibration.store.CalibrationStore`. A frame that cannot be
read is left out with its reason and the series goes on; a series with too few
good frames gives no master and says why.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import numpy as np

from analysis.calibration import (
    CALIBRATION_TYPES,
    Corrections,
    FrameRules,
    FrameSelection,
    Master,
    ResidualCheck,
    ValidationReport,
    build_master,
    check_frames,
    correction_problems,
    normalise_type,
    temperature_problems,
    validate_master,
    verify_master,
)
from analysis.calibration.frames import FrameInfo
from analysis.calibration.headers import CORRECTION_TEMPERATURE_KEYS
from analysis.calibration.verify import residual_rows
from data_access.calibration.store import CalibrationStore, limits_for
from data_access.config import CalibrationConfig
from data_access.fits_frames import (
    FitsFrame,
    FrameError,
    HeaderKeys,
    fits_files_in,
    open_frame,
    read_master,
)
from data_access.notifications import Notifier
from data_access.safe_files import write_atomic

Progress = Callable[[int, int], None]
R = TypeVar("R")

#: FILTER of the masters of filter-free types (bias and dark by default).
NO_FILTER = "NONE"


class CalibrationBuildError(ValueError):
    """A series that gives no master; the message says why and lists the frames left out."""


@dataclass(frozen=True)
class BuiltMaster:
    """A master built from files, with the frames left out, the residual check and the
    warnings (``notes``: what could not be checked of the masters subtracted, a bias or
    dark taken at another temperature)."""

    master: Master
    selection: FrameSelection
    unreadable: tuple[tuple[str, str], ...]
    residual: ResidualCheck | None
    n_frames: int
    notes: tuple[str, ...] = ()

    @property
    def left_out(self) -> tuple[tuple[str, str], ...]:
        return self.unreadable + self.selection.rejected


@dataclass
class NightOutcome:
    """What ``run_night`` did for one kind of master."""

    caltype: str
    instrument: str
    filter: str
    n_frames: int
    action: str  # promoted, rejected, no master, already done
    detail: str = ""
    report: ValidationReport | None = None
    left_out: list[tuple[str, str]] = field(default_factory=list)


def header_keys(config: CalibrationConfig) -> HeaderKeys:
    """The header keywords named in ``[calibration]``."""
    return HeaderKeys(
        caltype=config.type_key,
        instrument=config.instrument_key,
        filter=config.filter_key,
        exptime=config.exptime_key,
        date=config.date_key,
        saturation=config.saturation_key,
        temperature=config.temperature_key,
        binning=_binning_keys(config),
    )


def _binning_keys(config: CalibrationConfig) -> tuple[str, str]:
    if len(config.binning_keys) != 2:
        raise ValueError(
            f"calibration.binning_keys must name two keywords (x, y), got {config.binning_keys}"
        )
    return tuple(config.binning_keys)  # type: ignore[return-value]


def frame_rules(config: CalibrationConfig) -> FrameRules:
    """The rules of a series from ``[calibration]``."""
    return FrameRules(
        min_frames=config.min_frames,
        max_bias_exptime=config.max_bias_exptime,
        max_saturated_fraction=config.max_saturated_fraction,
        same_exptime_types=() if config.dark_per_second else ("dark",),
        filter_free_types=tuple(config.filter_free_types),
        temperature_tolerance=config.temperature_tolerance,
        temperature_key=config.temperature_key,
    )


def master_filter(caltype: str, filter_: str, config: CalibrationConfig) -> str:
    """The FILTER a master of this type carries (NONE for filter-free types)."""
    return NO_FILTER if caltype in config.filter_free_types else filter_


def _dark_exptime(header) -> float | None:
    """None when a master dark is per second, else the exposure time it is at (s)."""
    if str(header.get("BUNIT", "")).strip().endswith("/s"):
        return None
    return float(header.get("EXPTIME", 1.0))


def build_from_files(
    paths: Sequence[Path | str],
    caltype: str,
    *,
    config: CalibrationConfig | None = None,
    bias: Path | None = None,
    dark: Path | None = None,
    verify: bool = True,
    progress: Progress | None = None,
) -> BuiltMaster:
    """Build a master from files (folders are searched for FITS files).

    Parameters
    ----------
    paths : sequence of path
        Raw frames, or folders of them.
    caltype : {"bias", "dark", "flat"}
    config : CalibrationConfig, optional
    bias, dark : Path, optional
        Masters to subtract (bias required for darks and flats).
    verify : bool, optional
        Also run the residual check (the master applied to its own frames).
    progress : callable(done_rows, total_rows), optional

    Raises
    ------
    CalibrationBuildError
        If too few frames are good; the message lists why each one was left out.
    FrameError
        If a master bias or dark cannot be read, or is not one that suits the frames
        (another type, instrument, binning or shape; both values named).
    """
    config = config or CalibrationConfig()
    if caltype not in CALIBRATION_TYPES:
        raise ValueError(f"--type '{caltype}' is not one of {', '.join(CALIBRATION_TYPES)}")
    files = fits_files_in(list(paths))
    with contextlib.ExitStack() as stack:
        frames, infos, unreadable = [], [], []
        for path in files:
            try:
                frame, info = open_frame(
                    path,
                    header_keys(config),
                    max_pixels=config.max_pixels,
                    saturation_level=config.saturation_level,
                )
            except FrameError as exc:
                unreadable.append((Path(path).name, str(exc)))
                continue
            stack.callback(frame.close)
            frames.append(frame)
            infos.append(info)
        selection = check_frames(infos, caltype, frame_rules(config))
        if selection.problem:
            raise CalibrationBuildError(
                _explain(selection.problem, unreadable + list(selection.rejected))
            )
        keep = {info.name for info in selection.good}
        chosen = [(f, i) for f, i in zip(frames, infos, strict=True) if i.name in keep]
        good_frames = [f for f, _ in chosen]
        good_infos = [i for _, i in chosen]
        corrections, notes = _corrections(stack, caltype, config, bias, dark, good_infos[0])
        extra = {
            "FILTER": master_filter(caltype, good_infos[0].filter, config),
            "ORIGIN": good_infos[0].origin or config.origin,
            "TELESCOP": good_infos[0].telescope or config.telescope,
            **_correction_cards(corrections, config),
        }
        if bias:
            extra["BIASFILE"] = Path(bias).name
        if dark and caltype == "flat":
            extra["DARKFILE"] = Path(dark).name
        keep = _residual_rows(good_frames) if verify and len(good_frames) > 1 else None
        master = build_master(
            good_frames,
            good_infos,
            caltype,
            corrections=corrections,
            method=config.method,
            sigma=config.sigma,
            block_bytes=config.block_mib * 2**20,
            progress=progress,
            provenance=extra,
            temperature_key=config.temperature_key,
            binning_keys=_binning_keys(config),
            keep=keep,
        )
        notes += temperature_problems(
            master.header,
            key=config.temperature_key,
            tolerance=config.reference_temperature_tolerance,
        )
        residual = None
        if keep is not None:
            residual = verify_master(
                master.data,
                good_frames,
                good_infos,
                caltype,
                corrections=corrections,
                max_mean_in_noise=config.residual_max_mean_noise,
                max_noise_ratio=config.residual_max_noise_ratio,
                corrected=keep[1],
            )
        return BuiltMaster(master, selection, tuple(unreadable), residual, len(files), tuple(notes))


def _residual_rows(frames: Sequence[FitsFrame]) -> tuple[slice, np.ndarray]:
    """The rows the residual check looks at, and where the build keeps them."""
    ny, nx = frames[0].shape
    rows = residual_rows(ny)
    return rows, np.empty((len(frames), len(range(*rows.indices(ny))), nx), np.float32)


def _corrections(
    stack, caltype, config, bias, dark, series: FrameInfo
) -> tuple[Corrections, list[str]]:
    """The masters to subtract, opened and checked against the series, and the notes of
    what their headers do not say."""
    if caltype == "bias":
        return Corrections(), []
    if bias is None:
        raise CalibrationBuildError(f"a {caltype} master needs a master bias (--bias)")
    notes: list[str] = []
    bias_frame = _correction(stack, Path(bias), "bias", config, series, notes)
    dark_frame, dark_exptime = None, None
    if dark is not None and caltype == "flat":
        dark_frame = _correction(stack, Path(dark), "dark", config, series, notes)
        dark_exptime = _dark_exptime(dark_frame.header)
    corrections = Corrections(
        bias=bias_frame,
        dark=dark_frame,
        dark_exptime=dark_exptime,
        per_second=config.dark_per_second,
    )
    return corrections, notes


def _correction(stack, path: Path, kind: str, config, series: FrameInfo, notes: list) -> FitsFrame:
    """A master bias or dark opened for subtraction, refused when it does not suit the
    series (another type, instrument, binning or shape)."""
    frame = stack.enter_context(FitsFrame(path, max_pixels=config.max_pixels))
    problems, unchecked = correction_problems(
        frame.header,
        frame.shape,
        kind,
        series,
        type_key=config.type_key,
        instrument_key=config.instrument_key,
        binning_keys=_binning_keys(config),
    )
    if problems:
        raise FrameError(f"{path}: not a master {kind} for these frames: {'; '.join(problems)}")
    notes += [f"{path.name}: {note}" for note in unchecked]
    return frame


def _correction_cards(corrections: Corrections, config: CalibrationConfig) -> dict:
    """BIASTEMP and DARKTEMP: the CCD temperature (°C) of the masters subtracted."""
    cards = {}
    for kind, frame in (("bias", corrections.bias), ("dark", corrections.dark)):
        value = None if frame is None else frame.header.get(config.temperature_key)
        try:
            value = float(value) if value is not None else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if math.isfinite(value):
            key = CORRECTION_TEMPERATURE_KEYS[kind]
            cards[key] = (value, f"C, CCD-TEMP of the master {kind} subtracted")
    return cards


def _explain(problem: str, left_out: Sequence[tuple[str, str]]) -> str:
    lines = [problem] + [f"  left out {name}: {reason}" for name, reason in left_out]
    return "\n".join(lines)


def validate_files(
    candidate: Path | str,
    reference: Path | str,
    *,
    config: CalibrationConfig | None = None,
    residual: ResidualCheck | None = None,
) -> ValidationReport:
    """Validate a candidate master file against a reference master file.

    Raises
    ------
    FrameError
        If a file is unreadable, truncated or all NaN (names the file).
    HeaderMismatch
        If type, instrument, filter, binning or shape differ.
    """
    config = config or CalibrationConfig()
    new, new_header = read_master(candidate, max_pixels=config.max_pixels)
    ref, ref_header = read_master(reference, max_pixels=config.max_pixels)
    caltype = normalise_type(new_header.get("CALTYPE")) or normalise_type(
        new_header.get("IMAGETYP")
    )
    if caltype not in CALIBRATION_TYPES:
        raise FrameError(
            f"{candidate}: IMAGETYP {new_header.get('IMAGETYP')!r} is not a bias, dark or "
            "flat master"
        )
    limits = limits_for(
        config, caltype, str(new_header.get("INSTRUME", "")), str(new_header.get("FILTER", ""))
    )
    return validate_master(
        new,
        new_header,
        ref,
        ref_header,
        limits=limits,
        im_name=Path(candidate).name,
        residual=residual,
        **validation_settings(config),
    )


def built_while_reading(
    build: Callable[[], BuiltMaster], read: Callable[[], R]
) -> tuple[BuiltMaster, R]:
    """``build()`` while ``read()`` (the reference master) runs beside it, in a thread: the
    reference's read is mostly the disk's and the decoding's work, the combine the
    memory's and the cores', so the read costs little time of its own.

    Returns
    -------
    (BuiltMaster, object)
        What each returned. When ``build`` raises, the read is waited for and the error
        goes on.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(read)
        built = build()
        return built, reading.result()


def validated_while_kept(
    keep: Callable[[], Path], *args, **kwargs
) -> tuple[ValidationReport, Path]:
    """:func:`~analysis.calibration.validate_master` of ``args`` and ``kwargs`` while
    ``keep()`` writes the master's file beside it, in a thread: validation is CPU work and
    the write mostly the disk's (a 6144×6160 master: 0.2 s, of which 0.06 s of CPU), so the
    write costs no time of its own.

    Returns
    -------
    (ValidationReport, Path)
        The report and the file ``keep`` wrote. When validation raises, the file is removed
        (no master file without its report) and the error goes on.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(keep)
        try:
            report = validate_master(*args, **kwargs)
        except BaseException:
            with contextlib.suppress(Exception):
                written.result().unlink(missing_ok=True)
            raise
        return report, written.result()


def validation_settings(config: CalibrationConfig) -> dict:
    """The keyword arguments of ``validate_master`` that ``[calibration]`` gives."""
    return {
        "origin": config.origin,
        "telescope": config.telescope,
        "temperature_key": config.temperature_key,
        "temperature_tolerance": config.reference_temperature_tolerance,
        "binning_keys": _binning_keys(config),
    }


def scan_night(folder: Path, config: CalibrationConfig) -> tuple[dict, list[tuple[str, str]]]:
    """The calibration frames of a night's folder, grouped by (instrument, filter, type).

    Frames of other types (lights) are ignored; unreadable files are returned with reasons.
    """
    keys = header_keys(config)
    groups: dict[tuple[str, str, str], list[Path]] = defaultdict(list)
    unreadable: list[tuple[str, str]] = []
    if not folder.is_dir():
        return {}, []
    for path in fits_files_in([folder]):
        try:
            with FitsFrame(path, max_pixels=config.max_pixels) as frame:
                header = frame.header
        except FrameError as exc:
            unreadable.append((path.name, str(exc)))
            continue
        caltype = normalise_type(header.get(keys.caltype))
        if caltype not in CALIBRATION_TYPES:
            continue
        instrument = str(header.get(keys.instrument, "")).strip()
        filter_ = master_filter(caltype, str(header.get(keys.filter, "")).strip(), config)
        groups[(instrument, filter_, caltype)].append(path)
    return dict(groups), unreadable


def run_night(
    store: CalibrationStore,
    night: date,
    folder: Path,
    *,
    config: CalibrationConfig | None = None,
    reports_dir: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    notifier: Notifier | None = None,
) -> list[NightOutcome]:
    """The daily procedure: every series of the night built, checked, compared, promoted.

    Biases first, then darks (with the bias in force), then flats (bias and dark in force).
    A kind already built for this night is skipped unless ``force``. Nothing found:
    nothing done (an empty list). The ``notifier``, if given, is told of every invalid master.
    """
    config = config or store.config
    groups, unreadable = scan_night(folder, config)
    order = sorted(groups, key=lambda k: (CALIBRATION_TYPES.index(k[2]), k[0], k[1]))
    outcomes = []
    built = set() if force else store.built_series(night)
    for done, (instrument, filter_, caltype) in enumerate(order):
        paths = groups[(instrument, filter_, caltype)]
        outcome = NightOutcome(caltype, instrument, filter_, len(paths), "no master")
        if (instrument, filter_, caltype) in built:
            outcome.action = "already done"
        else:
            _run_one(store, night, paths, outcome, config, reports_dir)
        outcomes.append(outcome)
        if progress:
            progress(done + 1, len(order))
    for _, reason in unreadable:
        outcomes.append(NightOutcome("?", "?", "?", 1, "unreadable", reason))
    if notifier is not None:
        notifier.masters_invalid(night, outcomes)
    return outcomes


def _run_one(store, night, paths, outcome: NightOutcome, config, reports_dir) -> None:
    caltype, instrument, filter_ = outcome.caltype, outcome.instrument, outcome.filter
    bias = store.in_force("bias", instrument, master_filter("bias", filter_, config))
    dark = store.in_force("dark", instrument, master_filter("dark", filter_, config))
    try:
        built, reference = built_while_reading(
            lambda: build_from_files(paths, caltype, config=config, bias=bias, dark=dark),
            lambda: store.reference(caltype, instrument, filter_),
        )
    except (CalibrationBuildError, FrameError) as exc:  # no master: the series says why
        outcome.detail = str(exc).splitlines()[0]
        store.record_series(
            night, instrument, filter_, caltype, n_frames=len(paths), n_good=0, problem=str(exc)
        )
        return
    ref_data, ref_header, ref_id = reference if reference else (None, None, None)
    im_name = f"{caltype}_{_name(instrument)}_{_name(filter_)}_{night:%Y%m%d}.fits"
    report, kept = validated_while_kept(
        lambda: store.keep_file(built.master, im_name),
        built.master.data,
        built.master.header,
        ref_data,
        ref_header,
        limits=limits_for(config, caltype, instrument, filter_),
        im_name=im_name,
        residual=built.residual,
        **validation_settings(config),
    )
    del ref_data
    with store.one_commit():  # the master's row and its series; then its promotion
        master_id, report_id = store.add(
            built.master, report, night, reference_id=ref_id, promote=False, kept=kept
        )
        store.record_series(
            night,
            instrument,
            filter_,
            caltype,
            n_frames=len(paths),
            n_good=len(built.selection.good),
            rejected=built.left_out,
            report_id=report_id,
        )
    if report.valid:
        store.promote(master_id)
    if reports_dir is not None:
        write_report(reports_dir, f"{Path(report.im_name).stem}.json", report)
    outcome.report = report
    outcome.left_out = list(built.left_out)
    outcome.action = "promoted" if report.valid else "rejected"
    outcome.detail = "; ".join((*report.reasons, *built.notes))


def write_report(folder: Path, name: str, report: ValidationReport) -> Path:
    """A report as the notes' JSON, written atomically as ``folder/name``."""
    text = json.dumps(report.to_dict(), indent=2) + "\n"
    return write_atomic(folder, name, text.encode("utf-8"))


def _name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in text.strip()) or "NONE"

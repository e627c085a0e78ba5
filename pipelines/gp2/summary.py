"""The summary of a GP2 run: the transient measured in each image, each image's result
for the page, and the burst's light curve, candidates, log and joint decay fit
(:func:`analysis.afterglow.fit_joint_decay`) written beside its frames."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from astropy.table import Table, vstack
from astropy.time import Time
from astropy.wcs.utils import proj_plane_pixel_scales

from analysis.afterglow import JointDecayFit
from analysis.gp2 import fit_decay, light_curve_table, measure_transient
from analysis.gp2.alignment import celestial_wcs
from analysis.gp2.stacking import exposure_times
from analysis.gp2.summary import detection_position_error
from data_access.gp2.files import write_photometry, write_table
from data_access.gp2.records import HeaderKeywords, ImageResult, RunResult
from data_access.safe_files import write_atomic
from pipelines.gp2.steps import ImageState, StepContext

log = logging.getLogger("gic.gp2")


def _candidate_positions(state: ImageState) -> tuple[np.ndarray, np.ndarray]:
    if state.error is not None or state.candidates is None or "ra" not in state.candidates.colnames:
        return np.zeros(0), np.zeros(0)
    return np.asarray(state.candidates["ra"], float), np.asarray(state.candidates["dec"], float)


def _times(state: ImageState, keywords: HeaderKeywords) -> tuple[str, str, float]:
    start, end = exposure_times(
        state.header, exptime_key=keywords.exptime, date_key=keywords.date_obs
    )
    return start.isot, end.isot, float(state.header[keywords.exptime])


def measure(
    state: ImageState, context: StepContext, ra: float, dec: float, scatter: float = math.nan
) -> dict | None:
    """The transient's photometry row of one image (None for a failed image); ``scatter`` is
    that of the transient's candidates about (ra, dec), arcsec (its ``pos_err`` with the
    image's alignment residual)."""
    if state.error is not None or state.difference is None:
        return None
    p = context.parameters("summary")
    t_start, t_end, exptime = _times(state, context.keywords)
    row = {
        "image_id": state.name,
        "filter": context.keywords.text(state.header, "filter"),
        "t_start": t_start,
        "t_end": t_end,
        "exptime": exptime,
        "limit_mag": state.limit,
        "ra": ra,
        "dec": dec,
    }
    wcs = celestial_wcs(state.header)
    if not (math.isfinite(ra) and wcs is not None):
        return {**row, "mag": state.limit, "mag_err": 0.0, "detected": 0}
    x, y = (float(v) for v in wcs.world_to_pixel_values(ra, dec))
    zp = state.diff_zp or state.zp
    measured = measure_transient(
        state.difference.data,
        x,
        y,
        radius=p.aperture * state.difference.fwhm,
        rms=state.difference.rms,
        zp=zp.value,
        zp_err=zp.error,
        limit=state.limit,
        mask=state.difference.mask,
        detect_snr=p.detect_snr,
    )
    residual = state.alignment.residual if state.alignment is not None else math.nan
    scale = float(np.mean(proj_plane_pixel_scales(wcs))) * 3600.0
    return {
        **row,
        "mag": measured.mag,
        "mag_err": measured.mag_err,
        "detected": int(measured.detected),
        "pos_err": (
            detection_position_error(scatter, residual, scale) if measured.detected else math.nan
        ),
    }


def image_result(state: ImageState, context: StepContext) -> ImageResult:
    """The page's view of one image's state."""
    keywords, keep_images = context.keywords, context.keep_images
    try:
        t_start, t_end, exptime = (
            _times(state, keywords) if state.header is not None else ("", "", math.nan)
        )
    except (ValueError, KeyError):
        t_start, t_end, exptime = "", "", math.nan
    zp = state.diff_zp or state.zp
    return ImageResult(
        name=state.name,
        path=state.path,
        header=state.header,
        filter=keywords.text(state.header, "filter") if state.header is not None else "",
        t_start=t_start,
        t_end=t_end,
        exptime=exptime,
        fwhm=state.fwhm,
        zp=zp.value if zp else math.nan,
        zp_err=zp.error if zp else math.nan,
        limit_mag=state.limit,
        sources=state.sources,
        candidates=state.candidates,
        reduced=state.reduced if keep_images else None,
        difference=state.difference.data if keep_images and state.difference is not None else None,
        outputs=dict(state.outputs),
        log=state.log,
        error=state.error,
    )


def _candidates_table(
    results: list[ImageResult], transients: dict, summary_dirs: dict, radius: float
) -> Table:
    tables = []
    for r in results:
        if r.candidates is None or len(r.candidates) == 0:
            continue
        t = r.candidates.copy()
        t.add_column([r.name] * len(t), name="image_id", index=0)
        t.add_column([r.filter] * len(t), name="filter", index=1)
        where = transients.get(summary_dirs.get(r.name))
        if where and "ra" in t.colnames:
            separation = (
                np.hypot((t["ra"] - where[0]) * np.cos(np.radians(where[1])), t["dec"] - where[1])
                * 3600
            )
            t["transient"] = np.asarray(separation < radius)
        else:
            t["transient"] = np.zeros(len(t), bool)
        tables.append(t)
    if not tables:
        return Table(
            names=(
                "image_id",
                "filter",
                "x",
                "y",
                "flux",
                "peak",
                "snr",
                "npix",
                "ra",
                "dec",
                "transient",
            ),
            dtype=(str, str, float, float, float, float, float, int, float, float, bool),
        )
    return vstack(tables, metadata_conflicts="silent")


def _finish(plan, results, rows, transients, failures, summary_dirs, context) -> RunResult:
    radius = context.parameters("summary").match_radius
    candidates = _candidates_table(results, transients, summary_dirs, radius)
    files = {}
    by_burst = defaultdict(list)
    for name, row in rows.items():
        if row is not None:
            by_burst[summary_dirs[name]].append(row)
    light_curves = []
    for folder, burst_rows in by_burst.items():
        table = light_curve_table(burst_rows)
        light_curves.append(table)
        files[str(folder)] = {
            "photometry": str(write_photometry(Path(folder) / "photometry.csv", table))
        }
        names = {row["image_id"] for row in burst_rows}
        files[str(folder)]["candidates"] = str(
            write_table(
                Path(folder) / "candidates.csv",
                candidates[[n in names for n in candidates["image_id"]]],
            )
        )
        _write_log(Path(folder) / "gp2.log", results, failures)
    light_curve = vstack(light_curves) if light_curves else light_curve_table([])
    transient = next(iter(transients.values()), None) if transients else None
    return RunResult(
        images=results,
        light_curve=light_curve,
        candidates=candidates,
        transient=transient,
        decay=_decay(light_curve, plan.t0),
        failures=failures,
        summary_files=files,
    )


def _decay(light_curve: Table, t0: str) -> JointDecayFit | None:
    if not t0 or len(light_curve) == 0:
        return None
    detected = light_curve[light_curve["detected"] == 1]
    trigger = Time(t0, format="isot", scale="utc")
    starts = np.array([(Time(t, scale="utc") - trigger).sec for t in detected["t_start"]])
    ends = np.array([(Time(t, scale="utc") - trigger).sec for t in detected["t_end"]])
    try:
        return fit_decay(
            starts, ends, detected["mag"], detected["mag_err"], list(detected["filter"])
        )
    except ValueError as exc:
        log.info("no decay fit: %s", exc)
        return None


def _write_log(path: Path, results: list[ImageResult], failures: list) -> None:
    lines = []
    for r in results:
        lines += [f"{r.name}: {line}" for line in r.log]
    lines += [f"FAILED {name}: {reason}" for name, reason in failures]
    write_atomic(path.parent, path.name, ("\n".join(lines) + "\n").encode("utf-8"))

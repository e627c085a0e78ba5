"""Demo image quality: each night's science frames with their figures, so that the Night page,
``gic night show`` and the dossier's frames have something to show offline.

Every demo night gets a few frames per camera and filter of the burst sequence, the seeing,
transparency and sky of the night drawn from a seeded generator (one night of bad seeing,
one cloudy night, one frame trailed, so that the limits flag something); the demo burst's
frames (``raw/gp2/<burst>/``) get the figures their generation used (``truth.csv``), their
airmass from their pointing at the site. The records go in through the store, with the
telemetry at each exposure, as a GP2 run's do; their ``source`` is 'demo'.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from analysis.colibri import BURST_FILTERS
from analysis.frame_quality import FrameQuality, frame_airmass
from analysis.gp2.photometry import limiting_magnitude
from analysis.gp2.simulate import ZP_PER_SECOND
from data_access.stores import Stores
from demo.calibration import demo_last_night, demo_nights
from pipelines.frame_quality import QualityRecorder

Progress = Callable[[str, int, int], None]

#: Frames per night, camera and filter; their exposure time, s; the pixel scale, arcsec.
FRAMES_PER_NIGHT, EXPTIME, PIXEL_SCALE = 4, 60.0, 0.702
#: Nights (counted back from the last) of bad seeing and of clouds.
BAD_SEEING_NIGHT, CLOUDY_NIGHT = 2, 4


def _night_frames(rng, night_start: datetime, night: int, camera: str, filter_: str) -> list:
    seeing = 3.4 if night == BAD_SEEING_NIGHT else float(rng.uniform(1.4, 2.4))
    clouds = 1.6 if night == CLOUDY_NIGHT else 0.0
    frames = []
    for k in range(FRAMES_PER_NIGHT):
        t_mid = night_start + timedelta(hours=1.5 + 2.0 * k, minutes=float(rng.uniform(0, 30)))
        zp = ZP_PER_SECOND[filter_] - clouds - float(rng.normal(0.0, 0.03))
        fwhm = seeing * float(rng.normal(1.0, 0.05))
        sky = float(rng.uniform(19.5, 20.8))  # mag/arcsec²
        sky_e = EXPTIME * 10 ** (0.4 * (zp - sky)) * PIXEL_SCALE**2
        trailed = night == 1 and k == FRAMES_PER_NIGHT - 1
        frames.append(
            FrameQuality(
                image_id=f"{t_mid:%Y%m%dT%H%M%S}_{camera}_{filter_}",
                instrument=camera,
                filter=filter_,
                t_mid=Time(t_mid, scale="utc").isot,
                exptime=EXPTIME,
                zp=zp,
                zp_err=float(rng.uniform(0.005, 0.02)),
                zp_stars=int(rng.integers(20, 80)),
                fwhm_px=fwhm / PIXEL_SCALE,
                fwhm_arcsec=fwhm,
                ellipticity=0.42 if trailed else float(rng.uniform(0.03, 0.12)),
                sky_adu=sky_e / 1.6,
                sky_mag_arcsec2=sky,
                limit_mag=_limit(zp, sky_e, fwhm / PIXEL_SCALE, EXPTIME),
                airmass=float(rng.uniform(1.02, 1.9)),
                source="demo",
            )
        )
    return frames


def nightly_frames(last_night: date, nights: int, *, seed: int = 18) -> list[FrameQuality]:
    """Generated frames of the ``nights`` nights ending with ``last_night`` (each from 03:00
    UTC after its evening, 20:00 at San Pedro Mártir)."""
    rng = np.random.default_rng(seed)
    last = datetime.combine(last_night + timedelta(days=1), time(3))
    frames = []
    for night in range(nights, 0, -1):
        start = last - timedelta(days=night - 1)
        for camera, filters in BURST_FILTERS.items():
            if camera.startswith("DDRAGO"):
                frames += [q for f in filters for q in _night_frames(rng, start, night, camera, f)]
    return frames


def _limit(zp: float, sky_e: float, fwhm_px: float, exptime: float) -> float:
    """The 5σ limit of a frame: sky and read noise (5 e-) in GP2's aperture (1.5 FWHM)."""
    return limiting_magnitude(
        math.sqrt(sky_e + 25.0), 1.5 * fwhm_px, zp + 2.5 * math.log10(EXPTIME)
    )


def burst_frames(stores: Stores, site) -> tuple[list[FrameQuality], list[str]]:
    """The demo burst's frames with the figures of their generation, and their files."""
    records, paths = [], []
    for folder in stores.reprocess.folders().itertuples():
        truth_file = Path(folder.path) / "truth.csv"
        if not truth_file.is_file():
            continue
        truth = {row["image_id"]: row for row in Table.read(truth_file, format="ascii.csv")}
        images, headers = stores.reprocess.images(folder.path)
        for image in images.itertuples():
            if image.name in truth:
                records.append(_burst_frame(image, headers[image.name], truth[image.name], site))
                paths.append(image.path)
    return records, paths


def _burst_frame(image, header: fits.Header, truth, site) -> FrameQuality:
    t_mid = Time(pd.Timestamp(image.t_mid).to_pydatetime(), scale="utc")
    zp = ZP_PER_SECOND[image.filter]
    sky_e = float(truth["sky"]) * image.exptime
    gain = float(header.get("GAIN", 1.0))
    return FrameQuality(
        image_id=image.name,
        instrument=image.instrument,
        filter=image.filter,
        t_mid=t_mid.isot,
        exptime=float(image.exptime),
        zp=zp,
        zp_err=0.01,
        zp_stars=40,
        fwhm_px=float(truth["fwhm"]),
        fwhm_arcsec=float(truth["fwhm"]) * PIXEL_SCALE,
        ellipticity=0.05,
        sky_adu=sky_e / gain,
        sky_mag_arcsec2=zp - 2.5 * math.log10(float(truth["sky"]) / PIXEL_SCALE**2),
        limit_mag=_limit(zp, sky_e, float(truth["fwhm"]), image.exptime),
        airmass=frame_airmass(header, t_mid, site),
        source="demo",
    )


def build_quality_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """Record the demo nights' frames and the demo burst's (see the module docstring)."""
    if progress:
        progress("recording the frames' image quality", 0, 1)
    recorder = QualityRecorder.from_stores(stores)
    nights = demo_nights(days)
    generated = nightly_frames(demo_last_night(stores), nights)
    burst, paths = burst_frames(stores, recorder.site)
    records = generated + burst
    stores.quality.record(
        records,
        paths=[""] * len(generated) + paths,
        telemetry=recorder.telemetry(records),
    )
    return f"quality: {len(generated)} frames over {nights} nights, {len(burst)} burst frames"

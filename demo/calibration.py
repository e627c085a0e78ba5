"""Demo calibration: raw bias, dark and flat frames for 60 nights, run through the real
procedure (:func:`pipelines.calibration_night.run_night`) night after night.

The cameras: DDRAGO1 and DDRAGO2 (flats in g, r, i, z) and CAGIRE (flats in J, H).
Each night brings :data:`FRAMES_PER_SERIES` small frames (:data:`SHAPE`) of every kind
into ``raw/calibration/YYYYMMDD/``, as the telescope would. The detectors are modelled
plainly, with a fixed pattern per camera so that consecutive masters agree:

- bias: a level with a column pattern and a gradient, drifting slowly up (a slow drift
  of :data:`BIAS_DRIFT_ADU` per night), read noise of :data:`READ_NOISE_ADU`;
- dark: bias + dark current (ADU/s) and hot pixels, photon noise;
- flat: bias + dark + twilight level × vignetting × pixel response × dust, photon noise.

Three things go wrong, one per type, so that the pages have something to show:
the DDRAGO1 biases of one night jump by 4 ADU (MEANDIFF out of [-2, 2]); the CAGIRE darks
of another night see a light leak (+3 ADU/s); the DDRAGO2 r flats of a third night are lit
unevenly (a 12 % tilt: RMSDIFF of the ratio out of [0, 0.02]). And CAGIRE sends nothing for
a week (up to seven nights, fewer in a short demo), which the completeness grid shows as
missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits

from analysis.colibri import CAMERAS
from data_access.stores import Stores
from pipelines.calibration_night import run_night

Progress = Callable[[str, int, int], None]

#: Pixels of every demo frame (ny, nx): small, so that 60 nights build in seconds.
SHAPE = (64, 64)
FRAMES_PER_SERIES = 4
READ_NOISE_ADU = 2.0
BIAS_DRIFT_ADU = 0.03
DARK_EXPTIME_S = 60.0
FLAT_EXPTIME_S = 5.0

#: Nights of a full demo, and the fewest of a short one (see :func:`demo_nights`).
FULL_NIGHTS = 60
FEWEST_NIGHTS = 6

_BIAS_LEVEL = {"DDRAGO1": 1000.0, "DDRAGO2": 1050.0, "CAGIRE": 600.0}
_DARK_RATE = {"DDRAGO1": 0.02, "DDRAGO2": 0.03, "CAGIRE": 0.5}  # ADU/s
_FLAT_LEVEL = {"g": 18000.0, "r": 22000.0, "i": 20000.0, "z": 15000.0, "J": 16000.0, "H": 19000.0}

#: The instrument that sends no calibration for a week.
MISSING_INSTRUMENT = "CAGIRE"


@dataclass(frozen=True)
class DemoTroubles:
    """Which night (index from 0, the oldest) goes wrong for each type, and the missing week."""

    bad_bias: int
    bad_dark: int
    bad_flat: int
    missing: range

    @classmethod
    def for_nights(cls, n: int) -> DemoTroubles:
        """Troubles placed inside ``n`` nights: never on the first night (no reference yet)."""
        week = max(1, min(7, n // 6))
        bad_dark = max(1, (5 * n) // 12)
        start = max(bad_dark + 1, (2 * n) // 3)
        return cls(
            bad_bias=n // 2,
            bad_dark=bad_dark,
            bad_flat=max(1, n // 3),
            missing=range(start, min(n - 1, start + week)),
        )


def demo_last_night(stores: Stores) -> date:
    """The demo's last night: the observing night before the one under way now
    (``[calibration] night_offset_h``). Its calibration, its frames and the demo burst's T0
    all fall in it, whatever the hour the demo is built."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return stores.calibration.night_of(now) - timedelta(days=1)


def demo_nights(days: float) -> int:
    """Nights of calibration for a demo of ``days`` days of telemetry.

    A full demo (``days`` ≥ 30, ``gic demo build``'s default) has :data:`FULL_NIGHTS`;
    a shorter one has twice ``days`` nights (so that a two-day test demo builds in a few
    seconds), never fewer than :data:`FEWEST_NIGHTS` (enough for a bad night of each type
    and a missing night).
    """
    if days >= 30:
        return FULL_NIGHTS
    return int(min(FULL_NIGHTS, max(FEWEST_NIGHTS, 2 * int(days))))


def _fixed(instrument: str, salt: int) -> np.random.Generator:
    """A generator that gives the same pattern of one camera every night."""
    return np.random.default_rng([sum(map(ord, instrument)), salt])


def bias_pattern(instrument: str) -> np.ndarray:
    """The camera's bias structure (ADU): column offsets and a gentle gradient."""
    ny, nx = SHAPE
    columns = _fixed(instrument, 1).normal(0.0, 1.5, nx)
    gradient = np.linspace(-1.5, 1.5, ny)[:, None]
    return (columns[None, :] + gradient).astype(np.float64)


def hot_pixels(instrument: str) -> np.ndarray:
    """Extra dark current (ADU/s) of the camera's hot pixels (0.3 % of the pixels)."""
    rng = _fixed(instrument, 2)
    extra = np.zeros(SHAPE)
    count = max(1, int(0.003 * extra.size))
    extra.flat[rng.choice(extra.size, count, replace=False)] = rng.uniform(0.5, 3.0, count)
    return extra


def flat_response(instrument: str, filter_: str, drift: float) -> np.ndarray:
    """Vignetting × pixel response × dust donuts, around 1 (``drift`` deepens vignetting)."""
    ny, nx = SHAPE
    y, x = np.mgrid[0:ny, 0:nx]
    r2 = ((x - nx / 2) ** 2 + (y - ny / 2) ** 2) / (0.5 * max(nx, ny)) ** 2
    vignetting = 1.0 - (0.08 + drift) * r2
    pixels = 1.0 + _fixed(instrument, 3).normal(0.0, 0.005, SHAPE)
    dust = np.ones(SHAPE)
    rng = _fixed(instrument + filter_, 4)
    for _ in range(2):
        cy, cx, radius = rng.uniform(0.2 * ny, 0.8 * ny), rng.uniform(0.2 * nx, 0.8 * nx), 4.0
        d = np.hypot(y - cy, x - cx)
        dust -= 0.04 * ((d > radius - 1.5) & (d < radius + 1.5))
    return vignetting * pixels * dust


def _write(path: Path, data: np.ndarray, header: dict) -> Path:
    frame = np.clip(np.round(data), 0, 65535).astype(np.uint16)
    fits.PrimaryHDU(frame, fits.Header(header)).writeto(path, overwrite=True)
    return path


@dataclass
class _Camera:
    """One camera's series of a night, written into one folder."""

    folder: Path
    instrument: str
    filters: tuple[str, ...]
    rng: np.random.Generator

    def write(
        self,
        kind: str,
        signal: np.ndarray,
        when: datetime,
        exptime: float,
        filter_: str | None = None,
    ) -> list[Path]:
        """:data:`FRAMES_PER_SERIES` frames of ``signal`` (ADU, or a callable of k) + read noise."""
        paths = []
        for k in range(FRAMES_PER_SERIES):
            level = signal(k) if callable(signal) else signal
            noisy = level + self.rng.normal(0.0, READ_NOISE_ADU, SHAPE)
            header = {
                "IMAGETYP": kind.upper(),
                "INSTRUME": self.instrument,
                "TELESCOP": "COLIBRI",
                "ORIGIN": "OAN/SPM",
                "FILTER": filter_ or self.filters[0],
                "BUNIT": "adu",
                "EXPTIME": exptime,
                "DATE-OBS": f"{when + timedelta(minutes=k):%Y-%m-%dT%H:%M:%S}",
            }
            name = f"{self.instrument}_{kind}" + (f"_{filter_}" if filter_ else "")
            paths.append(_write(self.folder / f"{name}_{k:02d}.fits", noisy, header))
        return paths


def write_night(
    folder: Path, night: date, index: int, troubles: DemoTroubles, *, seed: int = 0
) -> list[Path]:
    """Write one night's raw calibration frames into ``folder``; returns their paths.

    Biases and darks are taken in the morning after the night (UTC 13:00 and 13:30),
    flats at dusk (UTC 01:30 the next day); every time belongs to ``night`` at SPM.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, index])
    dusk = datetime(night.year, night.month, night.day) + timedelta(days=1, hours=1, minutes=30)
    morning = dusk + timedelta(hours=11, minutes=30)
    paths = []
    for instrument, filters in CAMERAS.items():
        if instrument == MISSING_INSTRUMENT and index in troubles.missing:
            continue
        camera = _Camera(folder, instrument, filters, rng)
        bias = _BIAS_LEVEL[instrument] + BIAS_DRIFT_ADU * index + bias_pattern(instrument)
        rate = _DARK_RATE[instrument] * (1 + 0.002 * index) + hot_pixels(instrument)
        if instrument == "CAGIRE" and index == troubles.bad_dark:
            rate = rate + 3.0  # a light leak
        jump = 4.0 if instrument == "DDRAGO1" and index == troubles.bad_bias else 0.0
        paths += camera.write("bias", bias + jump, morning, 0.0)
        paths += camera.write(
            "dark",
            lambda k, bias=bias, rate=rate: bias + rng.poisson(rate * DARK_EXPTIME_S),
            morning + timedelta(minutes=30),
            DARK_EXPTIME_S,
        )
        for f, filter_ in enumerate(filters):
            response = flat_response(instrument, filter_, drift=0.0005 * index)
            if instrument == "DDRAGO2" and filter_ == "r" and index == troubles.bad_flat:
                response = response * (1.0 + 0.12 * np.linspace(-0.5, 0.5, SHAPE[1]))[None, :]

            def light(k, response=response, filter_=filter_, bias=bias, rate=rate):
                level = _FLAT_LEVEL[filter_] * (1.0 - 0.1 * k)  # the twilight fading
                return bias + rng.poisson(level * response + rate * FLAT_EXPTIME_S)

            paths += camera.write(
                "flat", light, dusk + timedelta(minutes=10 * f), FLAT_EXPTIME_S, filter_
            )
    return paths


def build_calibration_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """Calibration nights (:func:`demo_nights` of ``days``) ending last night, each run
    through ``run_night``: masters built, validated, promoted or rejected, into the cache."""
    config = stores.workspace.config.calibration
    nights = demo_nights(days)
    troubles = DemoTroubles.for_nights(nights)
    last = demo_last_night(stores)
    first = last - timedelta(days=nights - 1)
    raw = stores.workspace.path(config.raw_dir)
    counts = {"frames": 0, "promoted": 0, "rejected": 0}
    for index in range(nights):
        night = first + timedelta(days=index)
        if progress:
            progress("calibration nights", index, nights)
        folder = raw / config.night_folder.format(night=f"{night:%Y%m%d}")
        counts["frames"] += len(write_night(folder, night, index, troubles))
        for outcome in run_night(stores.calibration, night, folder, config=config):
            if outcome.action in counts:
                counts[outcome.action] += 1
    if progress:
        progress("calibration nights", nights, nights)
    return (
        f"calibration: {nights} nights ({first:%Y-%m-%d} to {last:%Y-%m-%d}), "
        f"{counts['frames']} raw frames, {counts['promoted']} masters promoted, "
        f"{counts['rejected']} rejected"
    )

"""A generated burst with a known decay index, for the demo and the tests (injection–recovery).

The afterglow fades as F ∝ (t - T0)^-α in every filter (colour offsets between filters);
each image's limiting magnitude (5σ) deepens with its exposure time; a source fainter
than the limit is a non-detection, and a detection's error follows from its
signal-to-noise ratio.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.time import Time

from analysis.colibri import burst_camera
from analysis.products.photometry import Burst, Photometry

#: Colour of the afterglow in each filter, mag relative to r.
COLOUR_OFFSETS = {"g": 0.3, "r": 0.0, "i": -0.2, "z": -0.35, "J": -0.6, "H": -0.8}

#: Scatter of the measured positions about the true one, degrees (each detection's pos_err).
POSITION_SCATTER_DEG = 1e-5


def synthetic_photometry(
    burst: Burst,
    *,
    alpha: float = 1.2,
    mag_at_100s: float = 16.0,
    filters: tuple[str, ...] = ("g", "r", "i", "J"),
    n_images: int = 12,
    first_s: float = 40.0,
    limit_30s: float = 19.5,
    seed: int = 1,
) -> Photometry:
    """Photometry of a burst whose afterglow decays with index ``alpha``.

    Parameters
    ----------
    burst : Burst
        T0 and position (the counterpart lies 1 arcsec from the alert position).
    alpha : float, optional
        Decay index of F ∝ (t - T0)^-α.
    mag_at_100s : float, optional
        r-band AB magnitude 100 s after T0.
    filters : tuple of str, optional
        Filters of :data:`analysis.colibri.FILTERS`, observed in turn, each by the camera
        that observes it in a burst's sequence.
    n_images : int, optional
        Images per filter; exposures lengthen geometrically from 30 s.
    first_s : float, optional
        Start of the first image after T0, s.
    limit_30s : float, optional
        5σ limiting AB magnitude of a 30 s image.
    seed : int, optional

    Returns
    -------
    Photometry
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {
        k: []
        for k in (
            "image_id",
            "filter",
            "start",
            "exptime",
            "mag",
            "mag_err",
            "limit",
            "detected",
            "instrument",
        )
    }
    start = first_s
    for index in range(n_images):
        exptime = 30.0 * 1.6**index
        for name in filters:
            camera, colour = burst_camera(name), COLOUR_OFFSETS[name]
            mid = start + exptime / 2
            true_mag = mag_at_100s + colour + 2.5 * alpha * np.log10(mid / 100.0)
            limit = limit_30s + 1.25 * np.log10(exptime / 30.0) + rng.normal(0, 0.05)
            snr = 5.0 * 10 ** (0.4 * (limit - true_mag))
            seen = snr >= 5.0
            error = 1.0857 / snr if seen else 0.0
            rows["image_id"].append(f"S_{name}_{index + 1:04d}_{burst.burst_id}")
            rows["filter"].append(name)
            rows["start"].append(start)
            rows["exptime"].append(exptime)
            rows["mag"].append(true_mag + rng.normal(0, error) if seen else 0.0)
            rows["mag_err"].append(max(error, 0.01) if seen else 0.0)
            rows["limit"].append(limit)
            rows["detected"].append(int(seen))
            rows["instrument"].append(camera)
        start += exptime + 20.0
    n = len(rows["filter"])
    detected = np.asarray(rows["detected"], dtype=np.int16)
    offset_deg = 1.0 / 3600.0
    t_start = burst.t0 + np.asarray(rows["start"]) * u.s
    return Photometry(
        image_id=np.asarray(rows["image_id"]),
        filter=np.asarray(rows["filter"]),
        t_start=Time(t_start.isot, format="isot", scale="utc"),
        t_end=Time((t_start + np.asarray(rows["exptime"]) * u.s).isot, format="isot", scale="utc"),
        exptime=np.asarray(rows["exptime"]),
        mag=np.asarray(rows["mag"]),
        mag_err=np.asarray(rows["mag_err"]),
        limit_mag=np.asarray(rows["limit"]),
        detected=detected,
        ra=np.where(
            detected == 1,
            (burst.ra_deg + offset_deg + rng.normal(0, POSITION_SCATTER_DEG, n)) % 360,
            0.0,
        ),
        dec=np.where(detected == 1, burst.dec_deg + rng.normal(0, POSITION_SCATTER_DEG, n), 0.0),
        instrument=np.asarray(rows["instrument"]),
        obs_id=np.asarray([f"{burst.burst_id}_01"] * n),
        pos_err=np.where(detected == 1, POSITION_SCATTER_DEG * 3600.0, np.nan),
    )

"""A generated GRB afterglow observation with a known answer: the tests' and the demo's burst.

A star field seen through a TAN WCS, with a point source fading as a power law
``F ∝ (t - T0)^-index`` (magnitude ``mag_at_t1`` at ``t1`` seconds after the trigger),
observed at epochs spaced logarithmically after T0 in two filters at once (COLIBRI's
two DDRAGO channels), with seeing, sky and pointing varying from exposure to exposure.
Raw frames carry bias, dark, flat, read and photon noise and a few cosmic rays, and
headers like the cameras' (INSTRUME, FILTER, EXPTIME, DATE-OBS, MJD-OBS, TRGID,
EXPTYPE, OBSERVER, a WCS). A deep reference image per filter (no transient) and the
reference catalogue of the field come with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS
from scipy.special import erf

from analysis.colibri import burst_camera

#: Magnitude (AB) giving 1 e-/s per filter on the simulated camera.
ZP_PER_SECOND = {"g": 24.6, "r": 24.5, "i": 24.2, "z": 23.6}


@dataclass(frozen=True)
class RawFrame:
    """One simulated raw exposure: ``data`` (uint16 ADU) and its ``header``."""

    name: str
    data: np.ndarray
    header: fits.Header


@dataclass(frozen=True)
class SimulatedBurst:
    """A generated burst observation and the truth behind it.

    Attributes
    ----------
    frames : list of RawFrame
        Raw science exposures, time-ordered.
    bias : ndarray
        Master bias, ADU.
    dark : ndarray
        Master dark, ADU/s.
    flats : dict
        Master flat per filter (median 1).
    references : dict
        Per filter, (data in electrons with sky, header): a deep image without the transient.
    catalogue : astropy.table.Table
        ``ra``, ``dec`` (deg) and one AB magnitude column per filter.
    truth : astropy.table.Table
        Per frame: ``image_id``, ``filter``, ``t_start``, ``t_end`` (ISO UTC), ``t_mid_s``
        (mid-exposure after T0, s), ``mag`` (the transient's true mean AB magnitude),
        ``fwhm`` (pixels), ``sky`` (e-/s/pixel).
    t0 : str
        Trigger time, ISO UTC.
    ra, dec : float
        Transient position, degrees.
    index : float
        True decay index.
    gain : float
        e-/ADU.
    saturation : float
        ADU.
    trigger_id : str
    """

    frames: list
    bias: np.ndarray
    dark: np.ndarray
    flats: dict
    references: dict
    catalogue: Table
    truth: Table
    t0: str
    ra: float
    dec: float
    index: float
    gain: float
    saturation: float
    trigger_id: str
    pixel_scale: float = field(default=0.000195)


def field_wcs(
    size: int, ra: float, dec: float, pixel_scale: float, dx: float = 0.0, dy: float = 0.0
) -> WCS:
    """A TAN WCS of a ``size``² frame centred on (ra, dec), shifted by (dx, dy) pixels.

    ``pixel_scale`` in degrees per pixel (the notes' ``ps``); north up, east left.
    """
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [(size + 1) / 2.0 - dx, (size + 1) / 2.0 - dy]
    wcs.wcs.cd = [[-pixel_scale, 0.0], [0.0, pixel_scale]]
    return wcs


def render_stars(
    shape: tuple[int, int], x: np.ndarray, y: np.ndarray, flux: np.ndarray, fwhm: float
) -> np.ndarray:
    """Gaussian point sources integrated over pixels (electrons), 0-based centres."""
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    image = np.zeros(shape, np.float64)
    half = int(np.ceil(5 * sigma)) + 1
    ny, nx = shape
    scale = np.sqrt(2.0) * sigma
    for cx, cy, f in zip(x, y, flux, strict=True):
        x0, x1 = max(int(cx) - half, 0), min(int(cx) + half + 1, nx)
        y0, y1 = max(int(cy) - half, 0), min(int(cy) + half + 1, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        ex = np.arange(x0, x1 + 1) - 0.5 - cx
        ey = np.arange(y0, y1 + 1) - 0.5 - cy
        px = np.diff(0.5 * erf(ex / scale))
        py = np.diff(0.5 * erf(ey / scale))
        image[y0:y1, x0:x1] += f * np.outer(py, px)
    return image


def _star_field(rng, size: int, n_stars: int, filters) -> tuple[np.ndarray, np.ndarray, dict]:
    margin = 20
    x = rng.uniform(-margin, size + margin, n_stars)
    y = rng.uniform(-margin, size + margin, n_stars)
    g = 13.0 + 7.0 * rng.power(2.5, n_stars)  # more faint stars than bright ones
    colours = rng.uniform(0.0, 1.0, n_stars)
    offsets = {"g": 0.0, "r": -0.4, "i": -0.7, "z": -0.85}
    mags = {f: g + offsets.get(f, -0.5) * colours for f in filters}
    return x, y, mags


def _transient_position(
    rng, size: int, x: np.ndarray, y: np.ndarray, bright: np.ndarray
) -> tuple[float, float]:
    for _ in range(1000):
        tx, ty = rng.uniform(0.3 * size, 0.7 * size, 2)
        if np.all(np.hypot(x[bright] - tx, y[bright] - ty) > 20) and np.all(
            np.hypot(x - tx, y - ty) > 8
        ):
            return float(tx), float(ty)
    raise ValueError("no empty place for the transient: lower n_stars")


def _calibration(rng, size: int, filters) -> tuple[np.ndarray, np.ndarray, dict]:
    columns = 3.0 * np.sin(np.arange(size) / 37.0)
    bias = (1000.0 + columns[None, :] + rng.normal(0, 1.0, (size, size))).astype(np.float32)
    dark = np.full((size, size), 0.02, np.float32)
    hot = rng.integers(0, size, (2, size // 16))
    dark[hot[0], hot[1]] = 3.0
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    flats = {}
    for k, f in enumerate(filters):
        vignetting = 1.0 - 0.15 * (xx**2 + yy**2) * (1 + 0.2 * k)
        flat = vignetting * rng.normal(1.0, 0.01, (size, size))
        flats[f] = (flat / np.median(flat)).astype(np.float32)
    return bias, dark, flats


def transient_mean_mag(
    mag_at_t1: float, t1: float, index: float, t_start: float, t_end: float
) -> float:
    """The true mean AB magnitude over an exposure from ``t_start`` to ``t_end`` s after T0."""
    if abs(index - 1.0) < 1e-9:
        mean = t1 * np.log(t_end / t_start) / (t_end - t_start)
    else:
        mean = (
            t1**index
            * (t_start ** (1 - index) - t_end ** (1 - index))
            / ((index - 1) * (t_end - t_start))
        )
    return float(mag_at_t1 - 2.5 * np.log10(mean))


def simulate_burst(
    *,
    seed: int = 1,
    size: int = 512,
    filters: tuple[str, ...] = ("g", "i"),
    n_epochs: int = 6,
    index: float = 1.2,
    mag_at_t1: float = 15.8,
    t1: float = 300.0,
    colour: float = 0.3,
    first_s: float = 180.0,
    last_s: float = 3600.0,
    exptime: float = 60.0,
    n_stars: int = 150,
    t0: str = "2026-03-14T03:12:05.000",
    ra: float = 150.0,
    dec: float = 20.0,
    pixel_scale: float = 0.000195,
    gain: float = 1.6,
    readnoise: float = 5.0,
    saturation: float = 65535.0,
    trigger_id: str = "sb26031401",
) -> SimulatedBurst:
    """Generate a burst observation (see the module docstring).

    Parameters
    ----------
    seed : int
        Seed of the random generator: one seed, one burst, bit for bit.
    size : int
        Frames are ``size`` × ``size`` pixels.
    filters : tuple of str
        Filters observed at each epoch (simultaneously).
    n_epochs : int
        Exposures per filter, starting at times spaced logarithmically from
        ``first_s`` to ``last_s`` seconds after T0.
    index : float
        Decay index α of ``F ∝ (t - T0)^-α``.
    mag_at_t1, t1 : float
        Normalisation: the transient's AB magnitude in the first filter at ``t1`` s after T0;
        the other filters are ``colour`` mag brighter each.
    exptime : float
        Exposure time, s.
    n_stars : int
        Stars in the field (and in the catalogue).
    t0 : str
        Trigger time, ISO UTC.
    ra, dec : float
        Centre of the field, degrees; the transient lies near it.
    pixel_scale : float
        Degrees per pixel.
    gain, readnoise, saturation : float
        e-/ADU, e-, ADU.
    trigger_id : str
        TRGID of the headers (the SVOM burst ID).

    Returns
    -------
    SimulatedBurst
    """
    rng = np.random.default_rng(seed)
    shape = (size, size)
    x, y, star_mags = _star_field(rng, size, n_stars, filters)
    tx, ty = _transient_position(rng, size, x, y, star_mags[filters[0]] < 18)
    reference_wcs = field_wcs(size, ra, dec, pixel_scale)
    t_ra, t_dec = (float(v) for v in reference_wcs.pixel_to_world_values(tx, ty))
    bias, dark, flats = _calibration(rng, size, filters)
    star_ra, star_dec = reference_wcs.pixel_to_world_values(x, y)
    catalogue = Table(
        {
            "ra": np.asarray(star_ra) % 360,
            "dec": np.asarray(star_dec),
            **{f: np.round(star_mags[f], 3) for f in filters},
        }
    )
    references = {
        f: _reference(rng, shape, x, y, star_mags[f], f, reference_wcs, readnoise, trigger_id)
        for f in filters
    }
    trigger = Time(t0, format="isot", scale="utc")
    starts = np.geomspace(first_s, last_s, n_epochs)
    frames, truth = [], []
    for epoch, start_s in enumerate(starts):
        dx, dy = rng.uniform(-6, 6, 2)
        for k, f in enumerate(filters):
            fwhm = float(rng.uniform(2.4, 4.2))
            sky = float(rng.uniform(40.0, 160.0))
            true_mag = transient_mean_mag(
                mag_at_t1 - k * colour, t1, index, start_s, start_s + exptime
            )
            name = f"{trigger_id}_{burst_camera(f)}_{f}_{epoch + 1:03d}"
            electrons = _exposure(
                rng,
                shape,
                x - dx,
                y - dy,
                star_mags[f],
                (tx - dx, ty - dy),
                true_mag,
                f,
                fwhm,
                sky,
                exptime,
            )
            raw = _raw(rng, electrons, bias, dark, flats[f], exptime, gain, readnoise, saturation)
            start = trigger + start_s * u.s
            header = _header(
                name,
                f,
                start,
                exptime,
                gain,
                saturation,
                trigger_id,
                field_wcs(size, ra, dec, pixel_scale, dx, dy),
            )
            frames.append(RawFrame(name, raw, header))
            truth.append(
                {
                    "image_id": name,
                    "filter": f,
                    "t_start": start.isot,
                    "t_end": (start + exptime * u.s).isot,
                    "t_mid_s": start_s + exptime / 2,
                    "mag": true_mag,
                    "fwhm": fwhm,
                    "sky": sky,
                }
            )
    return SimulatedBurst(
        frames=frames,
        bias=bias,
        dark=dark,
        flats=flats,
        references=references,
        catalogue=catalogue,
        truth=Table(rows=truth),
        t0=trigger.isot,
        ra=t_ra,
        dec=t_dec,
        index=index,
        gain=gain,
        saturation=saturation,
        trigger_id=trigger_id,
        pixel_scale=pixel_scale,
    )


def _star_electrons(mags: np.ndarray, filter_name: str, exptime: float) -> np.ndarray:
    return exptime * 10 ** (0.4 * (ZP_PER_SECOND.get(filter_name, 24.0) - np.asarray(mags)))


def _exposure(
    rng, shape, x, y, mags, transient_xy, transient_mag, f, fwhm, sky, exptime
) -> np.ndarray:
    xs = np.append(x, transient_xy[0])
    ys = np.append(y, transient_xy[1])
    flux = _star_electrons(np.append(mags, transient_mag), f, exptime)
    image = render_stars(shape, xs, ys, flux, fwhm) + sky * exptime
    image = rng.poisson(image).astype(np.float64)
    for _ in range(8):  # cosmic rays: short tracks of a few pixels
        cy, cx = rng.integers(2, shape[0] - 3), rng.integers(2, shape[1] - 3)
        image[cy, cx : cx + rng.integers(1, 3)] += rng.uniform(3000, 8000)
    return image


def _raw(rng, electrons, bias, dark, flat, exptime, gain, readnoise, saturation) -> np.ndarray:
    adu = (
        electrons * flat / gain
        + bias
        + dark * exptime
        + rng.normal(0, readnoise / gain, electrons.shape)
    )
    return np.clip(np.round(adu), 0, saturation).astype(np.uint16)


def _header(name, f, start: Time, exptime, gain, saturation, trigger_id, wcs: WCS) -> fits.Header:
    header = fits.Header()
    header["TELESCOP"] = "COLIBRI"
    header["INSTRUME"] = burst_camera(f)
    header["FILTER"] = f
    header["IMAGETYP"] = "LIGHT"
    header["EXPTYPE"] = "object"
    header["OBSERVER"] = "svom"
    header["OBJECT"] = trigger_id
    header["TRGID"] = (trigger_id, "SVOM burst identifier")
    header["EXPTIME"] = (float(exptime), "s")
    header["DATE-OBS"] = (start.isot, "start of the exposure, UTC")
    header["MJD-OBS"] = (start.mjd, "start of the exposure, MJD UTC")
    header["GAIN"] = (gain, "e-/ADU")
    header["SATURATE"] = (saturation, "ADU")
    header["IMAGEID"] = name
    header.update(wcs.to_header())
    for key in ("MJDREF", "DATEREF"):
        header.remove(key, ignore_missing=True)
    return header


def _reference(
    rng, shape, x, y, mags, f, wcs: WCS, readnoise, trigger_id
) -> tuple[np.ndarray, fits.Header]:
    exptime, sky = 900.0, 60.0
    image = render_stars(shape, x, y, _star_electrons(mags, f, exptime), 2.2) + sky * exptime
    image = rng.normal(image, np.sqrt(image + readnoise**2 * 4))  # a stack of four frames
    header = fits.Header()
    header.update(wcs.to_header())
    for key in ("MJDREF", "DATEREF"):
        header.remove(key, ignore_missing=True)
    header.update(
        {
            "TELESCOP": "COLIBRI",
            "INSTRUME": burst_camera(f),
            "FILTER": f,
            "IMAGETYP": "REFERENCE",
            "EXPTIME": exptime,
            "BUNIT": "electron",
            "GAIN": 1.0,
            "OBJECT": trigger_id,
            "DATE-OBS": "2026-01-01T03:00:00.000",
        }
    )
    return image.astype(np.float32), header

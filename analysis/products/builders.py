"""The seven GFT products of a burst, built from its photometry table and its alert.

=====  ==================  ===========================================================
key    card                holds
=====  ==================  ===========================================================
DT     DT_GFT_FGFT         detection time: one row per filter, the first detection
QF     QF_GFT_FGFT         quick first measurement per filter within the quick window
PO     PO_GFT_FGFT         the counterpart's position (RA/Dec, galactic l/b, FOM)
LC     LC_GFT_FGFT         the light curve: every observation
QLC    QLC_GFT_FGFT        the quick light curve: the first 300 s, upper limits after
QTI    QTI_GFT_FGFT        the temporal index per filter (power-law fit of the light curve)
META   META_GFT_FGFT       one row per observation: instrument, target, obs ID, image
=====  ==================  ===========================================================

Rules of the design notes followed here: every product has the same primary header
(only CARD differs); IMAGEID is 50 characters; nothing is NaN (a value that does not
exist is '' or 0); DETECTED is the integer 1 or 0; a non-detection's MAG is the
image's limiting magnitude with MAGERR 0 in the light curves; DELTAT = Tstart - T0;
MY_VERS, the reprocessing version, is in the file name (:func:`product_file_name`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time

from analysis.afterglow import SMOOTHNESS, DecayFit, fit_decay
from analysis.colibri import product_filter
from analysis.products.descriptor import ProductDescriptor
from analysis.products.layout import make_product
from analysis.products.photometry import Burst, Photometry
from analysis.products.position import counterpart_position
from analysis.products.settings import BuildSettings

PRODUCT_CARDS = {
    "DT": "DT_GFT_FGFT",
    "QF": "QF_GFT_FGFT",
    "PO": "PO_GFT_FGFT",
    "LC": "LC_GFT_FGFT",
    "QLC": "QLC_GFT_FGFT",
    "QTI": "QTI_GFT_FGFT",
    "META": "META_GFT_FGFT",
}
MJDREF = 57754.0
"""SVOM's reference MJD (2017-01-01T00:00:00 UTC): MJDREFI + MJDREFF."""


def product_file_name(card: str, burst_id: str, my_vers: int) -> str:
    """The file name of a product version: ``DT_GFT_FGFT_sb26030512_v01.fits``."""
    return f"{card}_{burst_id}_v{my_vers:02d}.fits"


def _iso(moment: Time) -> str:
    return moment.utc.isot[:23]


def _sorted(photometry: Photometry) -> Photometry:
    """The rows in time order, each filter named by its product code (:func:`product_filter`)."""
    ordered = photometry.take(np.argsort(photometry.t_start.mjd, kind="stable"))
    codes = np.asarray([product_filter(name) for name in ordered.filter.tolist()], dtype=str)
    return dataclasses.replace(ordered, filter=codes)


def _filter_fits(
    photometry: Photometry, burst: Burst, window_s: tuple[float, float] | None, *, broken: bool
) -> dict[str, DecayFit]:
    """Per filter (product codes, in order of appearance), the decay fit of its detections."""
    t = photometry.since_t0(burst.t0)
    fits = {}
    for name in photometry.filters():
        use = (photometry.filter == name) & (photometry.detected == 1)
        fits[name] = fit_decay(
            t[use], photometry.mag[use], photometry.mag_err[use], window_s=window_s, broken=broken
        )
    return fits


def afterglow_fits(
    photometry: Photometry, burst: Burst, *, window_s: tuple[float, float] | None = None
) -> dict[str, Any]:
    """The decay fits of a burst's photometry, as JSON: per filter the single power law (the
    QTI's), the smoothly broken one and the model the BIC prefers.

    Parameters
    ----------
    photometry : Photometry
    burst : Burst
    window_s : (float, float), optional
        The fit window, s after T0 (mid-exposure); the whole curve when None.

    Returns
    -------
    dict
        ``burst_id``, ``window_s`` (``[start, end]``, end None for no end; None for the
        whole curve), ``method`` (how errors and the model choice are made) and ``filters``
        (filter → :meth:`DecayFit.to_dict`, with ``model`` "single" or "broken").
    """
    fits = _filter_fits(_sorted(photometry), burst, window_s, broken=True)
    window = None if window_s is None else [window_s[0], _finite_or_none(window_s[1])]
    return {
        "burst_id": burst.burst_id,
        "window_s": window,
        "method": (
            "weighted least squares on AB magnitudes at mid-exposure; errors scaled by "
            "sqrt(chi2/dof) when chi2/dof > 1; smoothly broken power law (Beuermann form, "
            f"smoothness {SMOOTHNESS:g} fixed) preferred when its BIC = chi2 + k ln n is lower"
        ),
        "filters": {name: fit.to_dict() for name, fit in fits.items()},
    }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def primary_values(photometry: Photometry, burst: Burst, settings: BuildSettings) -> dict[str, Any]:
    """The primary header every product of this burst shares (CARD is set per product)."""
    seen = photometry.detected == 1
    first = (
        photometry.t_start[seen][np.argmin(photometry.t_start.mjd[seen])] if seen.any() else None
    )
    created = settings.created or Time.now()
    obs_ids = [o for o in photometry.obs_id.tolist() if o]
    return {
        "ORIGIN": settings.origin,
        "TELESCOP": settings.telescope,
        "INSTRUME": "FGFT",
        "CREATOR": settings.creator,
        "PROGRAM": settings.program,
        "DSTREAM": "GFT",
        "PRDM_VER": settings.prdm_ver,
        "PROC_VER": settings.proc_ver,
        "PIP_VER": settings.pip_ver,
        "MY_VERS": int(settings.my_vers),
        "DATE": created.utc.isot[:19],
        "TIMESYS": "UTC",
        "MJDREFI": int(MJDREF),
        "MJDREFF": MJDREF - int(MJDREF),
        "TIMEUNIT": "s",
        "BURST_ID": burst.burst_id,
        "GFT_TGID": burst.burst_id,
        "GFT_OBID": obs_ids[0] if obs_ids else "",
        "TRIG_MJD": float(burst.t0.utc.mjd),
        "TRIGTIME": _iso(burst.t0),
        "RA_TRIG": float(burst.ra_deg),
        "DEC_TRIG": float(burst.dec_deg),
        "ERR_TRIG": float(burst.error_deg),
        "DATE-OBS": _iso(first)[:10] if first is not None else "",
        "TIME-OBS": _iso(first)[11:] if first is not None else "",
        "CANDNUMB": int(seen.any()),
        "UPLIMIT": float(photometry.limit_mag.max()),
        "FCHART": settings.fchart,
        "STARTUTC": _iso(photometry.t_start[int(np.argmin(photometry.t_start.mjd))]),
        "ENDUTC": _iso(photometry.t_end[int(np.argmax(photometry.t_end.mjd))]),
    }


def _detection_rows(
    photometry: Photometry, burst: Burst, filters: list[str], window_s: float | None
) -> dict[str, list]:
    """DT and QF: per filter, the first detection (within the window), or its absence."""
    rows: dict[str, list] = {
        k: []
        for k in (
            "FILTER",
            "IMAGEID",
            "DETECTED",
            "DT",
            "DT_MJD",
            "DELTAT",
            "EXPTIME",
            "MAG",
            "MAGERR",
            "LIMMAG",
            "SNR",
        )
    }
    start = photometry.start_since_t0(burst.t0)
    for name in filters:
        in_filter = photometry.filter == name
        if window_s is not None:
            in_filter &= start <= window_s
        hits = np.flatnonzero(in_filter & (photometry.detected == 1))
        if hits.size:
            i = int(hits[np.argmin(photometry.t_start.mjd[hits])])
            values = [
                name,
                photometry.image_id[i],
                1,
                _iso(photometry.t_start[i]),
                float(photometry.t_start.mjd[i]),
                float(start[i]),
                float(photometry.exptime[i]),
                float(photometry.mag[i]),
                float(photometry.mag_err[i]),
                float(photometry.limit_mag[i]),
                _snr(photometry.mag_err[i]),
            ]
        else:
            images = np.flatnonzero(in_filter)
            deepest = int(images[np.argmax(photometry.limit_mag[images])]) if images.size else -1
            limit = float(photometry.limit_mag[deepest]) if deepest >= 0 else 0.0
            image = photometry.image_id[deepest] if deepest >= 0 else ""
            values = [name, image, 0, "", 0.0, 0.0, 0.0, 0.0, 0.0, limit, 0.0]
        for key, value in zip(rows, values, strict=True):
            rows[key].append(value)
    return rows


def _snr(mag_err: float) -> float:
    """Signal-to-noise ratio of a detection from its magnitude error (1.0857 / σ_mag)."""
    return float(2.5 / np.log(10) / mag_err) if mag_err > 0 else 0.0


def _light_curve(
    photometry: Photometry, burst: Burst, *, limits_after_s: float | None = None
) -> dict:
    """LC (and QLC): one row per observation; a non-detection's MAG is its limiting magnitude."""
    start = photometry.start_since_t0(burst.t0)
    detected = photometry.detected.astype(np.int16)
    if limits_after_s is not None:
        detected = np.where(start > limits_after_s, 0, detected).astype(np.int16)
    seen = detected == 1
    return {
        "FILTER": photometry.filter.tolist(),
        "IMAGEID": photometry.image_id.tolist(),
        "STARTMJD": photometry.t_start.mjd,
        "ENDMJD": photometry.t_end.mjd,
        "DELTAT": start,
        "EXPTIME": photometry.exptime,
        "MAG": np.where(seen, photometry.mag, photometry.limit_mag),
        "MAGERR": np.where(seen, photometry.mag_err, 0.0),
        "LIMMAG": photometry.limit_mag,
        "DETECTED": detected,
    }


def _position(photometry: Photometry, burst: Burst) -> dict:
    """PO: the counterpart's mean position over its detections and its error
    (:func:`counterpart_position`); none: no row."""
    seen = photometry.detected == 1
    if not seen.any():
        return {}
    position = counterpart_position(
        photometry.ra[seen], photometry.dec[seen], photometry.pos_err[seen], name=burst.burst_id
    )
    first = int(np.flatnonzero(seen)[np.argmin(photometry.t_start.mjd[seen])])
    galactic = SkyCoord(position.ra_deg * u.deg, position.dec_deg * u.deg).galactic
    n = position.n_detections
    return {
        "IMAGEID": [photometry.image_id[first]],
        "FILTER": [photometry.filter[first]],
        "RA": [position.ra_deg],
        "DEC": [position.dec_deg],
        "POSERR": [position.error_arcsec],
        "GLON": [float(galactic.l.deg)],
        "GLAT": [float(galactic.b.deg)],
        "FOM": [1],
        "NDETECT": [n],
    }


def _temporal_index(
    photometry: Photometry, burst: Burst, window_s: tuple[float, float] | None
) -> dict:
    """QTI: per filter, the single power-law fit of the detections in the window (see
    :func:`fit_decay`)."""
    columns = ("FILTER", "NFIT", "TFITSTART", "TFITSTOP", "FITNORM", "FITINDEX", "ERFITINDEX")
    rows: dict[str, list] = {k: [] for k in (*columns, "FITCHI2", "FITCHI2R", "FITVALID")}
    for name, fit in _filter_fits(photometry, burst, window_s, broken=False).items():
        values = [name, fit.n_points, fit.t_first, fit.t_last, fit.norm_ujy, fit.index]
        values += [fit.index_err, fit.chi2, fit.chi2_reduced, int(fit.valid)]
        if not fit.valid:  # the notes: one number missing, the last columns null
            values[4:] = [0.0, 0.0, 0.0, 0.0, 0.0, 0]
        for key, value in zip(rows, values, strict=True):
            rows[key].append(value)
    return rows


def _meta(photometry: Photometry, burst: Burst) -> dict:
    return {
        "INSTRUME": photometry.instrument.tolist(),
        "GFT_TGID": [burst.burst_id] * len(photometry),
        "GFT_OBID": photometry.obs_id.tolist(),
        "IMAGEID": photometry.image_id.tolist(),
        "FILTER": photometry.filter.tolist(),
        "TSTART": [_iso(t) for t in photometry.t_start],
        "TEND": [_iso(t) for t in photometry.t_end],
        "EXPTIME": photometry.exptime,
        "RA": photometry.ra,
        "DEC": photometry.dec,
        "LIMMAG": photometry.limit_mag,
        "DETECTED": photometry.detected.astype(np.int16),
    }


def product_tables(
    photometry: Photometry, burst: Burst, settings: BuildSettings
) -> dict[str, dict]:
    """The table of each product (by key DT, QF...), as columns by name."""
    photometry = _sorted(photometry)
    filters = photometry.filters()
    quick = settings.quick_window_s
    dt = _detection_rows(photometry, burst, filters, None)
    for key in ("EXPTIME", "LIMMAG", "SNR"):
        dt.pop(key)
    return {
        "DT": dt,
        "QF": _detection_rows(photometry, burst, filters, quick),
        "PO": _position(photometry, burst),
        "LC": _light_curve(photometry, burst),
        "QLC": _light_curve(photometry, burst, limits_after_s=quick),
        "QTI": _temporal_index(photometry, burst, settings.fit_window_s),
        "META": _meta(photometry, burst),
    }


def build_products(
    photometry: Photometry,
    burst: Burst,
    descriptors: Mapping[str, ProductDescriptor],
    settings: BuildSettings | None = None,
) -> dict[str, fits.HDUList]:
    """Build the seven GFT products of a burst.

    Parameters
    ----------
    photometry : Photometry
        The burst's measurements (see :mod:`analysis.products.photometry`).
    burst : Burst
        Its burst ID, T0 and position.
    descriptors : mapping
        Descriptor of each card (``DT_GFT_FGFT``...); the products follow them exactly.
    settings : BuildSettings, optional

    Returns
    -------
    dict
        ``{card: HDUList}`` for the seven cards of :data:`PRODUCT_CARDS`.

    Raises
    ------
    KeyError
        If a card has no descriptor.
    ValueError
        If a value does not fit its column (names the card, the extension and the column).
    """
    settings = settings or BuildSettings()
    header = primary_values(photometry, burst, settings)
    tables = product_tables(photometry, burst, settings)
    products = {}
    for key, card in PRODUCT_CARDS.items():
        descriptor = descriptors[card]
        table_name = descriptor.tables[0].name
        try:
            products[card] = make_product(
                descriptor, {**header, "CARD": card}, {table_name: tables[key]}
            )
        except ValueError as exc:
            raise ValueError(f"{card} of burst {burst.burst_id}: {exc}") from exc
    return products

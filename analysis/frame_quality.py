"""The image quality of one science frame: zero point, seeing, shape, sky, depth and airmass.

What a scientist judges a night by, frame after frame (LCO's BANZAI records the same for
every frame): the zero point (AB mag giving 1 e-/s in the photometry aperture, so that
frames of different exposure times compare), the PSF FWHM (pixels and arcsec), the PSF
ellipticity ``1 - b/a``, the sky level (ADU per pixel of the raw frame, and mag/arcsec²
where the zero point is known), the 5σ limiting magnitude of the frame and the airmass.

The figures come from what GP2's reduction, source finding and photometry measure
(:mod:`analysis.gp2`): they leave them in the frame's header (``FWHM``, ``SKYLEVEL``,
``SKYRMS``, ``ZP``, ``ZPERR``, ``ZPSTARS``, ``LIMMAG``, ``GAINRAW``), as GP1's first step
does for the frames it reduces, so that :func:`quality_from_header` reads either. Use::

    quality = quality_from_header(result.header, result.sources, image_id=..., ...)
    quality.to_dict()
    QualityLimits(fwhm_max_arcsec=3.0).outside(quality.to_dict())   # ['FWHM 3.4" > 3"']
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs.utils import proj_plane_pixel_scales

from analysis.gp2.alignment import celestial_wcs
from analysis.gp2.findstars import MAX_FWHM_STARS, MAX_PEAK_FRACTION, PSF_TOLERANCE
from analysis.observability import Site, airmass, altitudes

#: Where a frame's figures come from: GP1's outputs (from the CDB), a GP2 run of the
#: workbench, or the demo's generated nights.
SOURCES = ("gp1", "gp2", "demo")

#: Header keywords of the airmass, the first found used (SECZ: sec z, as some cameras write).
AIRMASS_KEYS = ("AIRMASS", "SECZ")

#: The figures of a record, in the order tables and JSON give them.
FIGURES = (
    "zp",
    "zp_err",
    "fwhm_px",
    "fwhm_arcsec",
    "ellipticity",
    "sky_adu",
    "sky_mag_arcsec2",
    "limit_mag",
    "airmass",
)


@dataclass(frozen=True)
class FrameQuality:
    """The quality figures of one science frame (NaN where a figure is unknown).

    Attributes
    ----------
    image_id : str
        The frame's name (its file name without extension).
    instrument, filter : str
        INSTRUME and FILTER of the frame.
    t_mid : str
        Middle of the exposure, ISO UTC.
    exptime : float
        Exposure time, s.
    zp, zp_err : float
        Zero point, AB mag giving 1 e-/s in the photometry aperture, and its standard error.
    zp_stars : int
        Catalogue stars the zero point was measured on.
    fwhm_px, fwhm_arcsec : float
        PSF FWHM, pixels and arcsec.
    ellipticity : float
        Median ``1 - b/a`` of the stars the FWHM follows.
    sky_adu : float
        Sky level per pixel of the raw frame, ADU.
    sky_mag_arcsec2 : float
        Sky brightness, AB mag/arcsec².
    limit_mag : float
        5σ limiting magnitude of the frame (its ``nsigma``), AB.
    airmass : float
        At the middle of the exposure.
    source : str
        One of :data:`SOURCES`.
    """

    image_id: str
    instrument: str
    filter: str
    t_mid: str
    exptime: float
    zp: float
    zp_err: float
    zp_stars: int
    fwhm_px: float
    fwhm_arcsec: float
    ellipticity: float
    sky_adu: float
    sky_mag_arcsec2: float
    limit_mag: float
    airmass: float
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            msg = f"{self.image_id}: quality source {self.source!r} is not one of {SOURCES}"
            raise ValueError(msg)

    def to_dict(self) -> dict:
        """The record as a dict (NaN kept; the stores and JSON writers turn it into null)."""
        return asdict(self)


@dataclass(frozen=True)
class QualityLimits:
    """The limits a frame's figures must keep (``[quality]`` of gic.toml); 0 turns one off.

    Attributes
    ----------
    fwhm_max_arcsec : float
        Largest PSF FWHM, arcsec.
    ellipticity_max : float
        Largest PSF ellipticity ``1 - b/a``.
    zero_point_min : float
        Lowest zero point, AB mag for 1 e-/s (clouds lower it).
    sky_max_adu : float
        Highest sky level per pixel, ADU.
    sky_min_mag_arcsec2 : float
        Brightest sky, mag/arcsec² (a smaller value is a brighter sky).
    airmass_max : float
        Largest airmass.
    """

    fwhm_max_arcsec: float = 0.0
    ellipticity_max: float = 0.0
    zero_point_min: float = 0.0
    sky_max_adu: float = 0.0
    sky_min_mag_arcsec2: float = 0.0
    airmass_max: float = 0.0

    @classmethod
    def from_settings(cls, settings) -> QualityLimits:
        """The limits of an object with the same fields (the ``[quality]`` settings)."""
        return cls(**{f.name: float(getattr(settings, f.name)) for f in fields(cls)})

    def outside(self, record: dict) -> list[str]:
        """Why a record's figures lie outside the limits (empty: within them, or unknown).

        Parameters
        ----------
        record : dict
            :meth:`FrameQuality.to_dict` (or a row with the same keys; None or NaN figures
            are unknown, never outside).
        """
        checks = (
            ("fwhm_arcsec", self.fwhm_max_arcsec, 1, 'FWHM {v:.2f}" > {limit:g}"'),
            ("ellipticity", self.ellipticity_max, 1, "ellipticity {v:.2f} > {limit:g}"),
            ("zp", self.zero_point_min, -1, "zero point {v:.2f} < {limit:g}"),
            ("sky_adu", self.sky_max_adu, 1, "sky {v:.0f} ADU > {limit:g}"),
            (
                "sky_mag_arcsec2",
                self.sky_min_mag_arcsec2,
                -1,
                "sky {v:.2f} mag/arcsec² < {limit:g}",
            ),
            ("airmass", self.airmass_max, 1, "airmass {v:.2f} > {limit:g}"),
        )
        reasons = []
        for key, limit, sign, text in checks:
            value = _finite(record.get(key))
            if limit and value is not None and sign * (value - limit) > 0:
                reasons.append(text.format(v=value, limit=limit))
        return reasons


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _number(header: fits.Header, key: str) -> float:
    """A header keyword as a float, NaN when absent or not a number ('nan' as GP2 writes it)."""
    value = _finite(header.get(key))
    return math.nan if value is None else value


def pixel_scale_arcsec(header: fits.Header) -> float:
    """The mean pixel scale of the header's celestial WCS, arcsec per pixel (NaN without one)."""
    wcs = celestial_wcs(header)
    if wcs is None:
        return math.nan
    return float(np.mean(proj_plane_pixel_scales(wcs.celestial))) * 3600.0


def psf_ellipticity(sources: Table | None, fwhm_px: float) -> float:
    """The median ellipticity ``1 - b/a`` of the stars the PSF FWHM estimate follows.

    The stars are unflagged sources whose FWHM lies within
    :data:`~analysis.gp2.findstars.PSF_TOLERANCE` of ``fwhm_px`` and whose brightest pixel
    holds at most :data:`~analysis.gp2.findstars.MAX_PEAK_FRACTION` of their flux (hot
    pixels and cosmic rays out), the brightest :data:`~analysis.gp2.findstars.MAX_FWHM_STARS`;
    their shapes are not cut on, so that an elongated PSF shows.

    Parameters
    ----------
    sources : astropy.table.Table or None
        :class:`~analysis.gp2.findstars.Sources` ``table`` (``a``, ``b`` in pixels, ``fwhm``,
        ``flux``, ``peak``, ``flag``), sorted by decreasing flux.
    fwhm_px : float
        The frame's PSF FWHM, pixels.

    Returns
    -------
    float
        NaN without a star or without a FWHM.
    """
    if sources is None or len(sources) == 0 or not math.isfinite(fwhm_px) or fwhm_px <= 0:
        return math.nan
    column = {name: np.asarray(sources[name], float) for name in ("a", "b", "fwhm", "flux", "peak")}
    with np.errstate(divide="ignore", invalid="ignore"):
        stars = (np.asarray(sources["flag"]) == 0) & (column["a"] > 0) & (column["flux"] > 0)
        stars &= np.abs(column["fwhm"] / fwhm_px - 1.0) <= PSF_TOLERANCE
        stars &= column["peak"] / column["flux"] <= MAX_PEAK_FRACTION
    chosen = np.flatnonzero(stars)[:MAX_FWHM_STARS]
    if chosen.size == 0:
        return math.nan
    return float(np.median(1.0 - column["b"][chosen] / column["a"][chosen]))


def sky_brightness(sky_e: float, zp_image: float, pixel_scale: float) -> float:
    """The sky's surface brightness, AB mag/arcsec².

    Parameters
    ----------
    sky_e : float
        Sky level per pixel, electrons in the frame.
    zp_image : float
        Zero point of the frame, AB mag giving 1 e- in it (the exposure time included).
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    float
        NaN when a figure is unknown or the sky not positive.
    """
    if not (sky_e > 0 and pixel_scale > 0 and math.isfinite(zp_image)):
        return math.nan
    return float(zp_image - 2.5 * math.log10(sky_e / pixel_scale**2))


def frame_airmass(header: fits.Header, t_mid: Time, site: Site | None) -> float:
    """The airmass at the middle of the exposure: the header's (:data:`AIRMASS_KEYS`), else
    from the pointing (the WCS centre, else RA/DEC in degrees or sexagesimal, RA in hours)
    seen from ``site`` at ``t_mid``.

    Returns
    -------
    float
        NaN when neither is known, or the pointing is below the horizon.
    """
    for key in AIRMASS_KEYS:
        if (given := _number(header, key)) >= 1.0:
            return given
    pointing = _pointing(header)
    if pointing is None or site is None:
        return math.nan
    return float(airmass(altitudes(site, pointing[0], pointing[1], t_mid)))


def _pointing(header: fits.Header) -> tuple[float, float] | None:
    wcs = celestial_wcs(header)
    if wcs is not None and header.get("NAXIS1") and header.get("NAXIS2"):
        ra, dec = wcs.pixel_to_world_values(
            (float(header["NAXIS1"]) - 1) / 2, (float(header["NAXIS2"]) - 1) / 2
        )
        return float(ra), float(dec)
    ra, dec = header.get("RA"), header.get("DEC")
    if isinstance(ra, str) and isinstance(dec, str) and ":" in ra:
        try:
            return Angle(ra.strip(), unit=u.hourangle).deg, Angle(dec.strip(), unit=u.deg).deg
        except ValueError:
            return None
    ra, dec = _number(header, "RA"), _number(header, "DEC")
    return (ra, dec) if math.isfinite(ra) and math.isfinite(dec) else None


def quality_from_header(
    header: fits.Header,
    sources: Table | None,
    *,
    image_id: str,
    instrument: str,
    filter_name: str,
    t_mid: Time,
    exptime: float,
    site: Site | None = None,
    source: str = "gp2",
) -> FrameQuality:
    """The quality figures of a frame from what its reduction, source finding and photometry
    left in its header (GP2's steps, or GP1's first step) and from its sources.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The processed frame's header: ``FWHM`` (px), ``SKYLEVEL`` (e- per pixel), ``ZP``
        (AB mag for 1 e- in the frame), ``ZPERR``, ``ZPSTARS``, ``LIMMAG``, ``GAINRAW``
        (e-/ADU of the raw frame, 1 when absent), a WCS for the pixel scale, ``AIRMASS`` or
        the pointing.
    sources : astropy.table.Table or None
        The frame's sources (for the ellipticity).
    image_id, instrument, filter_name : str
    t_mid : astropy.time.Time
        Middle of the exposure.
    exptime : float
        Exposure time, s.
    site : Site, optional
        Where the airmass is seen from when the header gives none.
    source : str, optional
        One of :data:`SOURCES`.

    Returns
    -------
    FrameQuality

    Raises
    ------
    ValueError
        If the exposure time is not positive, or the source unknown; the message names the
        frame.
    """
    if not (exptime > 0):
        raise ValueError(f"{image_id}: exposure time must be positive (s), got {exptime}")
    fwhm_px = _number(header, "FWHM")
    scale = pixel_scale_arcsec(header)
    zp_image = _number(header, "ZP")
    gain = _number(header, "GAINRAW")
    sky_e = _number(header, "SKYLEVEL")
    stars = _finite(header.get("ZPSTARS"))
    return FrameQuality(
        image_id=image_id,
        instrument=instrument,
        filter=filter_name,
        t_mid=t_mid.utc.isot,
        exptime=float(exptime),
        zp=zp_image - 2.5 * math.log10(exptime),
        zp_err=_number(header, "ZPERR"),
        zp_stars=0 if stars is None else int(stars),
        fwhm_px=fwhm_px,
        fwhm_arcsec=fwhm_px * scale,
        ellipticity=psf_ellipticity(sources, fwhm_px),
        sky_adu=sky_e / (gain if gain > 0 else 1.0),
        sky_mag_arcsec2=sky_brightness(sky_e, zp_image, scale),
        limit_mag=_number(header, "LIMMAG"),
        airmass=frame_airmass(header, t_mid, site),
        source=source,
    )

"""Settings of the frame quality (``[quality]``): the limits a science frame is flagged by."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class QualityConfig:
    fwhm_max_arcsec: float = _setting(
        3.0, "Largest PSF FWHM of a science frame, arcsec; a frame above it is flagged; 0 = off"
    )
    ellipticity_max: float = _setting(
        0.3, "Largest PSF ellipticity (1 - b/a) of a science frame; 0 = off"
    )
    zero_point_min: float = _setting(
        23.0, "Lowest zero point of a science frame, AB mag for 1 e-/s (clouds lower it); 0 = off"
    )
    sky_max_adu: float = _setting(
        30000.0, "Highest sky level of a science frame, ADU per pixel of the raw frame; 0 = off"
    )
    sky_min_mag_arcsec2: float = _setting(
        17.5, "Brightest sky of a science frame, AB mag/arcsec² (smaller is brighter); 0 = off"
    )
    airmass_max: float = _setting(2.5, "Largest airmass of a science frame; 0 = off")
    trend_nights: int = _setting(30, "Nights the Night page's trends look back over")

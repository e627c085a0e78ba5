"""The quality figures of a frame: hand-computable answers, the airmass against astropy, limits."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from analysis.frame_quality import (
    FrameQuality,
    QualityLimits,
    frame_airmass,
    psf_ellipticity,
    quality_from_header,
    sky_brightness,
)
from analysis.gp2.simulate import field_wcs
from analysis.observability import Site, offline_iers

SPM = Site("San Pedro Martir", 31.0439, -115.4637, 2800.0)
NIGHT_AT_SPM = Time("2026-12-02T06:00:00", scale="utc")


def _sources(a, b, fwhm, *, flag=0, peak_fraction=0.1) -> Table:
    n = len(a)
    flux = np.full(n, 1000.0)
    return Table(
        {
            "a": np.asarray(a, float),
            "b": np.asarray(b, float),
            "fwhm": np.asarray(fwhm, float),
            "flux": flux,
            "peak": peak_fraction * flux,
            "flag": np.full(n, flag),
        }
    )


def test_ellipticity_is_the_median_of_one_minus_b_over_a_of_the_psf_stars():
    # three stars of FWHM 3 px with b/a 0.9, 0.8, 0.7; a cosmic ray (sharp) and a galaxy (wide)
    table = _sources([2, 2, 2, 1, 6], [1.8, 1.6, 1.4, 0.2, 5.9], [3.0, 3.1, 2.9, 1.0, 9.0])
    assert psf_ellipticity(table, 3.0) == pytest.approx(0.2)


def test_ellipticity_keeps_elongated_stars_and_leaves_hot_pixels_out():
    table = _sources([4, 4, 4], [2, 2, 2], [3, 3, 3])
    assert psf_ellipticity(table, 3.0) == pytest.approx(0.5)
    hot = _sources([4, 4], [2, 2], [3, 3], peak_fraction=0.9)
    assert math.isnan(psf_ellipticity(hot, 3.0))
    assert math.isnan(psf_ellipticity(table, math.nan))


def test_sky_brightness_by_hand():
    # 100 e- per 0.5" pixel under a zero point of 25 for 1 e-: 25 - 2.5 log10(400)
    assert sky_brightness(100.0, 25.0, 0.5) == pytest.approx(25.0 - 2.5 * math.log10(400.0))
    assert math.isnan(sky_brightness(0.0, 25.0, 0.5))
    assert math.isnan(sky_brightness(100.0, math.nan, 0.5))


def _header(ra: float = 30.0, **cards) -> fits.Header:
    header = fits.Header()
    header.update(field_wcs(200, ra, 10.0, 0.5 / 3600).to_header())
    header["NAXIS1"], header["NAXIS2"] = 200, 200
    for key, value in cards.items():
        header[key] = value
    return header


def test_the_airmass_is_the_headers_else_computed_from_the_pointing_like_astropy():
    assert frame_airmass(_header(AIRMASS=1.234), NIGHT_AT_SPM, SPM) == 1.234
    computed = frame_airmass(_header(), NIGHT_AT_SPM, SPM)
    with offline_iers():
        altaz = AltAz(obstime=NIGHT_AT_SPM, location=SPM.location)
        expected = SkyCoord(30.0 * u.deg, 10.0 * u.deg).transform_to(altaz).secz
    assert 1.0 < computed == pytest.approx(float(expected), rel=1e-3)
    assert math.isnan(frame_airmass(_header(ra=150.0), NIGHT_AT_SPM, SPM))  # below the horizon
    assert math.isnan(frame_airmass(fits.Header(), NIGHT_AT_SPM, SPM))
    assert math.isnan(frame_airmass(_header(), NIGHT_AT_SPM, None))


def test_quality_from_a_gp2_header_by_hand():
    header = _header(
        FWHM=4.0, SKYLEVEL=1600.0, ZP=29.0, ZPERR=0.01, ZPSTARS=12, LIMMAG=20.5, GAINRAW=1.6
    )
    quality = quality_from_header(
        header,
        _sources([2, 2, 2], [1.8, 1.8, 1.8], [4, 4, 4]),
        image_id="f1",
        instrument="DDRAGO1",
        filter_name="g",
        t_mid=NIGHT_AT_SPM,
        exptime=100.0,
        site=SPM,
    )
    assert quality.zp == pytest.approx(24.0)  # 29 for 1 e- in 100 s: 24 for 1 e-/s
    assert quality.fwhm_arcsec == pytest.approx(2.0)
    assert quality.sky_adu == pytest.approx(1000.0)
    assert quality.sky_mag_arcsec2 == pytest.approx(29.0 - 2.5 * math.log10(1600.0 / 0.25))
    assert quality.ellipticity == pytest.approx(0.1)
    assert (quality.zp_stars, quality.limit_mag, quality.source) == (12, 20.5, "gp2")
    assert quality.t_mid == "2026-12-02T06:00:00.000"


def test_nan_as_gp2_writes_it_is_unknown_and_a_bad_exposure_time_names_the_frame():
    header = _header(FWHM="nan", ZP="nan")
    quality = quality_from_header(
        header, None, image_id="f2", instrument="", filter_name="", t_mid=NIGHT_AT_SPM, exptime=5.0
    )
    assert math.isnan(quality.fwhm_px) and math.isnan(quality.zp) and math.isnan(quality.sky_adu)
    with pytest.raises(ValueError, match="f3: exposure time must be positive"):
        quality_from_header(
            header,
            None,
            image_id="f3",
            instrument="",
            filter_name="",
            t_mid=NIGHT_AT_SPM,
            exptime=0,
        )


def test_a_record_names_an_unknown_source():
    with pytest.raises(ValueError, match="f4: quality source 'tcs'"):
        FrameQuality("f4", "", "", "", 1.0, *[math.nan] * 2, 0, *[math.nan] * 7, "tcs")


def test_limits_say_why_a_frame_is_outside_and_zero_turns_a_limit_off():
    limits = QualityLimits(fwhm_max_arcsec=3.0, zero_point_min=23.0, airmass_max=0.0)
    record = {"fwhm_arcsec": 3.4, "zp": 22.5, "airmass": 3.0, "ellipticity": None}
    assert limits.outside(record) == ['FWHM 3.40" > 3"', "zero point 22.50 < 23"]
    assert limits.outside({"fwhm_arcsec": math.nan, "zp": 24.0}) == []


def test_a_real_frames_airmass_and_pointing(shared_data):
    header = fits.getheader(shared_data / "fits" / "saao_1m_ste3" / "a8280271.fits")
    assert frame_airmass(header, NIGHT_AT_SPM, SPM) == 1.176  # its SECZ
    del header["SECZ"]
    pointing = SkyCoord("22:04:08", "-00:55:31", unit=(u.hourangle, u.deg))
    with offline_iers():
        altaz = AltAz(obstime=NIGHT_AT_SPM, location=SPM.location)
        expected = pointing.transform_to(altaz).secz
    assert frame_airmass(header, NIGHT_AT_SPM, SPM) == pytest.approx(float(expected), rel=1e-3)

"""PO's position error: from the detections' position errors, their scatter and the
astrometric fit; never 0."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time

from analysis.products import Burst
from analysis.products.builders import product_tables
from analysis.products.photometry import PhotometryError, parse_photometry_csv
from analysis.products.position import ASTROMETRY_ERROR_ARCSEC, counterpart_position
from analysis.products.settings import BuildSettings

HEADER = "image_id,filter,t_start,t_end,exptime,mag,mag_err,limit_mag,detected,ra,dec,pos_err\n"
BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


def test_one_fixed_position_with_errors_gives_their_error_of_the_mean_and_the_astrometry():
    # forced photometry: the same position in four images, each 0.4 arcsec from its centroid
    position = counterpart_position(np.full(4, 150.0), np.full(4, 20.0), np.full(4, 0.4))
    assert position.error_arcsec == pytest.approx(np.hypot(0.2, ASTROMETRY_ERROR_ARCSEC))
    assert (position.ra_deg, position.dec_deg) == pytest.approx((150.0, 20.0))


def test_a_scatter_larger_than_the_errors_wins():
    dec = 20.0 + np.array([-1.0, 1.0]) / 3600.0  # 2 arcsec apart: each 1 arcsec off the mean
    position = counterpart_position(np.full(2, 150.0), dec, np.full(2, 0.01), astrometry_arcsec=0)
    assert position.error_arcsec == pytest.approx(1.0, rel=1e-3)  # sqrt(2 / (2 * 1))


def test_without_errors_the_scatter_and_the_astrometry_give_it():
    position = counterpart_position(np.full(3, 150.0), np.full(3, 20.0), np.full(3, np.nan))
    assert position.error_arcsec == pytest.approx(ASTROMETRY_ERROR_ARCSEC)


def test_a_position_error_of_0_is_refused_naming_the_burst():
    with pytest.raises(ValueError, match="sb1: the position error would be 0.0 arcsec"):
        counterpart_position([150.0], [20.0], [np.nan], astrometry_arcsec=0.0, name="sb1")


def test_po_poserr_comes_from_the_photometry_pos_err_never_0():
    rows = [
        f"S_r_{k},r,2026-03-05T04:1{k}:00,2026-03-05T04:1{k}:30,30,17.{k},0.05,21,1,"
        f"150.0,20.0,{err}\n"
        for k, err in ((1, "0.3"), (2, "0.3"), (3, "0.3"))
    ]
    photometry = parse_photometry_csv(HEADER + "".join(rows))
    po = product_tables(photometry, BURST, BuildSettings())["PO"]
    expected = np.hypot(np.sqrt(3 * 0.3**2) / 3, ASTROMETRY_ERROR_ARCSEC)
    assert po["POSERR"][0] == pytest.approx(expected) and po["POSERR"][0] > 0


def test_a_pos_err_of_0_is_refused_and_an_empty_one_is_unknown():
    good = "a,r,2026-03-05T04:12:30,2026-03-05T04:13:30,60,17.2,0.05,21,1,150.1,20.2,"
    with pytest.raises(PhotometryError, match="row 2: pos_err must be positive"):
        parse_photometry_csv(HEADER + good + "0\n")
    assert np.isnan(parse_photometry_csv(HEADER + good + "\n").pos_err[0])

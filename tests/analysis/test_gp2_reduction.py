"""Reduction and cosmic-ray removal: known answers on generated frames, sanity on a real one."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from analysis.gp2 import reduce_frame, remove_cosmics
from data_access.gp2.files import read_image


def _header(exptime: float = 10.0) -> fits.Header:
    return fits.Header({"EXPTIME": exptime, "FILTER": "g"})


def test_reduction_recovers_the_signal_exactly():
    rng = np.random.default_rng(3)
    signal = rng.uniform(100, 1000, (20, 30)).astype(np.float32)  # electrons
    bias = np.full((20, 30), 1000.0, np.float32)
    dark = np.full((20, 30), 0.5, np.float32)  # ADU/s
    flat = rng.uniform(0.8, 1.2, (20, 30)).astype(np.float32)
    gain = 2.0
    raw = signal * flat / gain + bias + dark * 10.0
    reduced = reduce_frame(raw, _header(), bias=bias, dark=dark, flat=flat, gain=gain)
    np.testing.assert_allclose(reduced.data, signal, rtol=1e-5)
    assert reduced.header["BUNIT"] == "electron"
    assert reduced.header["GAINRAW"] == 2.0
    assert not reduced.mask.any()


def test_dark_kept_at_one_exposure_time_is_scaled():
    raw = np.full((4, 4), 110.0)
    reduced = reduce_frame(
        raw,
        _header(20.0),
        bias=np.full((4, 4), 100.0),
        dark=np.full((4, 4), 5.0),
        dark_exptime=10.0,
    )
    np.testing.assert_allclose(reduced.data, 0.0)


def test_saturated_and_dead_pixels_are_masked():
    raw = np.full((5, 5), 500.0)
    raw[1, 1] = 7000.0
    flat = np.ones((5, 5))
    flat[3, 3] = 0.0
    reduced = reduce_frame(raw, _header(), flat=flat, sat_level=7000, gain=6.2)
    assert reduced.mask[1, 1] and reduced.mask[3, 3]
    assert reduced.mask.sum() == 2
    assert reduced.header["SATURATE"] == pytest.approx(7000 * 6.2)
    assert np.isfinite(reduced.data).all()


def test_reduction_refuses_a_master_of_another_shape():
    with pytest.raises(ValueError, match="master flat has shape"):
        reduce_frame(np.zeros((4, 4)), _header(), flat=np.ones((4, 5)))


def test_reduction_needs_the_exposure_time_for_a_dark():
    with pytest.raises(ValueError, match="EXPTIME is missing"):
        reduce_frame(np.zeros((4, 4)), fits.Header(), dark=np.zeros((4, 4)))


def test_cosmic_rays_are_found_and_replaced():
    rng = np.random.default_rng(5)
    frame = rng.poisson(200.0, (64, 64)).astype(np.float32)
    hits = [(10, 12), (40, 33), (50, 7)]
    for y, x in hits:
        frame[y, x] += 5000.0
    cleaned = remove_cosmics(frame, readnoise=5.0)
    for y, x in hits:
        assert cleaned.mask[y, x]
        assert cleaned.data[y, x] < 400
    assert cleaned.count < 20


def test_later_iterations_near_the_hits_give_astroscrappys_whole_frame_result():
    rng = np.random.default_rng(8)
    frame = rng.poisson(300.0, (256, 256)).astype(np.float32)
    yy, xx = np.mgrid[:256, :256]
    for y, x in rng.uniform(10, 246, (20, 2)):  # stars, which L.A.Cosmic must leave
        frame += 3e4 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 1.5**2)).astype(np.float32)
    for y, x in rng.integers(0, 256, (25, 2)):  # hits, some at the edges, some in pairs
        frame[y, x : x + 2] += 4000.0
    mask = np.zeros(frame.shape, bool)
    mask[100:104, 0:256] = True
    local = remove_cosmics(frame, mask=mask, readnoise=5.0, niter=3)
    whole = remove_cosmics(frame, mask=mask, readnoise=5.0, niter=3, whole_frame=True)
    assert whole.count > 25
    np.testing.assert_array_equal(local.mask, whole.mask)
    np.testing.assert_array_equal(local.data, whole.data)


@pytest.mark.shared_data
def test_real_saao_frame_reduces_and_cleans(shared_data):
    data, header = read_image(shared_data / "fits" / "saao_1m_ste3" / "a8280271.fits")
    bias_level = float(np.median(data[:, :16]))  # the overscan columns (BIASSEC)
    reduced = reduce_frame(
        data,
        header,
        bias=np.full(data.shape, bias_level, np.float32),
        gain=float(header["GAIN"]),
        sat_level=60000,
    )
    cleaned = remove_cosmics(reduced.data, mask=reduced.mask, readnoise=float(header["RDNOISE"]))
    assert np.isfinite(cleaned.data).all()
    assert 0 < cleaned.count < 0.01 * data.size
    sky = np.median(reduced.data[:, 20:])
    assert sky > 0  # 150 s of sky above the bias

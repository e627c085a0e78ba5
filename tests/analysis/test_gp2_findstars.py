"""Source extraction, the PSF size and alignment: generated fields with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from analysis.gp2 import align_image, find_stars, transform_from_sources, transform_from_wcs
from analysis.gp2.alignment import Alignment, aligned_header
from analysis.gp2.simulate import field_wcs, render_stars
from data_access.gp2.files import read_image


def _field(seed: int, fwhm: float, shift=(0.0, 0.0), n=40, size=200):
    rng = np.random.default_rng(seed)
    x = rng.uniform(15, size - 15, n)
    y = rng.uniform(15, size - 15, n)
    flux = rng.uniform(2e4, 2e5, n)
    image = render_stars((size, size), x + shift[0], y + shift[1], flux, fwhm) + 100.0
    image = rng.normal(image, np.sqrt(image)).astype(np.float32)
    return image, x, y


def test_findstars_measures_the_psf_and_finds_the_stars():
    image, x, y = _field(1, fwhm=3.5)
    found = find_stars(image, detect_thresh=5)
    assert found.fwhm == pytest.approx(3.5, rel=0.08)
    assert 35 <= len(found.table) <= 42
    assert found.rms == pytest.approx(10.0, rel=0.15)
    assert list(found.table["flux"]) == sorted(found.table["flux"], reverse=True)


def _with_cosmic_rays(image: np.ndarray, seed: int, *, n_hot=60, n_streaks=15) -> np.ndarray:
    """Single hot pixels and short 1-pixel-wide streaks (3 to 8 pixels, any angle)."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    hy, hx = rng.integers(0, image.shape[0], (2, n_hot))
    out[hy, hx] += rng.uniform(1000, 20000, n_hot)
    for _ in range(n_streaks):
        steps = np.arange(rng.integers(3, 9))
        angle = rng.uniform(0, np.pi)
        cy, cx = rng.uniform(10, image.shape[0] - 10, 2)
        sy = np.round(cy + steps * np.sin(angle)).astype(int)
        sx = np.round(cx + steps * np.cos(angle)).astype(int)
        out[sy, sx] += rng.uniform(1000, 10000)
    return out


@pytest.mark.parametrize("fwhm", [5.0, 7.5, 10.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_psf_follows_the_stars_and_not_the_cosmic_rays(fwhm, seed):
    rng = np.random.default_rng(seed)
    size, n = 400, 25
    x, y = rng.uniform(3 * fwhm, size - 3 * fwhm, (2, n))
    image = render_stars((size, size), x, y, 10 ** rng.uniform(4.3, 5.5, n), fwhm) + 100.0
    image = _with_cosmic_rays(rng.normal(image, np.sqrt(image)), seed).astype(np.float32)
    found = find_stars(image, detect_thresh=5)
    sharp = np.count_nonzero(found.table["fwhm"] < 2.0)
    assert sharp >= 40  # the cosmic rays are detected, and outnumber the stars
    assert found.fwhm == pytest.approx(fwhm, rel=0.1)
    assert found.n_stars_fwhm >= 5


def test_findstars_refuses_a_bad_threshold():
    with pytest.raises(ValueError, match="detect_thresh must be positive"):
        find_stars(np.zeros((10, 10), np.float32), detect_thresh=0)


def test_alignment_from_the_wcs_gives_the_pointing_offset():
    reference = field_wcs(100, 150.0, 20.0, 0.000195).to_header()
    shifted = field_wcs(100, 150.0, 20.0, 0.000195, dx=3.0, dy=-2.0).to_header()
    alignment = transform_from_wcs(shifted, reference, (100, 100))
    assert alignment.matrix[0, 2] == pytest.approx(3.0, abs=1e-3)
    assert alignment.matrix[1, 2] == pytest.approx(-2.0, abs=1e-3)


def test_alignment_from_sources_recovers_a_shift_and_resamples():
    reference, x, y = _field(2, fwhm=3.0)
    moved, _, _ = _field(2, fwhm=3.0, shift=(-4.3, 2.6))
    ref_sources = find_stars(reference, detect_thresh=5).table
    sources = find_stars(moved, detect_thresh=5).table
    alignment = transform_from_sources(
        np.column_stack([sources["x"], sources["y"]]),
        np.column_stack([ref_sources["x"], ref_sources["y"]]),
    )
    assert alignment.matrix[0, 2] == pytest.approx(4.3, abs=0.05)
    assert alignment.matrix[1, 2] == pytest.approx(-2.6, abs=0.05)
    aligned, mask = align_image(moved - 100.0, alignment, reference.shape)
    again = find_stars(aligned, mask=mask, detect_thresh=5).table
    brightest = np.argmax(ref_sources["flux"])
    distance = np.hypot(
        again["x"] - ref_sources["x"][brightest], again["y"] - ref_sources["y"][brightest]
    )
    assert distance.min() < 0.1
    assert mask[:, :4].all() and mask[-2:, :].all()  # the strips the shifted frame does not cover
    assert not mask[10:-10, 10:-10].any()


def test_aligned_header_takes_the_reference_wcs_and_keeps_the_times():
    header = fits.Header({"DATE-OBS": "2026-03-14T03:15:05", "EXPTIME": 60.0})
    header.update(field_wcs(100, 150.0, 20.0, 0.000195, dx=3.0).to_header())
    reference = fits.Header({"DATE-OBS": "2020-01-01T00:00:00"})
    reference.update(field_wcs(100, 150.0, 20.0, 0.000195).to_header())
    out = aligned_header(header, reference, Alignment.identity())
    assert out["CRPIX1"] == reference["CRPIX1"]
    assert out["DATE-OBS"] == "2026-03-14T03:15:05"


def test_alignment_needs_three_sources():
    with pytest.raises(ValueError, match="needs 3 sources"):
        transform_from_sources(np.zeros((2, 2)), np.zeros((5, 2)))


@pytest.mark.shared_data
def test_real_star_field_gives_sources_and_a_psf(shared_data):
    data, header = read_image(shared_data / "fits" / "panoptes_dslr" / "unsolved.fits")
    found = find_stars(data, detect_thresh=5)
    assert len(found.table) > 50
    assert 1.5 < found.fwhm < 10


@pytest.mark.shared_data
def test_a_raw_frame_with_cosmic_rays_gives_the_stars_psf(shared_data):
    """SAAO 1.0 m STE3, 150 s, raw: two bright stars of about 9.8 px FWHM, a few faint
    ones, and more cosmic rays than stars (the sharp detections measure about 1 px)."""
    data, header = read_image(shared_data / "fits" / "saao_1m_ste3" / "a8280271.fits")
    assert header["TRIMSEC"].strip() == "[  17: 528,   1: 520]"
    found = find_stars(data[:, 16:528], detect_thresh=5)
    assert np.count_nonzero(found.table["fwhm"] < 2.0) > found.n_stars_fwhm
    assert found.fwhm == pytest.approx(9.8, rel=0.1)

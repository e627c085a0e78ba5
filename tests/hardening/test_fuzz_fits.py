"""FITS frames, fuzzed: headers that lie (BITPIX, NAXIS, sizes, scaling), truncated data,
and a file that claims a 100000×100000 image. Any file opens as a frame whose pixels
read whole, or is refused with a FrameError naming it, before memory is allocated for it."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given
from hypothesis import strategies as st

from data_access.fits_frames import FrameError, open_frame, read_master
from tests.hardening._fuzz import FUZZ, mutations

_names = itertools.count()
NX, NY = 12, 10


def _card(key: str, value: str) -> bytes:
    return f"{key:<8}= {value:>20}".ljust(80).encode("ascii", "replace")[:80]


def raw_fits(cards: dict[str, str], data: bytes) -> bytes:
    """A FITS file written by hand, so that its header can say anything."""
    header = b"".join(_card(k, v) for k, v in cards.items()) + b"END".ljust(80)
    header += b" " * (-len(header) % 2880)
    return header + data + b"\0" * (-len(data) % 2880)


CARDS = {
    "SIMPLE": "T",
    "BITPIX": "16",
    "NAXIS": "2",
    "NAXIS1": str(NX),
    "NAXIS2": str(NY),
    "BZERO": "32768",
    "BSCALE": "1",
    "IMAGETYP": "'BIAS    '",
    "INSTRUME": "'DDRAGO1 '",
    "EXPTIME": "0.0",
    "DATE-OBS": "'2025-03-05T20:00:00'",
}
PIXELS = (np.arange(NX * NY) - 200).astype(">i2").tobytes()
GOOD = raw_fits(CARDS, PIXELS)

lies = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["8", "16", "32", "64", "-32", "-64", "0", "7", "-16", "99999999999999999999"]),
    st.floats(allow_nan=True).map(lambda f: f"{f!r}".upper()),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=18).map(
        lambda t: f"'{t}'"
    ),
    st.sampled_from(["T", "F", "", "'100000'", "1E400", "-1E400"]),
)


def _open(path):
    try:
        frame, info = open_frame(path)
    except FrameError as exc:
        assert str(path) in str(exc)
        return None
    with frame:
        pixels = frame.read_all()
        assert pixels.shape == frame.shape == info.shape
        assert pixels.dtype == np.float32
    return pixels


@FUZZ
@given(content=mutations(GOOD))
def test_a_damaged_file_is_a_frame_or_a_frame_error(tmp_path, content):
    path = tmp_path / f"f{next(_names):05d}.fits"
    path.write_bytes(content)
    _open(path)


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(sorted({*CARDS, "NAXIS3", "BLANK"} - {"SIMPLE"})),
        lies,
        min_size=1,
        max_size=3,
    ),
    keep=st.integers(0, len(PIXELS) + 10),
)
def test_a_header_that_lies_is_a_frame_or_a_frame_error(tmp_path, changes, keep):
    path = tmp_path / f"f{next(_names):05d}.fits"
    path.write_bytes(raw_fits({**CARDS, **changes}, PIXELS[:keep]))
    _open(path)


def test_the_unchanged_file_reads_back_its_pixels(tmp_path):
    path = tmp_path / "good.fits"
    path.write_bytes(GOOD)
    pixels = _open(path)
    assert pixels[0, 0] == 32768 - 200 and pixels.shape == (NY, NX)


@pytest.mark.parametrize("bitpix", ["16", "-64"])
def test_a_file_claiming_100000_by_100000_pixels_is_refused_before_allocating(tmp_path, bitpix):
    path = tmp_path / "huge.fits"
    path.write_bytes(
        raw_fits({**CARDS, "BITPIX": bitpix, "NAXIS1": "100000", "NAXIS2": "100000"}, PIXELS)
    )
    tracemalloc.start()
    try:
        with pytest.raises(FrameError, match=r"huge\.fits: 100000 × 100000 pixels"):
            open_frame(path)
        with pytest.raises(FrameError, match=r"huge\.fits"):
            read_master(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB allocated for a refused file"


def test_a_compressed_file_claiming_a_huge_image_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.fits.fz"
    hdu = fits.CompImageHDU(np.zeros((NY, NX), np.int16), fits.Header({"IMAGETYP": "BIAS"}))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    content = path.read_bytes()
    for key, value in (("ZNAXIS1", NX), ("ZNAXIS2", NY)):
        old = f"{key:<8}= {value:>20}".encode()
        assert old in content, key
        content = content.replace(old, f"{key:<8}= {100000:>20}".encode(), 1)
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(FrameError, match=r"huge\.fits\.fz: 100000 × 100000 pixels"):
            open_frame(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"NAXIS": "1000000000000"}, r"NAXIS = 1000000000000, expected 0 to 999 axes"),
        ({"NAXIS1": "-2880"}, r"NAXIS1 = -2880, expected a size of 0 or more"),
        ({"BSCALE": "1.0E39"}, r"BSCALE is 1e\+39, expected a finite float32"),
        ({"NAXIS1": "'12'"}, r"liar\.fits: (not a readable FITS file|the header cannot be read)"),
    ],
    ids=["naxis-1e12", "negative-size", "huge-bscale", "string-naxis1"],
)
def test_headers_found_by_the_fuzzer_are_refused_quickly(tmp_path, changes, message):
    """Regressions: astropy looped for ever over NAXIS = 10**12 axes, and back to the first
    header after a negative data size; a BSCALE beyond float32 made every pixel inf; a keyword of the
    wrong type escaped as a KeyError or ValueError instead of a FrameError."""
    import time

    path = tmp_path / "liar.fits"
    path.write_bytes(raw_fits({**CARDS, **changes}, PIXELS))
    started = time.monotonic()
    with pytest.raises(FrameError, match=message):
        open_frame(path)
    assert time.monotonic() - started < 2


def test_an_unparsable_naxis_card_is_a_frame_error(tmp_path):
    """Regression (found by atheris): with SIMPLE's card ending in '+', astropy opened the
    file and raised VerifyError, not a ValueError, on reading the unparsable NAXIS card."""
    simple = b"SIMPLE  =                    T".ljust(78) + b"+ "
    naxis = b"NAXIS   =             !      2".ljust(80)
    path = tmp_path / "liar.fits"
    path.write_bytes(simple + GOOD[80:160] + naxis + GOOD[240:])
    with pytest.raises(FrameError, match=r"liar\.fits: the header cannot be read \(Unparsable"):
        open_frame(path)

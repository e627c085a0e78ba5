"""FITS frames read by rows, refused with clear reasons, and masters written atomically."""

import numpy as np
import pytest
from astropy.io import fits

from data_access.fits_frames import FitsFrame, FrameError, open_frame, read_master, write_master
from tests.calibration_helpers import SHAPE, write_raw


def test_plain_and_compressed_frames_read_by_rows_alike(tmp_path):
    plain = write_raw(tmp_path / "p", "bias", 1)[0]
    packed = write_raw(tmp_path / "c", "bias", 1, compressed=True)[0]
    expected = fits.getdata(plain).astype(np.float32)
    for path in (plain, packed):
        frame, info = open_frame(path)
        with frame:
            assert frame.shape == SHAPE
            assert np.array_equal(frame[5:9], expected[5:9])
            assert np.array_equal(frame[::7], expected[::7])
            out = np.empty((3, SHAPE[1]), np.float32)
            frame.read_into(slice(10, 13), out)
            assert np.array_equal(out, expected[10:13])
        assert (info.caltype, info.instrument, info.filter, info.exptime) == (
            "bias",
            "DDRAGO1",
            "g",
            0.0,
        )
        assert abs(info.median - 1000) < 2 and info.finite_fraction == 1


def test_truncated_file_is_refused_naming_it(tmp_path):
    path = write_raw(tmp_path, "bias", 1)[0]
    path.write_bytes(path.read_bytes()[: 2880 + 4000])
    with pytest.raises(FrameError, match=f"{path.name}: truncated"):
        open_frame(path)


def test_missing_keyword_is_named(tmp_path):
    path = write_raw(tmp_path, "bias", 1)[0]
    with fits.open(path, mode="update") as hdul:
        del hdul[0].header["INSTRUME"]
    with pytest.raises(FrameError, match="header keyword INSTRUME is missing"):
        open_frame(path)


def test_absurd_dimensions_are_refused_before_reading(tmp_path):
    path = tmp_path / "huge.fits"
    header = fits.Header()
    header["SIMPLE"], header["BITPIX"], header["NAXIS"] = True, 16, 2
    header["NAXIS1"], header["NAXIS2"] = 100000, 100000
    path.write_bytes(header.tostring().encode() + b"\0" * 2880)
    with pytest.raises(FrameError, match="100000 × 100000 pixels, expected a frame of 1 to"):
        FitsFrame(path)


def test_cube_and_garbage_are_refused(tmp_path):
    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((3, 4, 5), np.float32)).writeto(cube)
    with pytest.raises(FrameError, match="expected a 2D frame"):
        FitsFrame(cube)
    junk = tmp_path / "junk.fits"
    junk.write_text("not a FITS file")
    with pytest.raises(FrameError, match="junk.fits: not a readable FITS file"):
        FitsFrame(junk)


def test_all_nan_master_is_refused(tmp_path):
    path = write_master(tmp_path / "m.fits", np.full(SHAPE, np.nan, np.float32), fits.Header())
    with pytest.raises(FrameError, match="m.fits: every pixel is NaN"):
        read_master(path)


def test_all_nan_raw_frame_is_described_as_such(tmp_path):
    path = tmp_path / "nan.fits"
    header = fits.Header({"IMAGETYP": "BIAS", "INSTRUME": "DDRAGO1", "EXPTIME": 0.0})
    fits.PrimaryHDU(np.full(SHAPE, np.nan, np.float32), header).writeto(path)
    frame, info = open_frame(path)
    frame.close()
    assert info.finite_fraction == 0


def test_write_master_replaces_atomically_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "master.fits"
    write_master(target, np.ones(SHAPE, np.float32), fits.Header({"CALTYPE": "bias"}))
    write_master(target, np.zeros(SHAPE, np.float32), fits.Header({"CALTYPE": "bias"}))
    data, header = read_master(target)
    assert np.all(data == 0) and header["CALTYPE"] == "bias"
    assert [p.name for p in target.parent.iterdir()] == ["master.fits"]
    with pytest.raises(ValueError, match="written as plain .fits"):
        write_master(tmp_path / "m.fits.fz", np.ones(SHAPE, np.float32), fits.Header())

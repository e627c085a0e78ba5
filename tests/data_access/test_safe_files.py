"""File names from outside data, and atomic writes."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from data_access import safe_files
from data_access.fits_frames import write_master
from data_access.gp2.files import write_image, write_table
from data_access.safe_files import open_atomic, safe_file_stem, write_atomic


@pytest.mark.parametrize(
    "text", ["../../etc/passwd", "/abs/path", "..", ".", "", "a/b", "a\x00b", "é" * 200]
)
def test_safe_file_stem_never_leaves_the_folder(tmp_path, text):
    stem = safe_file_stem(text)
    target = write_atomic(tmp_path / "raw", stem + ".json", b"[]")
    assert target.parent == (tmp_path / "raw").resolve() or target.parent == tmp_path / "raw"
    assert list((tmp_path / "raw").iterdir()) == [target]


def test_safe_file_stem_keeps_plain_ids_and_separates_similar_ones():
    assert safe_file_stem("42") == "42"
    assert safe_file_stem("a/b") != safe_file_stem("a_b")
    assert safe_file_stem("a/b") != safe_file_stem("a:b")


@pytest.mark.parametrize("name", ["../x.json", "sub/../../x.json", "..", ""])
def test_write_atomic_refuses_a_name_outside_its_folder(tmp_path, name):
    with pytest.raises(ValueError, match="outside the folder"):
        write_atomic(tmp_path / "raw", name, b"[]")
    assert not (tmp_path / "x.json").exists()


def test_write_atomic_leaves_identical_content_alone_and_leaves_no_temporary(tmp_path):
    first = write_atomic(tmp_path, "a.json", b"[1]")
    mtime = first.stat().st_mtime_ns
    assert write_atomic(tmp_path, "a.json", b"[1]").stat().st_mtime_ns == mtime
    write_atomic(tmp_path, "a.json", b"[2]")
    assert first.read_bytes() == b"[2]"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_write_atomic_refuses_a_symbolic_link_leading_elsewhere(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.json").symlink_to(tmp_path / "outside.json")
    with pytest.raises(ValueError, match="outside the folder"):
        write_atomic(tmp_path / "raw", "a.json", b"[]")
    assert not (tmp_path / "outside.json").exists()


def test_write_atomic_that_fails_leaves_the_old_file_whole(tmp_path, monkeypatch):
    write_atomic(tmp_path, "a.json", b"[1]")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path, "a.json", b"[2, 3]")
    assert (tmp_path / "a.json").read_bytes() == b"[1]"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def record_disk_steps(monkeypatch) -> list[str]:
    """The fsyncs (of a file or a folder) and renames the atomic write makes, in order."""
    steps: list[str] = []
    fsync, replace = os.fsync, os.replace

    def recorded_fsync(fd):
        steps.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        fsync(fd)

    def recorded_replace(src, dst):
        steps.append("rename")
        replace(src, dst)

    monkeypatch.setattr(safe_files.os, "fsync", recorded_fsync)
    monkeypatch.setattr(safe_files.os, "replace", recorded_replace)
    return steps


def test_write_atomic_syncs_the_file_then_renames_then_syncs_the_folder(tmp_path, monkeypatch):
    steps = record_disk_steps(monkeypatch)
    write_atomic(tmp_path, "a.json", b"[1]")
    assert steps == ["fsync file", "rename", "fsync folder"]
    write_atomic(tmp_path, "a.json", b"[1]")  # the same bytes: nothing written
    assert len(steps) == 3


def test_open_atomic_that_fails_in_the_writer_leaves_nothing(tmp_path):
    write_atomic(tmp_path, "a.fits", b"old")
    with pytest.raises(RuntimeError, match="writer"), open_atomic(tmp_path, "a.fits") as out:
        out.write(b"half")
        raise RuntimeError("writer failed")
    assert (tmp_path / "a.fits").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.fits"]


def test_fits_and_table_writers_use_the_one_atomic_write(tmp_path, monkeypatch):
    steps = record_disk_steps(monkeypatch)
    data = np.ones((4, 5), np.float32)
    write_master(tmp_path / "master.fits", data, fits.Header())
    write_image(tmp_path / "image.fits", data, fits.Header(), mask=np.zeros((4, 5)))
    write_table(tmp_path / "table.csv", Table({"x": [1, 2]}))
    distinct = [step for i, step in enumerate(steps) if i == 0 or step != steps[i - 1]]
    assert distinct == ["fsync file", "rename", "fsync folder"] * 3  # astropy may fsync too
    assert fits.getdata(tmp_path / "image.fits", "MASK").shape == (4, 5)
    assert (tmp_path / "table.csv").read_text() == "x\n1\n2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.fits", "master.fits", "table.csv"]

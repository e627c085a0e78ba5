"""File names from outside data, and atomic writes."""

from __future__ import annotations

import os

import pytest

from data_access.safe_files import safe_file_stem, write_atomic


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

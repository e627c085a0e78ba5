"""A workspace's files are readable by their owner only: what a fresh workspace and
``Stores.open`` create (settings, secrets, the lake's catalog and data files, folders),
whatever the umask the process started with."""

from __future__ import annotations

import os
import stat

import pytest

from data_access.cache import Cache
from data_access.stores import Stores


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The usual umask 022 while the test runs (files 644, folders 755 by default)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_a_fresh_workspace_and_its_stores_create_files_for_their_owner_only(
    tmp_path, loose_umask, status_record, write_status_file
):
    stores = Stores.open(tmp_path / "ws")
    try:
        ws = stores.workspace
        ws.secret("cookie")
        write_status_file(ws.status_drop_dir / "a.json", [status_record()])
        stores.status.ingest([])
        with stores.cache.transaction() as con:  # a write of a data file
            con.execute("CREATE TABLE probe AS SELECT range AS x FROM range(1000)")
        files = {path.relative_to(ws.root).as_posix(): mode(path) for path in ws.root.rglob("*")}
    finally:
        stores.close()
    assert mode(ws.root) == 0o700
    for name in (
        "gic.toml",
        "lake/catalog.sqlite",
        "lake/write.lock",
        "lake/committed",
        "secrets/cookie",
        "incoming/status/a.json",
    ):
        assert files.pop(name) == 0o600, name
    data_files = [name for name in files if name.endswith(".parquet")]
    assert data_files and all(files.pop(name) == 0o600 for name in data_files), data_files
    assert all(value == 0o600 for name, value in files.items() if "catalog.sqlite-" in name)
    folders = {name: value for name, value in files.items() if "catalog.sqlite-" not in name}
    assert folders and all(value == 0o700 for value in folders.values()), folders


def test_an_existing_catalog_readable_by_all_is_made_private_when_opened(tmp_path, loose_umask):
    Cache(tmp_path / "lake").close()
    path = tmp_path / "lake" / "catalog.sqlite"
    path.chmod(0o644)
    Cache(tmp_path / "lake").close()
    assert mode(path) == 0o600

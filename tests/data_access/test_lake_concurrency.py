"""Several processes on one workspace at once: two ingest status files (the same ones, in
opposite orders, a few at a time) while a third reads; nothing is lost, nothing is stored
twice, and the reader never sees a count go down."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from data_access.stores import Stores

WRITER = """
import sys
from data_access.stores import Stores
from data_access.telemetry.store import documents_in

workspace, folder, order = sys.argv[1:4]
documents = documents_in([folder])
if order == "backwards":
    documents.reverse()
stores = Stores.open(workspace)
try:
    for start in range(0, len(documents), 3):
        stores.status.ingest(documents[start : start + 3])
finally:
    stores.close()
print("done", flush=True)
"""

READER = """
import json, sys
from data_access.stores import Stores

stores = Stores.open(sys.argv[1], read_only=True)
print("ready", flush=True)
counts = []
try:
    while not sys.stdin.readline().startswith("stop"):
        counts.append(stores.cache.execute("SELECT count(*) FROM status_reading")[0][0])
        print("read", flush=True)
finally:
    stores.close()
print(json.dumps(counts), flush=True)
"""

N_FILES = 12
N_SENSORS = 5


@pytest.fixture
def status_files(tmp_path, status_record, write_status_file):
    folder = tmp_path / "drop"
    for i in range(N_FILES):
        records = [
            status_record(f"sensor-{s}", f"{i + s / 10:+.1f}", f"2024-03-01T{i:02d}:00:00")
            for s in range(N_SENSORS)
        ]
        write_status_file(folder / f"status_{i:03d}.json", records)
    return folder


def _start(script: str, *args: str, stdin: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE if stdin else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read(reader: subprocess.Popen) -> None:
    reader.stdin.write("again\n")
    reader.stdin.flush()
    assert reader.stdout.readline().strip() == "read", reader.stderr.read()


@pytest.fixture(params=["sqlite", "postgres"])
def workspace(request, tmp_path):
    """A workspace whose lake has the embedded SQLite catalog, or a PostgreSQL one."""
    root = tmp_path / "ws"
    if request.param == "postgres":
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        dsn = make_conninfo(**conninfo_to_dict(request.getfixturevalue("pg_database")))
        root.mkdir()
        (root / "gic.toml").write_text(f"[cache]\npostgres = {json.dumps(dsn)}\n")
    return root


def test_two_writers_and_a_reader_lose_nothing_and_store_nothing_twice(workspace, status_files):
    Stores.open(workspace).close()  # the lake made once, as the first server start does
    reader = _start(READER, str(workspace), stdin=True)
    assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
    writers = [
        _start(WRITER, str(workspace), str(status_files), order)
        for order in ("forwards", "backwards")
    ]
    reads = 0
    while any(writer.poll() is None for writer in writers) or reads < 3:
        _read(reader)
        reads += 1
        time.sleep(0.1)  # a reader refreshing its page, not a loop that starves the writers
    _read(reader)  # once more, after both writers are done
    reader.stdin.write("stop\n")
    reader.stdin.flush()
    counts = json.loads(reader.stdout.readline())
    reader.wait(timeout=60)
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out.strip() == "done", err
    assert counts == sorted(counts)  # each read sees whole commits only, never fewer rows
    stores = Stores.open(workspace, read_only=True)
    try:
        rows = stores.cache.execute(
            "SELECT count(*), count(DISTINCT key) FROM status_document"
        ) + stores.cache.execute(
            "SELECT count(*), count(DISTINCT (sensor_id, ts)) FROM status_reading"
        )
        sensors = stores.cache.execute("SELECT count(*), count(DISTINCT name) FROM sensor")
    finally:
        stores.close()
    assert rows == [(N_FILES, N_FILES), (N_FILES * N_SENSORS, N_FILES * N_SENSORS)]
    assert sensors == [(N_SENSORS, N_SENSORS)]
    assert counts[-1] == N_FILES * N_SENSORS

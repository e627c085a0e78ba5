"""Several processes on one workspace at once: two ingest status files (the same ones, in
opposite orders, a few at a time) while a third reads; nothing is lost, nothing is stored
twice, and the reader never sees a count go down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from data_access.cache import Cache
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


INGEST_ALL = """
import sys
from data_access.stores import Stores
from data_access.telemetry.store import documents_in

stores = Stores.open(sys.argv[1])
documents = documents_in([sys.argv[2]])
for start in range(0, len(documents), 4):
    stores.status.ingest(documents[start : start + 4])
"""


def _consistency(root) -> tuple[int, int, int]:
    """Documents, readings, and documents whose readings do not match what they declare."""
    stores = Stores.open(root, read_only=True)
    try:
        return stores.cache.execute(
            "SELECT (SELECT count(*) FROM status_document), (SELECT count(*) FROM status_reading), "
            "(SELECT count(*) FROM status_document d WHERE n_readings <> (SELECT count(*) "
            "FROM status_reading r WHERE r.document_id = d.document_id))"
        )[0]
    finally:
        stores.close()


def test_a_writer_killed_during_its_commits_leaves_whole_files_and_the_next_run_ends_the_work(
    tmp_path, status_folder
):
    """SIGKILL from outside, at whatever moment the second commit is under way: the lake
    holds whole files only, and the next run ingests the rest, each file once."""
    root = tmp_path / "ws"
    Stores.open(root).close()
    writer = _start(INGEST_ALL, str(root), str(status_folder))
    with Cache(root / "lake", read_only=True) as cache:
        while writer.poll() is None:
            if cache.execute("SELECT count(*) FROM status_document")[0][0] > 0:
                break
            time.sleep(0.02)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL  # killed mid-way, not finished
    documents, readings, broken = _consistency(root)
    assert 0 < documents < 72 and readings == documents * 210 and broken == 0
    again = _start(INGEST_ALL, str(root), str(status_folder))
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _consistency(root) == (72, 72 * 210, 0)


MAINTAIN = """
import sys
from data_access.cache import Cache

with Cache(sys.argv[1]) as cache:
    print(cache.maintain(keep_days=0), flush=True)
"""


def test_a_maintenance_killed_half_way_leaves_a_lake_that_opens_and_is_tidied_next_time(tmp_path):
    lake = tmp_path / "lake"
    with Cache(lake) as cache:
        for batch in range(6):  # six commits, each larger than what the catalog inlines
            with cache.transaction() as con:
                con.execute(
                    "INSERT INTO source_cursor SELECT 'files', ? || '-' || range FROM range(50)",
                    [str(batch)],
                )
    crashed = subprocess.run(
        [sys.executable, "-c", MAINTAIN, str(lake)],
        env={**os.environ, "GIC_KILL_AT": "lake-maintain-merged"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with Cache(lake) as cache:
        assert cache.execute("SELECT count(*), count(DISTINCT cursor) FROM source_cursor") == [
            (300, 300)
        ]
        report = cache.maintain(keep_days=0)
        assert report["files_after"] == 1 and report["snapshots_after"] == 1
        with cache.transaction() as con:  # and the lake takes writes again
            con.execute("INSERT INTO source_cursor VALUES ('files', 'after')")
        assert cache.execute("SELECT count(*) FROM source_cursor") == [(301,)]

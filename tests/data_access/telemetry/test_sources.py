"""The three status sources and the sync, against a real PostgreSQL and a real HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from data_access.cdb.http import CdbHttpSource
from data_access.cdb.postgres import CdbPostgresSource, table_identifier
from data_access.cdb.sync import SourceCursors, StatusSourceError, newest_position, sync_source
from data_access.config import CdbHttpConfig, CdbPostgresConfig
from data_access.stores import Stores
from data_access.telemetry.sources import DirectorySource, sync_status
from data_access.telemetry.store import IngestSummary
from tests.conftest import Reply

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def open_stores(tmp_path):
    """``open_stores(toml="")``: a workspace with this gic.toml, and its stores."""
    opened: list[Stores] = []

    def make(toml: str = "", name: str = "ws") -> Stores:
        root = tmp_path / name
        root.mkdir()
        (root / "gic.toml").write_text(toml, encoding="utf-8")
        opened.append(Stores.open(root))
        return opened[-1]

    yield make
    for stores in opened:
        stores.close()


def readings(stores: Stores) -> int:
    return stores.cache.execute("SELECT count(*) FROM status_reading")[0][0]


def documents(stores: Stores) -> int:
    return stores.cache.execute("SELECT count(*) FROM status_document")[0][0]


# -- offline pieces ---------------------------------------------------------------------
def test_table_identifier_allows_schema_and_refuses_empty_parts():
    assert table_identifier("cdb.status").as_string(None) == '"cdb"."status"'
    assert table_identifier('x"; DROP TABLE y; --').as_string(None) == '"x""; DROP TABLE y; --"'
    for bad in ("", "a.", ".b", "a.b.c"):
        with pytest.raises(ValueError, match="cdb.postgres.status_table"):
            table_identifier(bad)


def test_newest_position_compares_times_not_text():
    assert newest_position(["2024-03-01T10:00:00+02:00", "2024-03-01T09:00:00Z"]) == (
        "2024-03-01T09:00:00Z"
    )
    assert newest_position(["2024-03-01T00:00:00", "not a date"]) == "2024-03-01T00:00:00"
    assert newest_position([]) is None


def test_the_http_source_names_its_url_without_secrets():
    url = "https://user:pw@cdb.example:8443/api/status?token=hunter2#x"
    source = CdbHttpSource(CdbHttpConfig(url=url), Path("raw"))
    assert (
        repr(source) == "CdbHttpSource('https://user:***@cdb.example:8443/api/status?token=***#x')"
    )


def test_directory_source_lists_every_visible_json_file(tmp_path, write_status_file, status_record):
    drop = tmp_path / "drop"
    write_status_file(drop / "a.json", [status_record()])
    write_status_file(drop / "night" / "b.json", [status_record()])
    write_status_file(drop / ".partial.json", [status_record()])
    (drop / "notes.txt").write_text("not a status file")
    pages = list(DirectorySource(drop).collect(None))
    assert [sorted(d.path.name for d in page.documents) for page in pages] == [["a.json", "b.json"]]
    assert all(d.source == "files" and not page.positions for page in pages for d in page.documents)


def test_directory_source_names_a_missing_folder(tmp_path):
    with pytest.raises(StatusSourceError, match="drop folder .*missing.* does not exist"):
        list(DirectorySource(tmp_path / "missing").collect(None))


def test_sync_of_the_drop_folder_alone_reads_only_new_or_changed_files(
    open_stores, write_status_file, status_record
):
    stores = open_stores()
    drop = stores.workspace.status_drop_dir
    write_status_file(drop / "a.json", [status_record(date="2024-03-01T00:00:00")])
    first = sync_status(stores)
    assert list(first) == ["files"]
    assert len(first["files"].ingested) == 1
    write_status_file(drop / "b.json", [status_record(date="2024-03-01T00:05:00")])
    second = sync_status(stores)
    assert (len(second["files"].ingested), len(second["files"].unchanged)) == (1, 1)
    assert SourceCursors(stores.cache).get("files") is None


# -- PostgreSQL -------------------------------------------------------------------------
def create_table(
    dsn: str,
    table: str = "status",
    *,
    id_type: str = "bigint",
    id_col: str = "id",
    json_col: str = "data",
    date_col: str = "date",
    date_type: str = "timestamptz",
) -> None:
    parts = table.split(".")
    with psycopg.connect(dsn, autocommit=True) as con:
        if len(parts) == 2:
            con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(parts[0])))
        con.execute(
            sql.SQL("CREATE TABLE {} ({} {} PRIMARY KEY, {} jsonb, {} {})").format(
                sql.Identifier(*parts),
                sql.Identifier(id_col),
                sql.SQL(id_type),
                sql.Identifier(json_col),
                sql.Identifier(date_col),
                sql.SQL(date_type),
            )
        )


def insert_rows(dsn: str, rows: list[tuple], table: str = "status") -> None:
    """Insert (id, date, document) rows; the document goes in as JSONB."""
    with psycopg.connect(dsn, autocommit=True) as con:
        con.cursor().executemany(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(sql.Identifier(*table.split("."))),
            [(row_id, Jsonb(document), when) for row_id, when, document in rows],
        )


def pg_config(dsn: str, **settings) -> CdbPostgresConfig:
    return CdbPostgresConfig(dsn=dsn, **settings)


def pg_sync(stores: Stores, config: CdbPostgresConfig, **options) -> IngestSummary:
    source = CdbPostgresSource(
        config, None, stores.workspace.raw_status_dir / "cdb-postgres", **options
    )
    return sync_source(source, stores.status, SourceCursors(stores.cache))


@pytest.mark.service
def test_postgres_first_sync_takes_every_row_as_received(pg_database, open_stores, status_record):
    create_table(pg_database)
    insert_rows(
        pg_database,
        [
            (
                1,
                T0,
                [
                    status_record("a", date="2024-03-01T00:00:00"),
                    status_record("b", date="2024-03-01T00:00:00"),
                ],
            ),
            (2, T0 + timedelta(minutes=5), status_record("a", date="2024-03-01T00:05:00")),
        ],
    )
    stores = open_stores()
    summary = pg_sync(stores, pg_config(pg_database))
    assert sorted(summary.ingested) == ["status/1", "status/2"]
    assert summary.readings == 3 and not summary.rejected
    raw = stores.workspace.raw_status_dir / "cdb-postgres"
    assert sorted(p.name for p in raw.iterdir()) == ["status--1.json", "status--2.json"]
    single = json.loads((raw / "status--2.json").read_text())
    assert isinstance(single, list) and single[0]["name"] == "a"  # a single record is wrapped
    cursor = SourceCursors(stores.cache).get("cdb-postgres")
    assert datetime.fromisoformat(cursor) == T0 + timedelta(minutes=5)
    assert stores.cache.execute("SELECT DISTINCT source FROM status_document") == [
        ("cdb-postgres",)
    ]


@pytest.mark.service
def test_postgres_second_sync_adds_only_new_rows(pg_database, open_stores, status_record):
    create_table(pg_database)
    t1, t2 = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    insert_rows(
        pg_database,
        [
            (1, T0, [status_record("a", date="2024-03-01T00:00:00")]),
            (2, t1, [status_record("a", date="2024-03-01T00:05:00")]),
        ],
    )
    stores = open_stores()
    config = pg_config(pg_database)
    pg_sync(stores, config)
    assert readings(stores) == 2
    row2 = stores.workspace.raw_status_dir / "cdb-postgres" / "status--2.json"
    row2_mtime = row2.stat().st_mtime_ns
    # a row dated exactly at the cursor, and a newer one
    insert_rows(
        pg_database,
        [
            (3, t1, [status_record("b", date="2024-03-01T00:05:00")]),
            (4, t2, [status_record("a", date="2024-03-01T00:10:00")]),
        ],
    )
    second = pg_sync(stores, config)
    assert sorted(second.ingested) == ["status/3", "status/4"]
    assert second.unchanged == ["status/2"]  # read again at the cursor's date, not duplicated
    assert second.readings == 2 and readings(stores) == 4 and documents(stores) == 4
    assert row2.stat().st_mtime_ns == row2_mtime
    third = pg_sync(stores, config)
    assert (third.ingested, third.unchanged, third.readings) == ([], ["status/4"], 0)
    assert datetime.fromisoformat(SourceCursors(stores.cache).get("cdb-postgres")) == t2


@pytest.mark.service
def test_postgres_reads_in_pages(pg_database, open_stores, status_record):
    create_table(pg_database)
    dates = [
        T0,
        T0,
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=10),
    ]
    insert_rows(
        pg_database,
        [
            (n, when, [status_record(f"s{n}", date=when.strftime("%Y-%m-%dT%H:%M:%S"))])
            for n, when in enumerate(dates, start=1)
        ],
    )
    stores = open_stores()
    source = CdbPostgresSource(
        pg_config(pg_database), None, stores.workspace.raw_status_dir, page_rows=2
    )
    pages = list(source.collect(None))
    assert [len(page.documents) for page in pages] == [2, 2, 1]
    summary = sync_source(source, stores.status, SourceCursors(stores.cache))
    assert len(summary.ingested) == 5 and readings(stores) == 5


@pytest.mark.service
def test_postgres_schema_qualified_table_with_its_own_column_names(
    pg_database, open_stores, status_record
):
    table = "cdb.StatusDocs"
    create_table(
        pg_database,
        table,
        id_type="text",
        id_col="Row Id",
        json_col="doc",
        date_col="taken_at",
        date_type="timestamp",
    )
    hostile = ["../../escape", "/etc/passwd", "a/b", "..", "plain-7"]
    rows = [
        (row_id, datetime(2024, 3, 1, 0, n), [status_record(f"s{n}", date=f"2024-03-01T00:0{n}")])
        for n, row_id in enumerate(hostile)
    ]
    insert_rows(pg_database, rows, table=table)
    stores = open_stores()
    config = pg_config(
        pg_database,
        status_table=table,
        id_column="Row Id",
        json_column="doc",
        date_column="taken_at",
    )
    summary = pg_sync(stores, config)
    assert sorted(summary.ingested) == sorted(f"{table}/{row_id}" for row_id in hostile)
    raw = stores.workspace.raw_status_dir / "cdb-postgres"
    files = sorted(raw.iterdir())
    assert len(files) == len(hostile) and all(f.parent == raw for f in files)
    assert "cdb.StatusDocs--plain-7.json" in [f.name for f in files]
    assert not (stores.workspace.root / "escape.json").exists()
    assert SourceCursors(stores.cache).get("cdb-postgres") == "2024-03-01T00:04:00"
    again = pg_sync(stores, config)
    assert again.ingested == [] and again.unchanged == [f"{table}/plain-7"]


@pytest.mark.service
def test_postgres_malformed_rows_are_rejected_with_a_reason_and_the_others_go_in(
    pg_database, open_stores, status_record
):
    create_table(pg_database)
    insert_rows(
        pg_database,
        [
            (1, T0, [status_record("a")]),
            (2, T0 + timedelta(minutes=1), [status_record("b", drop=("unit",))]),
            (3, T0 + timedelta(minutes=2), "just a string"),
            (4, T0 + timedelta(minutes=3), [status_record("c")]),
            (5, T0 + timedelta(minutes=4), [status_record("d", value="warm")]),
        ],
    )
    stores = open_stores()
    config = pg_config(pg_database)
    summary = pg_sync(stores, config)
    assert sorted(summary.ingested) == ["status/1", "status/4"]
    reasons = dict(summary.rejected)
    assert sorted(reasons) == ["status/2", "status/3", "status/5"]
    assert "status--2.json" in reasons["status/2"] and 'field "unit"' in reasons["status/2"]
    assert "not a JSON list" in reasons["status/3"]
    assert "record 0" in reasons["status/5"] and "'warm' is not a float" in reasons["status/5"]
    kept = stores.status.rejected()
    assert set(kept["key"]) == {"status/2", "status/3", "status/5"}
    assert set(kept["source"]) == {"cdb-postgres"}
    # the cursor stops at the newest row that went in; the rejected row after it is read again
    cursor = SourceCursors(stores.cache).get("cdb-postgres")
    assert datetime.fromisoformat(cursor) == T0 + timedelta(minutes=3)
    again = pg_sync(stores, config)
    assert again.ingested == [] and [key for key, _ in again.rejected] == ["status/5"]


@pytest.mark.service
def test_postgres_errors_name_the_database_and_table_never_the_password(pg_database, open_stores):
    stores = open_stores()
    missing_db = make_conninfo(pg_database, dbname="no_such_db")
    source = CdbPostgresSource(pg_config(missing_db), "s3cret-pw", stores.workspace.raw_status_dir)
    with pytest.raises(StatusSourceError) as failure:
        list(source.collect(None))
    assert "no_such_db" in str(failure.value) and "s3cret-pw" not in str(failure.value)
    assert "s3cret-pw" not in repr(source)
    source = CdbPostgresSource(pg_config(pg_database, status_table="nope"), "s3cret-pw", Path("."))
    with pytest.raises(StatusSourceError, match='table nope: .*"nope" does not exist'):
        list(source.collect(None))


# -- HTTP -------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def http_source(stores: Stores, url: str, **settings) -> tuple[CdbHttpSource, Recorder]:
    settings = {"timeout_s": 2.0, "retries": 2, "backoff_s": 0.5} | settings
    sleep = Recorder()
    source = CdbHttpSource(
        CdbHttpConfig(url=url, **settings),
        stores.workspace.raw_status_dir / "cdb-http",
        sleep=sleep,
    )
    return source, sleep


def http_sync(stores: Stores, source: CdbHttpSource) -> IngestSummary:
    return sync_source(source, stores.status, SourceCursors(stores.cache))


def contract(records: list[dict]):
    """The endpoint's contract: the records newer than ``since``, as a JSON list."""

    def respond(query: dict[str, str]) -> Reply:
        since = query.get("since")
        newer = [
            r for r in records if since is None or newest_position([r["date"], since]) != since
        ]
        return Reply(200, json.dumps(newer).encode())

    return respond


@pytest.mark.service
def test_http_sync_follows_the_cursor(http_server, open_stores, status_record):
    records = [
        status_record("a", date="2024-03-01T00:00:00Z"),
        status_record("b", date="2024-03-01T00:05:00Z"),
    ]
    http_server.respond = contract(records)
    stores = open_stores()
    source, _ = http_source(stores, http_server.url)
    first = http_sync(stores, source)
    assert len(first.ingested) == 1 and first.readings == 2
    assert http_server.requests[0] == {}
    cursors = SourceCursors(stores.cache)
    assert cursors.get("cdb-http") == "2024-03-01T00:05:00Z"
    records.append(status_record("a", date="2024-03-01T00:10:00Z"))
    second = http_sync(stores, source)
    assert http_server.requests[1] == {"since": "2024-03-01T00:05:00Z"}
    assert second.readings == 1 and cursors.get("cdb-http") == "2024-03-01T00:10:00Z"
    nothing_new = http_sync(stores, source)  # the endpoint answers []
    assert nothing_new.readings == 0 and not nothing_new.ingested and documents(stores) == 2
    raw = stores.workspace.raw_status_dir / "cdb-http"
    assert len(list(raw.iterdir())) == 2
    assert sorted(stores.cache.execute("SELECT key FROM status_document")) == sorted(
        (p.stem,) for p in raw.iterdir()
    )


@pytest.mark.service
def test_http_repeated_answer_adds_nothing(http_server, open_stores, status_record):
    http_server.script(Reply(200, json.dumps([status_record()]).encode()))
    stores = open_stores()
    source, _ = http_source(stores, http_server.url)
    http_sync(stores, source)
    again = http_sync(stores, source)
    assert (again.ingested, again.readings, len(again.unchanged)) == ([], 0, 1)
    assert readings(stores) == 1


@pytest.mark.service
def test_http_500_then_ok_is_retried_with_back_off(http_server, open_stores, status_record):
    http_server.script(Reply(500), Reply(503), Reply(200, json.dumps([status_record()]).encode()))
    stores = open_stores()
    source, sleep = http_source(stores, http_server.url, retries=3, backoff_s=0.5)
    summary = http_sync(stores, source)
    assert len(summary.ingested) == 1 and len(http_server.requests) == 3
    assert sleep.waits == [0.5, 1.0]


@pytest.mark.service
def test_http_always_500_gives_a_clear_error_and_records_nothing(http_server, open_stores):
    http_server.script(Reply(500, b"boom"))
    stores = open_stores()
    SourceCursors(stores.cache).set("cdb-http", "2024-03-01T00:00:00Z")
    source, sleep = http_source(stores, http_server.url + "?token=hunter2", retries=2)
    with pytest.raises(StatusSourceError) as failure:
        http_sync(stores, source)
    message = str(failure.value)
    assert http_server.url in message and "HTTP 500" in message and "3 attempts" in message
    assert "hunter2" not in message
    assert len(http_server.requests) == 3 and sleep.waits == [0.5, 1.0]
    assert http_server.requests[0] == {"token": "hunter2", "since": "2024-03-01T00:00:00Z"}
    assert documents(stores) == 0 and not stores.status.rejected().shape[0]
    assert SourceCursors(stores.cache).get("cdb-http") == "2024-03-01T00:00:00Z"
    assert not (stores.workspace.raw_status_dir / "cdb-http").exists()


@pytest.mark.service
def test_http_4xx_is_not_retried(http_server, open_stores):
    http_server.script(Reply(404, b"{}"))
    stores = open_stores()
    source, sleep = http_source(stores, http_server.url)
    with pytest.raises(StatusSourceError, match=r"/status: HTTP 404 Not Found \(not retried\)"):
        http_sync(stores, source)
    assert len(http_server.requests) == 1 and sleep.waits == []


@pytest.mark.service
def test_http_timeout_is_retried_then_reported(http_server, open_stores):
    http_server.script(Reply(200, b"[]", delay_s=3.0))
    stores = open_stores()
    source, _ = http_source(stores, http_server.url, timeout_s=0.2, retries=1)
    with pytest.raises(StatusSourceError, match=r"no answer within 0.2 s after 2 attempts"):
        http_sync(stores, source)
    assert len(http_server.requests) == 2 and documents(stores) == 0


@pytest.mark.service
def test_http_connection_refused(closed_port_url, open_stores):
    stores = open_stores()
    source, sleep = http_source(stores, closed_port_url, retries=1)
    with pytest.raises(StatusSourceError, match=r"127\.0\.0\.1:\d+/status: connection refused"):
        http_sync(stores, source)
    assert sleep.waits == [0.5]


@pytest.mark.service
@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'[{"name": "a", ', "JSON"), (b'{"error": "none"}', "not a JSON list")],
)
def test_http_malformed_answer_is_kept_and_rejected(http_server, open_stores, body, reason):
    http_server.script(Reply(200, body))
    stores = open_stores()
    SourceCursors(stores.cache).set("cdb-http", "2024-03-01T00:00:00Z")
    source, _ = http_source(stores, http_server.url)
    summary = http_sync(stores, source)
    assert not summary.ingested and len(summary.rejected) == 1
    key, why = summary.rejected[0]
    assert reason in why and key in why
    assert (stores.workspace.raw_status_dir / "cdb-http" / f"{key}.json").read_bytes() == body
    assert SourceCursors(stores.cache).get("cdb-http") == "2024-03-01T00:00:00Z"


# -- every source together --------------------------------------------------------------
@pytest.mark.service
def test_sync_status_goes_on_when_one_source_fails(
    pg_database, closed_port_url, open_stores, status_record, write_status_file
):
    create_table(pg_database)
    insert_rows(pg_database, [(1, T0, [status_record("a")])])
    dsn = conninfo_to_dict(pg_database)
    stores = open_stores(
        f'[cdb.postgres]\ndsn = {json.dumps(make_conninfo(**dsn))}\npassword_env = "TEST_PW"\n'
        f'[cdb.http]\nurl = "{closed_port_url}"\nretries = 0\ntimeout_s = 2.0\n'
    )
    write_status_file(stores.workspace.status_drop_dir / "a.json", [status_record("b")])
    results = sync_status(stores, environ={"TEST_PW": "s3cret-pw"})
    assert list(results) == ["files", "cdb-postgres", "cdb-http"]
    assert len(results["files"].ingested) == 1
    assert results["cdb-postgres"].ingested == ["status/1"]
    assert isinstance(results["cdb-http"], str) and "connection refused" in results["cdb-http"]
    assert readings(stores) == 2


def test_sync_status_reports_a_misconfigured_source_and_still_reads_the_others(
    open_stores, status_record, write_status_file
):
    stores = open_stores(
        '[cdb.postgres]\ndsn = "host=/nonexistent dbname=cdb"\nstatus_table = "a.b.c"\n'
        '[cdb.http]\nurl = "http://127.0.0.1:9/status"\nretries = -1\n'
    )
    write_status_file(stores.workspace.status_drop_dir / "a.json", [status_record()])
    results = sync_status(stores, environ={})
    assert len(results["files"].ingested) == 1
    assert "cdb.postgres.status_table 'a.b.c' must be" in results["cdb-postgres"]
    assert "cdb.http needs retries >= 0" in results["cdb-http"]

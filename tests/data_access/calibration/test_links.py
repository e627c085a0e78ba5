"""The CDB's calibration links through its sources: a PostgreSQL table (pgserver), an HTTP
endpoint and the drop folder; bad documents rejected with their reason; late links."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from data_access.calibration.links import CalibrationLinks, sync_links
from data_access.stores import Stores
from tests.conftest import Reply

NIGHT = date(2025, 3, 1)


def frame(name: str, **changes) -> dict:
    entry = {
        "url": f"http://cdb.invalid/frames/{name}",
        "instrument": "DDRAGO1",
        "type": "bias",
        "exptime_s": 0.0,
    }
    entry.update(changes)
    return entry


def document(*names: str, night: str = "20250301") -> dict:
    return {"night": night, "frames": [frame(n) for n in names]}


def open_stores(tmp_path, toml: str = "") -> Stores:
    root = tmp_path / "ws"
    root.mkdir(exist_ok=True)
    (root / "gic.toml").write_text(toml, encoding="utf-8")
    return Stores.open(root)


def test_links_dropped_as_files_go_in_once_and_a_bad_one_is_rejected(tmp_path):
    stores = open_stores(tmp_path)
    try:
        drop = stores.workspace.path("drop/calibration-links")
        drop.mkdir(parents=True, exist_ok=True)
        (drop / "a.json").write_text(json.dumps(document("b1.fits", "b2.fits")))
        (drop / "bad.json").write_text(json.dumps([frame("x.fits", type="light")]))
        result = sync_links(stores.workspace, stores.cache)["files"]
        assert result.readings == 2
        [(key, reason)] = result.rejected
        assert key.endswith("bad.json") and "bad.json, frame 0: type 'light'" in reason
        links = CalibrationLinks(stores.cache)
        assert [link.name for link in links.of_night(NIGHT)] == ["b1.fits", "b2.fits"]
        first = links.received()[NIGHT]
        again = sync_links(stores.workspace, stores.cache)["files"]
        assert again.readings == 0 and links.received()[NIGHT] == first
        (drop / "late.json").write_text(json.dumps(document("b3.fits")))
        assert sync_links(stores.workspace, stores.cache)["files"].readings == 1
        assert len(links.of_night(NIGHT)) == 3 and links.received()[NIGHT] > first
    finally:
        stores.close()


def test_links_from_the_cdb_table_with_a_late_series(pg_database, tmp_path):
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE calibration_links (id serial, date timestamptz, data jsonb)")
        con.execute(
            "INSERT INTO calibration_links (date, data) VALUES (%s, %s)",
            [datetime(2025, 3, 2, 13, tzinfo=UTC), Jsonb(document("b1.fits", "b2.fits"))],
        )
    dsn = make_conninfo(**conninfo_to_dict(pg_database))
    stores = open_stores(tmp_path, f"[cdb.postgres]\ndsn = {json.dumps(dsn)}\n")
    try:
        results = sync_links(stores.workspace, stores.cache, environ={})
        assert results["cdb-postgres"].readings == 2
        with psycopg.connect(pg_database, autocommit=True) as con:
            con.execute(
                "INSERT INTO calibration_links (date, data) VALUES (%s, %s)",
                [datetime(2025, 3, 2, 15, tzinfo=UTC), Jsonb(document("f1.fits"))],
            )
        results = sync_links(stores.workspace, stores.cache, environ={})
        assert results["cdb-postgres"].readings == 1  # only the new row was read
        assert len(CalibrationLinks(stores.cache).of_night(NIGHT)) == 3
        kept = stores.workspace.path("raw/calibration-links/cdb-postgres")
        assert len(list(kept.glob("*.json"))) == 2  # each row as received
    finally:
        stores.close()


def test_links_from_the_cdb_endpoint(http_server, tmp_path):
    http_server.respond = lambda query: Reply(
        body=json.dumps(
            [{**frame("d1.fits", type="dark", exptime_s=30), "night": "20250301"}]
        ).encode()
    )
    toml = f'[calibration.nightly]\nlinks_url = "{http_server.url}"\n'
    stores = open_stores(tmp_path, toml)
    try:
        assert sync_links(stores.workspace, stores.cache)["cdb-http"].readings == 1
        assert sync_links(stores.workspace, stores.cache)["cdb-http"].readings == 0
        assert http_server.requests[-1] == {"since": "20250301"}
        [link] = CalibrationLinks(stores.cache).of_night(NIGHT)
        assert (link.caltype, link.exptime_s) == ("dark", 30.0)
    finally:
        stores.close()

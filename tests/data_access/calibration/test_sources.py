"""``sync_calibration``: reports from the CDB's PostgreSQL table and HTTP endpoint, against a
real PostgreSQL and a real local HTTP server, through the status sources' machinery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from astropy.io import fits

from analysis.calibration import validate_master
from app.worker import scheduled_jobs
from data_access.calibration.sources import CURSOR_PREFIX, sync_calibration
from data_access.cdb.sync import SourceCursors, newest_position
from data_access.stores import Stores
from tests.conftest import Reply
from tests.data_access.telemetry.test_sources import create_table, insert_rows

T0 = datetime(2025, 3, 1, 23, tzinfo=UTC)


@pytest.fixture
def open_stores(tmp_path):
    """``open_stores(toml)``: a workspace with this gic.toml, and its stores."""
    opened: list[Stores] = []

    def make(toml: str = "") -> Stores:
        root = tmp_path / "ws"
        root.mkdir()
        (root / "gic.toml").write_text(toml, encoding="utf-8")
        opened.append(Stores.open(root))
        return opened[-1]

    yield make
    for stores in opened:
        stores.close()


def report(night: str, offset: float = 1.0, *, im_name: str | None = None) -> dict:
    """A bias report of DDRAGO1 (the notes' JSON): MEANDIFF = ``offset`` ADU."""
    data = np.random.default_rng(0).normal(1000, 1.0, (16, 16)).astype(np.float32)
    header = fits.Header(
        {
            "IMAGETYP": "MASTER BIAS",
            "CALTYPE": "bias",
            "INSTRUME": "DDRAGO1",
            "FILTER": "NONE",
            "DATE-OBS": f"{night}T23:00:00",
        }
    )
    name = im_name or f"bias_DDRAGO1_NONE_{night.replace('-', '')}.fits"
    result = validate_master(data + offset, header, data, header, im_name=name)
    return result.to_dict()


def broken(night: str) -> dict:
    data = report(night)
    del data["RMSDIFF"]
    return data


def reports_in(stores: Stores) -> list[tuple[str, str, float]]:
    trend = stores.calibration.trend("bias", "DDRAGO1")
    return sorted(zip(trend["im_name"], trend["source"], trend["meandiff"].round(3), strict=True))


# -- PostgreSQL -------------------------------------------------------------------------
@pytest.mark.service
def test_postgres_reports_go_in_once_and_a_bad_one_is_rejected(pg_database, open_stores):
    create_table(pg_database, "calibration")
    rows = [
        (1, T0, report("2025-03-01")),
        (2, T0 + timedelta(days=1), broken("2025-03-02")),
        (3, T0 + timedelta(days=2), report("2025-03-03", 0.5)),
    ]
    insert_rows(pg_database, rows, table="calibration")
    stores = open_stores(f"[cdb.postgres]\ndsn = {json.dumps(pg_database)}\n")
    first = sync_calibration(stores, environ={})
    assert list(first) == ["cdb-postgres"]
    summary = first["cdb-postgres"]
    assert sorted(summary.ingested) == ["calibration/1", "calibration/3"]
    assert summary.readings == 2
    [(key, reason)] = summary.rejected
    assert key == "calibration/2"
    assert "calibration--2.json" in reason and "missing key(s) RMSDIFF" in reason
    assert reports_in(stores) == [
        ("bias_DDRAGO1_NONE_20250301.fits", "cdb-postgres", 1.0),
        ("bias_DDRAGO1_NONE_20250303.fits", "cdb-postgres", 0.5),
    ]
    raw = stores.workspace.root / "raw" / "calibration-reports" / "cdb-postgres"
    assert sorted(p.name for p in raw.iterdir()) == [f"calibration--{n}.json" for n in (1, 2, 3)]
    assert json.loads((raw / "calibration--1.json").read_text()) == rows[0][2]  # not wrapped
    cursors = SourceCursors(stores.cache, prefix=CURSOR_PREFIX)
    assert datetime.fromisoformat(cursors.get("cdb-postgres")) == T0 + timedelta(days=2)
    assert SourceCursors(stores.cache).get("cdb-postgres") is None  # the status cursor
    # again: nothing new; then one more row
    again = sync_calibration(stores, environ={})["cdb-postgres"]
    assert (again.ingested, again.unchanged, again.readings) == ([], ["calibration/3"], 0)
    insert_rows(pg_database, [(4, T0 + timedelta(days=3), report("2025-03-04"))], "calibration")
    third = sync_calibration(stores, environ={})["cdb-postgres"]
    assert third.ingested == ["calibration/4"] and len(reports_in(stores)) == 3


@pytest.mark.service
def test_postgres_missing_table_is_named(pg_database, open_stores):
    stores = open_stores(
        f'[cdb.postgres]\ndsn = {json.dumps(pg_database)}\ncalibration_table = "tcs.reports"\n'
    )
    failure = sync_calibration(stores, environ={})["cdb-postgres"]
    assert isinstance(failure, str) and "table tcs.reports: " in failure
    assert 'relation "tcs.reports" does not exist' in failure


def test_an_empty_calibration_table_turns_the_postgres_source_off(open_stores):
    stores = open_stores('[cdb.postgres]\ndsn = "host=/nonexistent"\ncalibration_table = ""\n')
    assert sync_calibration(stores, environ={}) == {}


# -- HTTP -------------------------------------------------------------------------------
def contract(reports: list[dict]):
    """The endpoint: the reports whose DATE is newer than ``since``, as a JSON list."""

    def respond(query: dict[str, str]) -> Reply:
        since = query.get("since")
        newer = [
            r for r in reports if since is None or newest_position([r["DATE"], since]) != since
        ]
        return Reply(200, json.dumps(newer).encode())

    return respond


def http_toml(url: str) -> str:
    return f'[cdb.http]\ncalibration_url = "{url}"\nretries = 0\ntimeout_s = 2.0\n'


@pytest.mark.service
def test_http_follows_the_cursor_keeps_answers_and_rejects_a_bad_report(http_server, open_stores):
    reports = [report("2025-03-01"), broken("2025-03-02"), report("2025-03-03", 0.5)]
    http_server.respond = contract(reports)
    stores = open_stores(http_toml(http_server.url))
    first = sync_calibration(stores, environ={})
    assert list(first) == ["cdb-http"]  # cdb.http.url (status) is empty: only this one
    summary = first["cdb-http"]
    assert len(summary.ingested) == 1 and summary.readings == 2
    [(key, reason)] = summary.rejected
    sha = summary.ingested[0]
    assert key == "bias_DDRAGO1_NONE_20250302.fits" and "report 1" in reason
    assert "missing key(s) RMSDIFF" in reason and f"{sha}.json" in reason
    assert http_server.requests[0] == {}
    raw = stores.workspace.root / "raw" / "calibration-reports" / "cdb-http"
    assert (raw / f"{sha}.json").read_bytes() == json.dumps(reports).encode()
    cursors = SourceCursors(stores.cache, prefix=CURSOR_PREFIX)
    assert cursors.get("cdb-http") == reports[2]["DATE"]
    reports.append(report("2025-03-04"))
    second = sync_calibration(stores, environ={})["cdb-http"]
    assert http_server.requests[1] == {"since": reports[2]["DATE"]}
    assert second.readings == 1 and not second.rejected
    nothing_new = sync_calibration(stores, environ={})["cdb-http"]  # the endpoint answers []
    assert nothing_new.readings == 0 and not nothing_new.ingested
    assert len(list(raw.iterdir())) == 2
    # a corrected report sent again under the same IM_NAME replaces the earlier one
    http_server.script(Reply(200, json.dumps([report("2025-03-03", 0.25)]).encode()))
    corrected = sync_calibration(stores, environ={})["cdb-http"]
    assert len(corrected.replaced) == 1 and corrected.readings == 1
    assert reports_in(stores) == [
        ("bias_DDRAGO1_NONE_20250301.fits", "cdb-http", 1.0),
        ("bias_DDRAGO1_NONE_20250303.fits", "cdb-http", 0.25),
        ("bias_DDRAGO1_NONE_20250304.fits", "cdb-http", 1.0),
    ]


@pytest.mark.service
def test_http_repeated_answer_adds_nothing(http_server, open_stores):
    http_server.script(Reply(200, json.dumps([report("2025-03-01")]).encode()))
    stores = open_stores(http_toml(http_server.url))
    sync_calibration(stores, environ={})
    again = sync_calibration(stores, environ={})["cdb-http"]
    assert (again.ingested, again.readings, len(again.unchanged)) == ([], 0, 1)
    assert len(reports_in(stores)) == 1


@pytest.mark.service
def test_http_failure_is_reported_and_nothing_moves(closed_port_url, open_stores):
    stores = open_stores(http_toml(closed_port_url))
    failure = sync_calibration(stores, environ={})["cdb-http"]
    assert isinstance(failure, str) and "connection refused" in failure
    assert SourceCursors(stores.cache, prefix=CURSOR_PREFIX).get("cdb-http") is None
    assert reports_in(stores) == []


@pytest.mark.service
def test_malformed_answer_is_kept_and_rejected(http_server, open_stores):
    http_server.script(Reply(200, b'[{"IM_NAME": '))
    stores = open_stores(http_toml(http_server.url))
    summary = sync_calibration(stores, environ={})["cdb-http"]
    assert not summary.ingested and len(summary.rejected) == 1
    key, reason = summary.rejected[0]
    assert f"{key}.json" in reason
    assert SourceCursors(stores.cache, prefix=CURSOR_PREFIX).get("cdb-http") is None


def test_the_server_syncs_calibration_reports_with_the_status(open_stores):
    stores = open_stores()
    names = [job.__name__ for job, _ in scheduled_jobs(stores)]
    assert "_sync_calibration" in names and "_sync_status" in names

"""One poisoned document among good ones: nested 200,000 levels deep (JSON) or 100,000 (XML),
it is rejected with its reason, and the good ones go in during the same sync.

Before, one such status file raised RecursionError out of the status ingest and stopped
every scheduled sync (the drop folder, the CDB's PostgreSQL table and HTTP endpoint) until
someone removed it.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from analysis.limits import MAX_JSON_DEPTH, DocumentLimitError, json_depth, load_json
from analysis.operations import read_operations_message
from analysis.products.descriptor import MAX_DESCRIPTOR_CHARS, DescriptorError
from analysis.products.photometry import REQUIRED_COLUMNS, PhotometryError, parse_photometry_csv
from analysis.products.tsv import compile_product_tsv
from analysis.voevent import HostileVOEventError, parse_voevent
from data_access.alerts.receive import receive_operations_message, receive_packet
from data_access.alerts.trigger_files import AlertFolders, QuarantinedPacketError, spool_packet
from data_access.calibration.sources import sync_calibration
from data_access.cdb.sync import SourceCursors, sync_sources
from data_access.fits_frames import FrameError, open_frame
from data_access.products.sdb_client import SdbClient, SdbError
from data_access.telemetry.sources import DirectorySource, sync_status
from tests.analysis.test_voevent import make_packet
from tests.conftest import Reply
from tests.data_access.calibration import test_sources as test_calibration_sources
from tests.data_access.calibration.test_sources import report

DEEP = 200_000
open_stores = test_calibration_sources.open_stores  # the fixture: a workspace with a gic.toml
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def nested(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def poisoned_status(status_record, name: str = "poison") -> str:
    """A status document whose one record's value nests :data:`DEEP` levels deep."""
    return json.dumps([status_record(name)]).replace('"+12.5"', nested(), 1)


def deep_packet(depth: int = 100_000) -> bytes:
    return make_packet().replace(b"<Who>", b"<Who>" + b"<a>" * depth + b"</a>" * depth)


# -- the nesting check itself -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b'"[[["', 0),
        (b"[[]]", 2),
        (b'[{"a": [1, "]]"]}, 2]', 3),
        (rb'{"a\"[": "\\", "b": [[]]}', 3),
        ('["é", ["ü"]]', 2),
        ("[[]]".encode("utf-16"), 2),
        (nested().encode(), DEEP),
    ],
)
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_load_json_refuses_before_parsing_what_nests_too_deep():
    assert load_json(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    with pytest.raises(DocumentLimitError, match=f"nested {DEEP} levels deep, more than the 64"):
        load_json(nested())
    with pytest.raises(DocumentLimitError, match="3 bytes, more than the 2 allowed"):
        load_json(b"[1]", max_bytes=2)


# -- status documents: the drop folder, PostgreSQL, HTTP ----------------------------------
@pytest.mark.parametrize("poison", ["deep value", "deep document"])
def test_a_poisoned_status_file_among_good_ones_is_rejected_and_they_go_in(
    open_stores, status_record, poison
):
    stores = open_stores()
    drop = stores.workspace.status_drop_dir
    for n, name in enumerate(("a", "c", "d")):
        record = status_record(name, date=f"2024-03-01T00:0{n}:00")
        (drop / f"{name}.json").write_text(json.dumps([record]))
    text = poisoned_status(status_record) if poison == "deep value" else nested()
    (drop / "b.json").write_text(text)
    summary = sync_status(stores)["files"]
    assert sorted(path.rsplit("/", 1)[1] for path in summary.ingested) == [
        "a.json",
        "c.json",
        "d.json",
    ]
    [(key, reason)] = summary.rejected
    assert key.endswith("/b.json") and reason.startswith(str(drop / "b.json"))
    expected = "value of 400000 characters" if poison == "deep value" else "Expected OBJECT"
    assert expected in reason and len(reason) < 500
    assert sorted(stores.status.sensors()["name"]) == ["a", "c", "d"]
    again = sync_status(stores)["files"]  # the next sync: still refused, nothing stops
    assert [k for k, _ in again.rejected] == [key] and len(again.unchanged) == 3


@pytest.mark.service
def test_a_poisoned_postgres_row_is_rejected_and_the_rows_around_it_go_in(
    pg_database, open_stores, status_record
):
    with psycopg.connect(pg_database, autocommit=True) as con:
        # a text column: PostgreSQL itself refuses JSONB nested this deep
        con.execute("CREATE TABLE status (id bigint PRIMARY KEY, data text, date timestamptz)")
        con.cursor().executemany(
            sql.SQL("INSERT INTO status VALUES (%s, %s, %s)"),
            [
                (1, json.dumps([status_record("a")]), T0),
                (2, poisoned_status(status_record), T0 + timedelta(minutes=1)),
                (3, json.dumps([status_record("c")]), T0 + timedelta(minutes=2)),
            ],
        )
    stores = open_stores(f"[cdb.postgres]\ndsn = {json.dumps(pg_database)}\n")
    summary = sync_status(stores, environ={})["cdb-postgres"]
    assert sorted(summary.ingested) == ["status/1", "status/3"]
    [(key, reason)] = summary.rejected
    assert key == "status/2" and "status--2.json" in reason and "400000 characters" in reason


@pytest.mark.service
def test_a_poisoned_http_answer_is_rejected_and_the_other_sources_still_sync(
    http_server, open_stores, status_record
):
    good = json.dumps([status_record("h", date="2024-03-01T00:10:00")]).encode()
    http_server.script(Reply(200, poisoned_status(status_record).encode()), Reply(200, good))
    stores = open_stores(f'[cdb.http]\nurl = "{http_server.url}"\nretries = 0\n')
    (stores.workspace.status_drop_dir / "a.json").write_text(json.dumps([status_record("a")]))
    first = sync_status(stores, environ={})
    assert len(first["files"].ingested) == 1
    [(_, reason)] = first["cdb-http"].rejected
    assert "400000 characters" in reason and first["cdb-http"].ingested == []
    second = sync_status(stores, environ={})  # the cursor did not move: asked again
    assert len(second["cdb-http"].ingested) == 1
    assert sorted(stores.status.sensors()["name"]) == ["a", "h"]


class _Exhausted:
    """A source whose reading overflows the stack (what a parser without its check did)."""

    name = "deep"

    def collect(self, cursor):
        raise RecursionError("maximum recursion depth exceeded")


def test_a_source_that_still_overflows_does_not_stop_the_sources_after_it(
    open_stores, status_record
):
    stores = open_stores()
    drop = stores.workspace.status_drop_dir
    (drop / "a.json").write_text(json.dumps([status_record("a")]))
    builders = [("deep", _Exhausted), ("files", lambda: DirectorySource(drop))]
    results = sync_sources(builders, stores.status, SourceCursors(stores.cache))
    assert results["deep"] == "deep: a document exhausted the recursion limit"
    assert len(results["files"].ingested) == 1


# -- calibration reports ------------------------------------------------------------------
def test_a_deeply_nested_calibration_report_is_rejected_and_the_others_go_in(open_stores, tmp_path):
    stores = open_stores()
    deep = json.dumps(report("2025-03-02")).replace("{", '{"X": ' + nested() + ", ", 1)
    texts = {
        "a": json.dumps(report("2025-03-01")),
        "b": deep,
        "c": json.dumps(report("2025-03-03")),
    }
    files = [tmp_path / f"{name}.json" for name in texts]
    for path, text in zip(files, texts.values(), strict=True):
        path.write_text(text)
    summary = stores.calibration.ingest_reports(files)
    assert len(summary.ingested) == 2
    [(key, reason)] = summary.rejected
    assert key.endswith("b.json") and "not a report: JSON nested 200001 levels deep" in reason


@pytest.mark.service
def test_a_deep_calibration_answer_is_rejected_without_stopping_the_sync(http_server, open_stores):
    http_server.script(Reply(200, nested().encode()))
    stores = open_stores(f'[cdb.http]\ncalibration_url = "{http_server.url}"\nretries = 0\n')
    summary = sync_calibration(stores, environ={})["cdb-http"]
    [(_, reason)] = summary.rejected
    assert f"nested {DEEP} levels deep" in reason


# -- alerts: VOEvent packets and NATS operations messages ---------------------------------
def test_a_deeply_nested_voevent_is_quarantined_and_the_next_packet_is_stored(workspace):
    with pytest.raises(QuarantinedPacketError, match="more than 64 levels deep"):
        receive_packet(workspace, deep_packet(), source="comet")
    receipt = receive_packet(workspace, make_packet(), source="comet")
    assert receipt.record.burst_id == "sb26021102" and receipt.stored


def test_a_deep_voevent_in_the_spool_is_quarantined_and_the_good_ones_are_stored(open_stores):
    stores = open_stores()
    spool = AlertFolders.from_workspace(stores.workspace).spool
    moment = datetime(2026, 2, 11, 19, 30, tzinfo=UTC)
    spool_packet(spool, make_packet(), source="comet", received_at=moment)
    spool_packet(spool, deep_packet(), source="comet", received_at=moment + timedelta(seconds=1))
    other = make_packet("ivo://org.svom/fsc#sb26021103_x", burst_id="sb26021103")
    spool_packet(spool, other, source="comet", received_at=moment + timedelta(seconds=2))
    summary = stores.alerts.ingest_spool()
    assert len(summary.stored) == 2 and len(summary.quarantined) == 1
    assert not list(spool.glob("*.xml"))


def test_a_deep_operations_message_is_recorded_with_its_error_and_the_next_one_read(workspace):
    deep = receive_operations_message(workspace, "gic.ops", f'{{"a": {nested()}}}'.encode())
    assert deep.payload is None and "nested 200001 levels deep" in deep.error
    good = receive_operations_message(workspace, "gic.ops", b'{"burst_id": "sb26021102"}')
    assert good.error is None and good.burst_id == "sb26021102"


# -- every other parser of outside documents ----------------------------------------------
_CSV_HEADER = ",".join(REQUIRED_COLUMNS) + "\n"


def _fits_without_end(path):
    path.write_bytes(b"SIMPLE  =                    T".ljust(80) + b"COMMENT x".ljust(80) * 4000)
    return open_frame(path)


@pytest.mark.parametrize(
    ("parse", "error", "reason"),
    [
        (lambda _: parse_voevent(deep_packet(200)), HostileVOEventError, "more than 64 levels"),
        (
            lambda _: parse_photometry_csv(_CSV_HEADER + "x" * 200_000, source="p.csv"),
            PhotometryError,
            r"p.csv, line \d+: not CSV: field larger than field limit",
        ),
        (
            lambda _: parse_photometry_csv("x" * (17 << 20), source="p.csv"),
            PhotometryError,
            "p.csv: 17825792 bytes, more than the 16777216 allowed",
        ),
        (
            lambda _: compile_product_tsv("#" * (MAX_DESCRIPTOR_CHARS + 1), source="d.tsv"),
            DescriptorError,
            "d.tsv: 1048577 bytes, more than",
        ),
        (
            lambda tmp: _fits_without_end(tmp / "f.fits"),
            FrameError,
            "f.fits: no END card in the first 3600 cards",
        ),
    ],
)
def test_each_parser_refuses_its_poison_with_its_own_error(tmp_path, parse, error, reason):
    with pytest.raises(error, match=reason):
        parse(tmp_path)


def test_a_deep_operations_message_is_read_with_its_error():
    message = read_operations_message("gic.ops", nested().encode())
    assert message.payload is None and "nested 200000 levels deep" in message.error
    large = read_operations_message("gic.ops", b"x" * (2 << 20))
    assert "more than the 1048576 allowed" in large.error and len(large.text) < 3000


@pytest.mark.service
def test_a_deep_sdb_answer_is_an_sdb_error(http_server):
    http_server.script(Reply(200, f'{{"products": {nested()}}}'.encode()))
    with closing(SdbClient(http_server.url.rsplit("/", 1)[0], retries=0, timeout=2.0)) as client:
        with pytest.raises(SdbError, match="unexpected answer: JSON nested 200001 levels deep"):
            client.search("sb26021102")

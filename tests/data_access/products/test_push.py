"""Push and pull through the SDB import/export APIs, against the sandbox on a free port
(a real HTTP server in a thread), with injected failures."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from astropy.time import Time

from analysis.products import Burst
from data_access.config import SdbConfig
from data_access.products.files import fits_bytes, read_product_file
from data_access.products.sdb_client import SdbClient, SdbRejected, SdbUnavailable
from data_access.stores import Stores
from data_access.workspace import Workspace
from sandbox.sdb import SandboxServer

pytestmark = pytest.mark.service
BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


@pytest.fixture
def sandbox(tmp_path):
    try:
        server = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        from tests.conftest import service_unavailable

        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    yield server
    server.close()


def client_for(url: str, **options) -> SdbClient:
    return SdbClient(
        url,
        retries=options.pop("retries", 1),
        timeout=options.pop("timeout", 5.0),
        sleep=lambda s: None,
        **options,
    )


def test_a_push_answered_ok_is_marked_pushed_with_the_answer(approved, sandbox):
    products, dt = approved
    outcome = products.pushes.push(dt, client_for(sandbox.url), user="ana")
    assert outcome.pushed and outcome.answer["OK"] == "Product inserted."
    record = products.record(dt)
    assert record["state"] == "pushed" and record["push_answer"]["OK"] == "Product inserted."
    assert (sandbox.storage.root / "products" / BURST.burst_id / record["file_name"]).is_file()
    assert sandbox.storage.cards() == ["DT_GFT_FGFT"]
    again = products.pushes.push(dt, client_for(sandbox.url), user="bob")
    assert not again.pushed and again.state == "pushed"
    assert list(products.audit(product_id=dt)["action"]) == [
        "build",
        "approve",
        "push started",
        "push",
    ]


def test_http_500_then_a_retry_later(approved, sandbox):
    products, dt = approved
    sandbox.inject(("status", 500), ("status", 500))  # the card, then its one retry
    outcome = products.pushes.push(dt, client_for(sandbox.url, retries=1), user="ana")
    assert not outcome.pushed and "HTTP 500" in outcome.error and "after 2 attempt" in outcome.error
    record = products.record(dt)
    assert record["state"] == "push failed" and "HTTP 500" in record["push_answer"]["error"]
    assert products.pushes.push(dt, client_for(sandbox.url), user="ana").pushed
    assert products.record(dt)["state"] == "pushed"


def test_a_500_that_clears_within_the_retries_still_pushes(approved, sandbox):
    products, dt = approved
    sandbox.inject(("status", 503))
    assert products.pushes.push(dt, client_for(sandbox.url, retries=1), user="ana").pushed


def test_a_timeout_marks_push_failed(approved, sandbox):
    products, dt = approved
    sandbox.inject(("delay", 1.0))
    outcome = products.pushes.push(dt, client_for(sandbox.url, retries=0, timeout=0.2), user="ana")
    assert not outcome.pushed and "no answer within 0.2 s" in outcome.error
    assert products.record(dt)["state"] == "push failed"


def test_a_closed_connection_and_a_refused_one_mark_push_failed(approved, sandbox, closed_port_url):
    products, dt = approved
    sandbox.inject(("close", 0))
    outcome = products.pushes.push(dt, client_for(sandbox.url, retries=0), user="ana")
    assert not outcome.pushed and "cannot connect" in outcome.error
    refused = closed_port_url.rsplit("/", 1)[0]
    outcome = products.pushes.push(dt, client_for(refused, retries=1), user="ana")
    assert not outcome.pushed and "cannot connect" in outcome.error
    assert products.record(dt)["state"] == "push failed"


def test_the_sandbox_refuses_a_product_that_does_not_match_its_card(approved, sandbox, workspace):
    products, dt = approved
    path = products.path(dt)
    hdul = read_product_file(path)
    hdul[0].header["INSTRUME"] = "CAGIRE"
    path.write_bytes(fits_bytes(hdul))
    outcome = products.pushes.push(dt, client_for(sandbox.url), user="ana")
    assert not outcome.pushed and outcome.state == "push failed"
    assert any("INSTRUME" in d for d in outcome.answer["deviations"])
    assert (
        products.record(dt)["push_answer"]["answer"]["deviations"] == outcome.answer["deviations"]
    )


def test_two_concurrent_pushes_of_one_product_make_one_push(approved, sandbox):
    products, dt = approved
    sandbox.inject(("delay", 0.3))  # keeps the first push busy while the second arrives
    start = threading.Barrier(2)
    outcomes = []

    def push(user: str) -> None:
        start.wait()
        outcomes.append(products.pushes.push(dt, client_for(sandbox.url), user=user))

    threads = [threading.Thread(target=push, args=(user,)) for user in ("ana", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o.pushed for o in outcomes) == [False, True]
    assert [m for m, p in sandbox.requests if p == "/import/v0/a_product"] == ["POST"]
    assert products.record(dt)["state"] == "pushed"


def test_a_claim_left_by_a_dead_push_is_taken_over_after_the_claim_time(approved, sandbox, stores):
    products, dt = approved
    stores.cache.execute(
        "UPDATE product SET state = 'pushing', push_claimed_at = "
        "TIMESTAMP '2020-01-01 00:00:00' WHERE product_id = ?",
        [dt],
    )
    assert products.pushes.push(dt, client_for(sandbox.url), user="ana").pushed


def test_pull_and_coherence_between_two_workspaces(approved, sandbox, tmp_path):
    products, dt = approved
    client = client_for(sandbox.url)
    assert products.pushes.push(dt, client, user="ana").pushed
    sandbox.storage.put_file(
        "images", BURST.burst_id, "S_r_0001.fits", b"SIMPLE  = T" + b" " * 2869
    )
    coherence = products.transfers.coherence(BURST.burst_id, client).set_index("card")
    assert (
        coherence.loc["DT_GFT_FGFT", "where"] == "both"
        and coherence.loc["DT_GFT_FGFT", "problems"] == ""
    )
    assert coherence.loc["DT_GFT_FGFT", "status"] == "same"
    assert coherence.loc["LC_GFT_FGFT", "where"] == "workspace only"
    assert coherence.loc["LC_GFT_FGFT", "status"] == "not pushed yet"
    assert coherence.loc["LC_GFT_FGFT", "problems"] == ""

    other = Stores(Workspace.open(tmp_path / "elsewhere"))
    try:
        seen = []
        pulled = other.products.transfers.pull(
            BURST.burst_id, client, progress=lambda d, t: seen.append((d, t))
        )
        assert {(p.kind, p.status) for p in pulled} == {("products", "new"), ("images", "new")}
        assert seen[-1] == (2, 2)
        queue = other.products.queue(BURST.burst_id)
        assert list(queue["state"]) == ["pushed"] and list(queue["source"]) == ["pull"]
        assert {p.status for p in other.products.transfers.pull(BURST.burst_id, client)} == {"same"}
        path = other.products.path(int(queue["product_id"][0]))
        hdul = read_product_file(path)
        hdul[0].header["FCHART"] = "http://example.org/chart.png"
        del hdul[0].header["UPLIMIT"]
        path.write_bytes(fits_bytes(hdul))
        problems = other.products.transfers.coherence(BURST.burst_id, client)["problems"][0]
        assert "bytes differ" in problems and "only in the SDB: UPLIMIT" in problems
        assert "PrimaryHDU: 36 keywords in the workspace, 37 in the SDB" in problems
        assert other.products.transfers.coherence(BURST.burst_id, client)["status"][0] == (
            "conflict"
        )
    finally:
        other.close()


def test_the_sandbox_api(sandbox):
    spec = requests.get(sandbox.url + "/openapi.json", timeout=5).json()
    assert {"/import/v0/a_spjson", "/import/v0/a_product", "/export/v0/products"} <= set(
        spec["paths"]
    )
    answer = requests.post(
        sandbox.url + "/import/v0/a_spjson", files={"spjson": ("x.json", b"{}")}, timeout=5
    )
    assert answer.status_code == 400 and "not a product descriptor" in answer.json()["error"]
    answer = requests.post(
        sandbox.url + "/import/v0/a_product", files={"other": ("x", b"")}, timeout=5
    )
    assert answer.status_code == 400 and "form field 'product' missing" in answer.json()["error"]
    answer = requests.post(
        sandbox.url + "/import/v0/a_product", files={"product": ("x.fits", b"junk")}, timeout=5
    )
    assert answer.status_code == 400 and "not a readable FITS file" in answer.json()["error"]
    assert (
        requests.get(
            sandbox.url + "/export/v0/products/..%2F..%2Fetc/passwd", timeout=5
        ).status_code
        == 404
    )


def test_the_client_sends_the_token_and_builds_payloads_offline(tmp_path):
    client = SdbClient.from_config(
        SdbConfig(import_url="https://sdb.example", token_env="T"), environ={"T": "secret"}
    )
    payload = client._product_payload("DT_GFT_FGFT_sb1_v01.fits", b"abc")
    assert payload["url"] == "https://sdb.example/import/v0/a_product"
    assert payload["files"]["product"][0] == "DT_GFT_FGFT_sb1_v01.fits"
    assert client._card_payload("DT", b"{}")["files"]["spjson"][0] == "DT.json"
    assert client._session.headers["Authorization"] == "Bearer secret"
    with pytest.raises(ValueError, match="bare"):
        client._product_payload("../x.fits", b"")
    with pytest.raises(ValueError, match="http"):
        SdbClient("ftp://x")
    with SandboxServer(tmp_path / "sdb", token="secret") as server:
        with pytest.raises(SdbRejected, match="HTTP 401"):
            client_for(server.url).upload_card("DT", json.dumps({}).encode())
    with pytest.raises(SdbUnavailable):
        client_for(server.url, retries=0).search("sb1")


def test_coherence_tells_a_product_marked_pushed_but_missing_from_one_not_pushed_yet(
    approved, sandbox, stores
):
    products, dt = approved
    lc = int(products.queue(BURST.burst_id).set_index("card").loc["LC_GFT_FGFT", "product_id"])
    stores.cache.execute("UPDATE product SET state = 'pushed' WHERE product_id = ?", [lc])
    coherence = products.transfers.coherence(BURST.burst_id, client_for(sandbox.url))
    rows = coherence.set_index("card")
    assert (rows.loc["LC_GFT_FGFT", "status"], rows.loc["LC_GFT_FGFT", "problems"]) == (
        "conflict",
        "marked pushed but not in the SDB",
    )
    assert (rows.loc["DT_GFT_FGFT", "status"], rows.loc["DT_GFT_FGFT", "state"]) == (
        "not pushed yet",
        "approved",
    )
    assert set(coherence["status"]) == {"conflict", "not pushed yet"}

"""No secret reaches what a person sees: ``gic config --show``, the errors of the SDB client
and of the CDB's HTTP source, and the Products page's line about the SDB.

Each secret below is a distinct word, written in every form a URL or a DSN carries one."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from data_access.cdb.http import CdbHttpSource
from data_access.cdb.sync import StatusSourceError
from data_access.config import CdbHttpConfig
from data_access.products.sdb_client import SdbClient, SdbError
from tests.app import test_products_view
from tests.app.shown import shown_text
from tests.app.test_products_view import BOB, BURST, desk_for

SECRETS = {
    "dsn": "host=db user=gic password='dsn pw-1' dbname=cdb",
    "http_url": "https://gic:at@pw-2@cdb.example/status?since=0&token=tok-3",
    "calibration_url": "https://cdb.example/reports?API_KEY=key-4#access_token=frag-5",
    "export_url": "https://sdb:pw-6@sdb.example/?sig=sig-7",
    "nats_url": "nats://ops:pw@8@nats.example:4222",
    "oauth_extra": "client_secret=sec-9",
}
products, sandbox = test_products_view.products, test_products_view.sandbox  # the fixtures
WORDS = ["dsn pw-1", "pw-2", "at@pw", "tok-3", "key-4", "frag-5", "pw-6", "sig-7", "pw@8", "sec-9"]


def test_config_show_masks_every_secret_form(tmp_path, capsys):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "gic.toml").write_text(
        f"[cdb.postgres]\ndsn = {json.dumps(SECRETS['dsn'])}\n"
        f"[cdb.http]\nurl = {json.dumps(SECRETS['http_url'])}\n"
        f"calibration_url = {json.dumps(SECRETS['calibration_url'])}\n"
        f"[sdb]\nexport_url = {json.dumps(SECRETS['export_url'])}\n"
        f"[alerts.nats]\nurl = {json.dumps(SECRETS['nats_url'])}\n"
        f"[auth]\noauth_extra = [{json.dumps(SECRETS['oauth_extra'])}]\n"
    )
    assert main(["--workspace", str(root), "config", "--show", "--format", "json"]) == 0
    out = capsys.readouterr().out
    for word in WORDS:
        assert word not in out, word
    values = {r["setting"]: r["value"] for r in json.loads(out[out.index("\n") + 1 :])}
    assert values["cdb.postgres.dsn"] == "host=db user=gic password=*** dbname=cdb"
    assert values["cdb.http.url"] == "https://gic:***@cdb.example/status?since=0&token=***"
    assert values["cdb.http.calibration_url"] == (
        "https://cdb.example/reports?API_KEY=***#access_token=***"
    )
    assert values["sdb.export_url"] == "https://sdb:***@sdb.example/?sig=***"
    assert values["alerts.nats.url"] == "nats://ops:***@nats.example:4222"
    assert values["auth.oauth_extra"] == ["client_secret=***"]


def test_http_clients_name_their_url_without_its_secrets(closed_port_url, tmp_path):
    host = closed_port_url.removeprefix("http://").split("/")[0]
    url = f"http://gic:at@pw-2@{host}/status?token=tok-3"
    source = CdbHttpSource(CdbHttpConfig(url=url, retries=0, timeout_s=2.0), tmp_path)
    with pytest.raises(StatusSourceError) as failure:
        source.fetch(None)
    client = SdbClient(f"http://sdb:pw-6@{host}", retries=0, timeout=2.0)
    with pytest.raises(SdbError) as refused:
        client.search(BURST.burst_id)
    client.close()
    shown = f"{failure.value}\n{refused.value}\n{source!r}"
    assert f"http://gic:***@{host}/status?token=***" in shown and f"sdb:***@{host}" in shown
    for word in WORDS:
        assert word not in shown, word


def test_the_products_page_shows_the_sdb_url_without_its_password(products, sandbox):
    host = sandbox.url.removeprefix("http://")
    exchange = desk_for(products, BOB, f"http://sdb:pw-6@{host}").exchange
    assert exchange.check_sdb() == ""
    shown = shown_text(exchange.status())
    assert f"http://sdb:***@{host} answers" in shown and "pw-6" not in shown

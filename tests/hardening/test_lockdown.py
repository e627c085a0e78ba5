"""Locked down: roles enforced on the server side for calibration certification, sessions
that expire after ``[auth] session_days``, and secrets (SDB token, CDB password, Kafka
secret, NATS credentials) never printed by the error paths."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import panel as pn
import pytest
import requests
from tornado.web import create_signed_value

from app.auth import PermissionDenied
from app.views.calibration_master import CERTIFY_ROLE, MasterDetail
from data_access.users import UsersFile

REPO = Path(__file__).resolve().parents[2]


# -- roles ---------------------------------------------------------------------------------
@pytest.fixture
def users(tmp_path) -> UsersFile:
    users = UsersFile(tmp_path / "users.json")
    users.set("vera", "pw", ["viewer"])
    users.set("sam", "pw", ["scientist"])
    return users


def _detail(stores, users) -> MasterDetail:
    return MasterDetail(stores.calibration, report_id=1, comment="checked", users=users)


def test_a_viewer_may_not_certify_on_the_server_side(stores, users):
    assert CERTIFY_ROLE == "scientist"
    with mock.patch.object(type(pn.state), "user", new_callable=mock.PropertyMock) as user:
        user.return_value = "vera"
        detail = _detail(stores, users)
        with pytest.raises(PermissionDenied, match="vera may not certify.*scientist role"):
            detail.certify(True)
        detail._certify_clicked(True)  # what the button does: refused, and said
        assert detail.message.startswith("The certification failed: vera may not certify")
        user.return_value = "sam"  # a scientist gets past the role check to the store
        with pytest.raises(Exception, match="no calibration report with id 1"):
            _detail(stores, users).certify(True)
        user.return_value = "mallory"  # logged in, not in the users file: no role
        with pytest.raises(PermissionDenied):
            _detail(stores, users).certify(True)


def test_a_logged_in_session_without_the_users_file_is_refused_not_trusted(stores):
    """A page that forgot to pass the users file must not make everyone an approver."""
    with mock.patch.object(type(pn.state), "user", new_callable=mock.PropertyMock) as user:
        user.return_value = "sam"
        with pytest.raises(PermissionDenied):
            _detail(stores, None).certify(True)


# -- sessions ------------------------------------------------------------------------------
@pytest.mark.service
def test_the_login_cookie_expires_after_session_days_and_an_old_one_is_refused(served_with_login):
    url, stores = served_with_login
    days = stores.workspace.config.auth.session_days
    xsrf = requests.get(f"{url}/login", timeout=30).cookies["_xsrf"]  # the form's CSRF token
    answer = requests.post(
        f"{url}/login",
        data={"username": "alice", "password": "alice-pw", "_xsrf": xsrf},
        cookies={"_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code in (302, 303), answer.text[:200]
    cookie = next(c for c in answer.cookies if c.name == "user")
    assert cookie.expires is not None
    assert abs(cookie.expires - (time.time() + days * 86400)) < 120
    session = {"gic_session": answer.cookies["gic_session"]}
    cookies = {"user": cookie.value, **session}
    assert requests.get(url, cookies=cookies, timeout=30).url.rstrip("/") == url

    secret = stores.workspace.secret("cookie_secret")
    old = create_signed_value(
        secret, "user", "alice", clock=lambda: time.time() - (days + 1) * 86400
    )
    fresh = create_signed_value(secret, "user", "alice")
    forged = create_signed_value("not-the-secret", "user", "alice")
    for refused_cookies in (
        {"user": old.decode(), **session},
        {"user": forged.decode(), **session},
        {"user": fresh.decode()},
    ):
        refused = requests.get(url, cookies=refused_cookies, allow_redirects=False, timeout=30)
        assert refused.status_code in (302, 303) and "login" in refused.headers["Location"]
    accepted = requests.get(
        url, cookies={"user": fresh.decode(), **session}, allow_redirects=False, timeout=30
    )
    assert accepted.status_code == 200


# -- secrets -------------------------------------------------------------------------------
SECRETS = {
    "GIC_SDB_TOKEN": "sdb-token-9f8e7d",
    "GIC_CDB_PASSWORD": "cdb-password-6c5b4a",
    "GCN_KAFKA_CLIENT_SECRET": "kafka-secret-3f2e1d",
}
NATS_SEED = "SUAKNATSSEEDSECRET0123456789"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_secrets_never_reach_the_output_of_the_error_paths(tmp_path):
    port = _closed_port()
    root = tmp_path / "ws"
    creds = tmp_path / "nats.creds"
    creds.write_text(
        f"-----BEGIN USER NKEY SEED-----\n{NATS_SEED}\n------END USER NKEY SEED------\n"
    )
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(REPO), "GIC_WORKSPACE": str(root)}
    gic = [sys.executable, "-m", "app.cli", "--workspace", str(root)]
    subprocess.run([*gic, "config", "--show"], env=env, capture_output=True, timeout=60)
    config = root / "gic.toml"
    text = config.read_text()
    for old, new in {
        'dsn = ""': f'dsn = "host=127.0.0.1 port={port} dbname=cdb user=gic connect_timeout=2"',
        'url = ""': f'url = "http://gic:{SECRETS["GIC_CDB_PASSWORD"]}@127.0.0.1:{port}/status"',
        'import_url = "http://127.0.0.1:5080"': f'import_url = "http://127.0.0.1:{port}"',
        'export_url = "http://127.0.0.1:5080"': f'export_url = "http://127.0.0.1:{port}"',
        'client_id = ""': 'client_id = "gic-test"',
        'credentials_file = ""': f'credentials_file = "{creds}"',
    }.items():
        assert old in text, old
        text = text.replace(old, new, 1)  # the first: [cdb.http]'s url comes before [alerts.nats]'
    text = re.sub(r"(?m)^(backoff_s|retries) = .*$", lambda m: f"{m[1]} = 0", text)  # no waits
    config.write_text(text)
    runs = [
        [*gic, "config", "--show"],
        [*gic, "sync", "status"],
        [*gic, "products", "push", "--burst", "sb26030512"],
        [*gic, "products", "pull", "--burst", "sb26030512"],
    ]
    outputs = []
    for command in runs:
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        outputs.append(f"$ {' '.join(command[3:])} -> {run.returncode}\n{run.stdout}{run.stderr}")
    handler = subprocess.run(
        [sys.executable, "-m", "app.alert_handler"],
        input=b"<not xml",
        env=env,
        capture_output=True,
        timeout=60,
    )
    outputs.append((handler.stdout + handler.stderr).decode("utf-8", "replace"))
    everything = "\n".join(outputs)
    logs = "".join(p.read_text("utf-8", "replace") for p in root.rglob("*.log"))
    for secret in [*SECRETS.values(), NATS_SEED]:
        assert secret not in everything + logs, everything
    assert "sync status" in everything  # the commands did run (and failed) as planned

"""The password login under attack: a lockout that the log names, the same answer time for
known and unknown users, other requests served while a password hashes, the reflected
error escaped, and a login without its CSRF token refused."""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from pathlib import Path

import pytest
import requests

from app.auth import INVALID, LoginLimiter
from data_access.users import UsersFile
from tests.conftest import _serve_demo_copy

pytestmark = pytest.mark.service

PASSWORDS = {"alice": "alice-pw"}


def _login_workspace(settings: dict[str, str]):
    """``prepare`` for a served demo copy: a users file, and these ``[auth]`` settings."""

    def prepare(root: Path) -> None:
        config = root / "gic.toml"
        text = config.read_text().replace('users_file = ""', 'users_file = "users.json"')
        for key, value in settings.items():
            text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
            assert count == 1, key
        config.write_text(text)
        for name, password in PASSWORDS.items():
            UsersFile(root / "users.json").set(name, password, ["approver"])

    return prepare


@pytest.fixture(scope="module")
def strict(tmp_path_factory, demo_root):
    """A server with the default lockout (5 failures in 5 min lock for 15 min)."""
    root = tmp_path_factory.mktemp("strict") / "ws"
    yield from _serve_demo_copy(root, demo_root, _login_workspace({}))


@pytest.fixture(scope="module")
def lenient(tmp_path_factory, demo_root):
    """A server that never locks, for the tests that fail many logins on purpose."""
    root = tmp_path_factory.mktemp("lenient") / "ws"
    yield from _serve_demo_copy(root, demo_root, _login_workspace({"login_max_failures": "0"}))


def post_login(url: str, name: str, password: str) -> requests.Response:
    """Log in as a browser does: the form (with its CSRF token and cookie), then the POST."""
    with requests.Session() as browser:
        browser.get(f"{url}/login", timeout=30).raise_for_status()
        token = browser.cookies["_xsrf"]
        return browser.post(
            f"{url}/login",
            timeout=60,
            allow_redirects=False,
            data={"username": name, "password": password, "_xsrf": token},
        )


# -- the lockout -----------------------------------------------------------------------------
def test_five_failures_lock_the_user_even_with_the_right_password_and_the_log_says(strict, caplog):
    url, _ = strict
    caplog.set_level(logging.WARNING, logger="gic.auth")
    for _ in range(5):
        assert post_login(url, "alice", "guess").status_code == 401
    refused = post_login(url, "alice", PASSWORDS["alice"])
    assert refused.status_code == 429 and "locked for 15 min" in refused.text
    assert "user" not in refused.cookies and "gic_session" not in refused.cookies
    lines = [r.getMessage() for r in caplog.records if r.name == "gic.auth"]
    assert lines.count("login failed: user 'alice' from 127.0.0.1") == 5, lines
    assert any(line.startswith("login locked for 15 min: user 'alice' after 5") for line in lines)
    assert any(line.startswith("login locked for 15 min: address '127.0.0.1'") for line in lines)
    assert "login refused while locked: user 'alice' from 127.0.0.1" in lines


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_counts_users_and_addresses_apart_and_forgets_in_time():
    clock = Clock()
    limiter = LoginLimiter(max_failures=3, window_s=300, lockout_s=900, clock=clock)
    for name in ("a", "b", "c"):  # one address guessing three users: the address is locked
        limiter.failed(name, "10.0.0.1")
    assert limiter.locked_for("d", "10.0.0.1") == 900 and limiter.locked_for("a", "10.0.0.2") == 0
    for address in ("10.0.0.2", "10.0.0.3"):  # a user guessed from many addresses: locked
        limiter.failed("e", address)
        clock.now += 200
    limiter.failed("e", "10.0.0.4")  # the first failure is out of the 5-min window by now
    assert limiter.locked_for("e", "10.0.0.5") == 0
    limiter.failed("e", "10.0.0.6")
    assert limiter.locked_for("e", "10.0.0.5") == 900
    clock.now += 900
    assert limiter.locked_for("e", "10.0.0.5") == 0 and limiter.locked_for("d", "10.0.0.1") == 0
    limiter.failed("f", "10.0.0.7")
    limiter.failed("f", "10.0.0.7")
    limiter.succeeded("f")  # a success clears the user's count, not the address's
    limiter.failed("f", "10.0.0.7")
    assert limiter.locked_for("f", "10.0.0.8") == 0 and limiter.locked_for("g", "10.0.0.7") > 0
    never = LoginLimiter(max_failures=0, window_s=300, lockout_s=900, clock=clock)
    for _ in range(20):
        never.failed("h", "10.0.0.9")
    assert never.locked_for("h", "10.0.0.9") == 0


# -- timing, and the event loop --------------------------------------------------------------
def _answer_time(url: str, name: str) -> float:
    with requests.Session() as browser:
        browser.get(f"{url}/login", timeout=30)
        data = {"username": name, "password": "not-the-password", "_xsrf": browser.cookies["_xsrf"]}
        start = time.perf_counter()
        answer = browser.post(f"{url}/login", data=data, timeout=60, allow_redirects=False)
        elapsed = time.perf_counter() - start
    assert answer.status_code == 401 and INVALID in answer.text
    return elapsed


def test_a_known_and_an_unknown_user_take_as_long(lenient):
    url, _ = lenient
    _answer_time(url, "alice"), _answer_time(url, "nobody")  # the dummy hash made once
    known, unknown = [], []
    for _ in range(4):
        known.append(_answer_time(url, "alice"))
        unknown.append(_answer_time(url, "nobody"))
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2, (known, unknown)


def test_other_requests_are_answered_while_a_password_hashes(lenient, monkeypatch):
    """The hash is held until the other requests are answered: were it on the event loop,
    they could not be, and they would time out."""
    url, _ = lenient
    hashing, answered = threading.Event(), threading.Event()
    authenticate = UsersFile.authenticate

    def held(self, name, password):
        hashing.set()
        answered.wait(30)
        return authenticate(self, name, password)

    monkeypatch.setattr(UsersFile, "authenticate", held)
    order: list[str] = []
    login = threading.Thread(
        target=lambda: order.append(f"login {post_login(url, 'alice', 'guess').status_code}")
    )
    login.start()
    assert hashing.wait(30), "the login never reached the hash"
    page = requests.get(f"{url}/login", timeout=10)
    static = requests.get(f"{url}/static/js/bokeh.min.js", timeout=10)
    order.append(f"others {page.status_code} {static.status_code}")
    answered.set()
    login.join(60)
    assert order == ["others 200 200", "login 401"]


# -- the page itself ---------------------------------------------------------------------------
def test_the_reflected_error_is_escaped(lenient):
    url, _ = lenient
    payload = '<img src=x onerror="alert(1)">'
    page = requests.get(f"{url}/login", params={"error": payload}, timeout=30)
    assert page.status_code == 200 and "<img" not in page.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text


def test_a_login_without_its_csrf_token_is_refused(lenient):
    url, _ = lenient
    credentials = {"username": "alice", "password": PASSWORDS["alice"]}
    with requests.Session() as browser:
        browser.get(f"{url}/login", timeout=30)
        token = browser.cookies["_xsrf"]
        for data, cookies in [
            (credentials, {}),  # no token at all
            ({**credentials, "_xsrf": token}, {"_xsrf": ""}),  # no cookie
            ({**credentials, "_xsrf": "2|00|00|0"}, {}),
        ]:  # not the cookie's
            refused = browser.post(
                f"{url}/login",
                data=data,
                cookies=cookies or None,
                timeout=30,
                allow_redirects=False,
            )
            assert refused.status_code == 403 and "gic_session" not in refused.cookies
        accepted = browser.post(
            f"{url}/login", data={**credentials, "_xsrf": token}, timeout=60, allow_redirects=False
        )
    assert accepted.status_code == 302 and "gic_session" in accepted.cookies

"""The server's HTTP protections (app/web_security.py): the headers on every response, the
page's scripts allowed by a nonce, the cookies' flags, XSRF, no cookie in the page's session
token, the component route closed to other modules, and a burst of pages admitted without
holding the other requests, each build after what else the event loop has ready."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from types import SimpleNamespace

import pytest
import requests
from bokeh.util.token import get_token_payload
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from app.web_security import (
    MAX_WAITING_PAGES,
    SecurityHeaders,
    _Admission,
    after_ready_work,
    component_module_allowed,
    page_client,
    with_cookie_flags,
    with_script_nonce,
)
from tests.conftest import LOGIN_USERS

pytestmark = pytest.mark.service

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NONCE = re.compile(r"'nonce-([\w-]+)'")


def logged_in(url: str, name: str = "bob") -> requests.Session:
    """A client logged in as one of the test users, as a browser does (form, token, POST)."""
    client = requests.Session()
    client.get(f"{url}/login", timeout=30).raise_for_status()
    answer = client.post(
        f"{url}/login",
        timeout=60,
        data={"username": name, "password": LOGIN_USERS[name][0], "_xsrf": client.cookies["_xsrf"]},
    )
    answer.raise_for_status()
    return client


def assert_protected(answer: requests.Response) -> None:
    """The policy and headers every response of the server carries."""
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (answer.url, name)
    policy = dict(
        part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    scripts = NONCE.sub("", policy["script-src"]).split()
    assert scripts == ["'self'", "'unsafe-eval'"], policy["script-src"]  # no inline, no origin
    assert policy["default-src"] == "'self'"


@pytest.fixture(scope="module")
def bob(served_with_login):
    url, _ = served_with_login
    with logged_in(url) as client:
        yield url, client


def test_every_kind_of_response_carries_the_policy_and_headers(bob):
    url, client = bob
    answers = {
        "page": client.get(f"{url}/telemetry", timeout=60),
        "login page": requests.get(f"{url}/login", timeout=30),
        "sent to the login": requests.get(f"{url}/products", timeout=30, allow_redirects=False),
        "static file": client.get(f"{url}/static/js/bokeh.min.js", timeout=30),
        "panel's static file": client.get(
            f"{url}/static/extensions/panel/css/loading.css", timeout=30
        ),
        "not found": client.get(f"{url}/no-such-page", timeout=30),
        "favicon": client.get(f"{url}/favicon.ico", timeout=30),
    }
    expected = {
        "page": 200,
        "login page": 200,
        "sent to the login": 302,
        "static file": 200,
        "panel's static file": 200,
        "not found": 404,
        "favicon": 200,
    }
    assert {kind: answer.status_code for kind, answer in answers.items()} == expected
    for answer in answers.values():
        assert_protected(answer)


def test_a_page_runs_only_the_scripts_that_carry_its_own_nonce(bob):
    url, client = bob
    first, second = (client.get(f"{url}/telemetry", timeout=60) for _ in range(2))
    nonces = [NONCE.search(a.headers["Content-Security-Policy"])[1] for a in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22
    tags = re.findall(r"<script\b[^>]*>", first.text)
    assert tags and all(f'nonce="{nonces[0]}"' in tag for tag in tags)
    assert int(first.headers["Content-Length"]) == len(first.content)
    assert "onerror=" not in first.text and "javascript:" not in first.text


def test_with_script_nonce_marks_every_script_element_and_nothing_else():
    html = b'<SCRIPT src="a.js"></SCRIPT><script>go()</script><scripts><p>script</p>'
    assert with_script_nonce(html, "abc") == (
        b'<script nonce="abc" src="a.js"></SCRIPT><script nonce="abc">go()</script>'
        b"<scripts><p>script</p>"
    )


def test_every_cookie_of_the_login_is_samesite_lax_and_not_secure_without_tls(served_with_login):
    url, _ = served_with_login
    with requests.Session() as client:
        form = client.get(f"{url}/login", timeout=30)
        answer = client.post(
            f"{url}/login",
            timeout=60,
            allow_redirects=False,
            data={"username": "bob", "password": "bob-pw", "_xsrf": client.cookies["_xsrf"]},
        )
    cookies = [*form.raw.headers.getlist("Set-Cookie"), *answer.raw.headers.getlist("Set-Cookie")]
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert {"_xsrf", "user", "gic_session"} <= names, names
    for cookie in cookies:
        assert "; SameSite=Lax" in cookie and "Secure" not in cookie, cookie


def test_behind_tls_cookies_are_secure_and_hsts_is_sent():
    request = HTTPServerRequest(start_line=RequestStartLine("GET", "/login", "HTTP/1.0"))
    transform = SecurityHeaders(request, behind_tls=True)
    _, headers, _ = transform.transform_first_chunk(200, HTTPHeaders(), b"", True)
    headers.add("Set-Cookie", "user=x; HttpOnly; Path=/")
    headers.add("Set-Cookie", "other=y; SameSite=Strict; Secure")
    assert headers.get_list("Set-Cookie") == [
        "user=x; HttpOnly; Path=/; SameSite=Lax; Secure",
        "other=y; SameSite=Strict; Secure",
    ]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert with_cookie_flags("a=b", secure=False) == "a=b; SameSite=Lax"


def test_the_page_token_carries_no_cookie(bob):
    """The page's scripts can read its session token: no login cookie may be in it (the
    session takes them from the request, on the server: the browser tests log in as a
    viewer and an approver and see their roles)."""
    url, client = bob
    page = client.get(f"{url}/products", timeout=60)
    payload = get_token_payload(re.search(r'"token":"([^"]+)"', page.text)[1])
    assert payload["cookies"] == {}
    assert not {"Cookie", "Authorization"} & set(payload["headers"])
    assert {"user", "gic_session", "_xsrf"} <= set(client.cookies.keys())
    for value in client.cookies.values():
        assert value not in page.text


def test_a_post_without_its_xsrf_token_is_refused(bob):
    url, client = bob
    assert client.post(f"{url}/telemetry", timeout=30).status_code == 403
    assert (
        requests.post(
            f"{url}/login", timeout=30, data={"username": "bob", "password": "bob-pw"}
        ).status_code
        == 403
    )


# -- the component route ----------------------------------------------------------------------
def test_the_component_route_serves_panels_own_components(bob):
    url, _ = bob
    css = "/components/panel.template.bootstrap/BootstrapTemplate/_css/bootstrap.css"
    answer = requests.get(url + css, timeout=30)
    assert answer.status_code == 200 and "text/css" in answer.headers["Content-Type"]
    assert_protected(answer)


def test_the_component_route_imports_no_module(bob, tmp_path, monkeypatch):
    url, _ = bob
    marker = tmp_path / "imported"
    (tmp_path / "gic_side_effect.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Widget:\n    __css__ = ['x.css']\n"
    )
    (tmp_path / "x.css").write_text("body {}")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("gic_side_effect", "os", "subprocess", "app.not_a_module", "panel.tests"):
        answer = requests.get(f"{url}/components/{module}/Widget/__css__/x.css", timeout=30)
        assert answer.status_code == 404, module
        assert_protected(answer)
    assert not marker.exists()
    assert "gic_side_effect" not in sys.modules and "panel.tests" not in sys.modules


def test_component_modules_are_panel_bokeh_and_the_workbench_already_loaded():
    assert component_module_allowed("panel.template.bootstrap")
    assert component_module_allowed("bokeh.models")
    assert component_module_allowed("app.web_security")
    assert not component_module_allowed("os")
    assert not component_module_allowed("panelx")
    assert not component_module_allowed("app.not_a_module")


# -- a burst of pages -------------------------------------------------------------------------
def test_a_burst_of_pages_is_admitted_without_holding_the_other_requests(served_workbench):
    """More pages at once than one client may have waiting: the excess is told to come back
    (429 with Retry-After), and a small request sent while the others build is answered
    before the last of them."""
    url, _ = served_workbench
    count = MAX_WAITING_PAGES + 4
    answers: list[tuple[str, int, dict]] = []
    lock, first_page = threading.Lock(), threading.Event()
    start = threading.Barrier(count)

    def fetch(kind: str, path: str) -> None:
        if kind == "page":
            start.wait()
        answer = requests.get(url + path, timeout=300)
        with lock:
            answers.append((kind, answer.status_code, dict(answer.headers)))
        if kind == "page" and answer.status_code == 200:
            first_page.set()

    pages = [threading.Thread(target=fetch, args=("page", "/")) for _ in range(count)]
    for thread in pages:
        thread.start()
    assert first_page.wait(timeout=300), "no page was built"
    fetch("small", "/favicon.ico")
    for thread in pages:
        thread.join(timeout=300)
    statuses = [status for kind, status, _ in answers if kind == "page"]
    assert len(statuses) == count and set(statuses) == {200, 429}, statuses
    assert all(h["Retry-After"].isdigit() for _, status, h in answers if status == 429)
    order = [kind for kind, status, _ in answers if status == 200]
    assert len(order) - 1 - order.index("small") >= 2, order  # not held until the last pages


def test_a_page_build_waits_for_the_steps_already_ready_on_the_loop():
    """Page builds in turn hold the event loop; a chain of short steps (a websocket's
    acknowledgement, the document's request, its reply written part by part) started
    alongside is finished before the second build starts, not one step per build."""
    events: list[str] = []

    async def build(name: str) -> None:  # a document's build: it never yields
        events.append(f"{name} built")

    async def chain(steps: int) -> None:
        for _ in range(steps):
            await asyncio.sleep(0)
        events.append("chain done")

    async def scenario() -> None:
        admission = _Admission()
        await asyncio.gather(
            admission.build(build("first")),
            admission.build(build("second")),
            chain(30),
            admission.build(build("third")),
        )

    asyncio.run(scenario())
    assert events.index("chain done") < events.index("second built"), events
    assert [e for e in events if e != "chain done"] == [
        "first built",
        "second built",
        "third built",
    ]


def test_a_page_build_starts_anyway_when_the_loop_is_never_idle():
    """Work that is always ready (a task yielding in a loop) delays a build by at most
    :data:`MAX_YIELDS_BEFORE_BUILD` turns of the loop, never for ever."""

    async def scenario() -> int:
        stop, turns = asyncio.Event(), 0

        async def busy() -> None:
            nonlocal turns
            while not stop.is_set():
                turns += 1
                await asyncio.sleep(0)

        spinner = asyncio.create_task(busy())
        await after_ready_work(max_yields=50)
        stop.set()
        await spinner
        return turns

    assert 40 <= asyncio.run(scenario()) <= 60


def test_without_a_login_each_address_has_its_own_quota_of_pages():
    """Bokeh calls every visitor of a server without login ``default_user``: the quota of
    waiting pages counts them by address then, and by user name behind a login."""

    def handler(address: str, user: str, *, login: bool) -> SimpleNamespace:
        provider = SimpleNamespace(
            get_user=(lambda _: user) if login else None, get_user_async=None
        )
        return SimpleNamespace(
            application=SimpleNamespace(auth_provider=provider),
            request=SimpleNamespace(remote_ip=address),
            current_user=user,
        )

    anonymous = {
        page_client(handler(a, "default_user", login=False)) for a in ("10.0.0.1", "10.0.0.2")
    }
    assert len(anonymous) == 2
    logged_in = {page_client(handler(a, "bob", login=True)) for a in ("10.0.0.1", "10.0.0.2")}
    assert len(logged_in) == 1
    assert page_client(handler("10.0.0.1", "alice", login=True)) not in logged_in

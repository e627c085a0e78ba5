"""The crafted-link attack, replayed: an approver logged in to the workbench opens a page
that loads the Products page in a frame and clicks Approve. The frame is refused (the
policy's ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), so nothing is approved,
whether the framing page comes from another site (whose frame does not even carry the
login: the cookies are ``SameSite=Lax``, and the login page is refused too) or is a
workbench page running a script it was given. A workbench page's own plots still work under the policy, and an inline
event handler slipped into one does not run."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in, service_unavailable
from tests.ui.bokeh_js import GLYPHS_DRAWN
from tests.ui.test_products_page import new_product

pytestmark = pytest.mark.ui

#: What Chromium says, on the framing page's console, when it refuses a frame.
REFUSED = "violates the following Content Security Policy directive: \"frame-ancestors 'none'\""

FRAMING_PAGE = """<!DOCTYPE html>
<html><body>
<h1>Your telescope's night report</h1>
<iframe id="bait" src="{target}" width="1200" height="900" style="opacity:0.05"></iframe>
</body></html>
"""

#: A script given to a workbench page: frame the Products page, click its Approve button.
FRAME_AND_APPROVE = """(target) => {
  const frame = document.createElement("iframe");
  frame.id = "bait";
  frame.src = target;
  frame.onload = () => {
    const button = [...(frame.contentDocument?.querySelectorAll("button") ?? [])]
      .find((b) => b.textContent.trim() === "Approve");
    if (button) button.click();
  };
  document.body.appendChild(frame);
}"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the http.server spelling
        return


@pytest.fixture
def other_site(tmp_path):
    """``serve(html) -> url``: a page served by a plain HTTP server on another loopback port
    (another site than the workbench's ``localhost``)."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    except OSError as exc:
        service_unavailable(f"a local HTTP server cannot start: {exc}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def serve(html: str) -> str:
        (tmp_path / "report.html").write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{httpd.server_address[1]}/report.html"

    yield serve
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def alice(browser, served_with_login):
    """One browser page logged in as the approver alice, for the whole module."""
    url, _ = served_with_login
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, url, "alice")
    expect(page.get_by_role("link", name="Products").first).to_be_visible(timeout=30000)
    yield page
    context.close()


@pytest.fixture
def approver(alice, served_with_login):
    """Alice's page, the stores, a product waiting for review and its URL."""
    url, stores = served_with_login
    burst_id, product_id = new_product(stores)
    yield alice, stores, product_id, f"{url}/products?burst={burst_id}&product={product_id}"


def refused(message) -> bool:
    return REFUSED in message.text


def assert_nothing_approved(page, stores, product_id: int) -> None:
    """No Approve button reachable in the frame (what the deceived click would press), and
    the product untouched in the store."""
    approve = page.frame_locator("#bait").get_by_role("button", name="Approve", exact=True)
    expect(approve).to_have_count(0)
    assert stores.products.record(product_id)["state"] == "new"
    assert "approve" not in set(stores.products.audit(product_id=product_id)["action"])


def test_a_page_of_another_site_cannot_frame_the_products_page(approver, other_site):
    page, stores, product_id, target = approver
    with page.expect_console_message(refused, timeout=30000):
        page.goto(other_site(FRAMING_PAGE.format(target=target.replace("&", "&amp;"))))
    expect(page.get_by_text("night report")).to_be_visible()
    assert_nothing_approved(page, stores, product_id)


def test_a_script_in_a_workbench_page_cannot_frame_the_products_page(approver):
    page, stores, product_id, target = approver
    page.goto(target.split("/products")[0] + "/")
    expect(page.get_by_role("link", name="Products").first).to_be_visible(timeout=30000)
    with page.expect_console_message(refused, timeout=30000):
        page.evaluate(FRAME_AND_APPROVE, target)
    assert_nothing_approved(page, stores, product_id)


def test_pages_work_under_the_policy_and_an_inline_handler_does_not_run(approver):
    page, _, _, target = approver
    violations: list[str] = []

    def note(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", note)
    page.goto(target.split("/products")[0] + "/bias")
    page.wait_for_function(f"({GLYPHS_DRAWN})().some(([kind, n]) => n > 0)", timeout=60000)
    page.remove_listener("console", note)
    assert violations == []  # every script Bokeh and Panel need ran
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => document.body.insertAdjacentHTML(
            "beforeend", '<img src="/no-such-image" onerror="window.handlerRan = true">')""")
    assert page.evaluate("() => window.handlerRan") is None

"""The login: pages ask for it when a users file is set, and the login page needs no CDN."""

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import log_in

pytestmark = pytest.mark.ui


def test_pages_need_a_login(served_with_login, page):
    url, _ = served_with_login
    page.goto(url + "/telemetry")
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=20000)
    assert page.external_requests == []


def test_wrong_password_is_refused(served_with_login, page):
    url, _ = served_with_login
    page.goto(url + "/login")
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Invalid username or password")).to_be_visible(timeout=20000)


def test_right_password_opens_the_workbench(served_with_login, page):
    url, _ = served_with_login
    log_in(page, url, "alice")
    expect(page.get_by_role("link", name="Telemetry").first).to_be_visible(timeout=30000)
    assert page.external_requests == []


def _sees_the_login(page, url: str, path: str = "/telemetry") -> None:
    page.goto(url + path)
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=20000)


def test_a_cookie_copied_before_logout_opens_nothing_after_it(served_with_login, browser, page):
    url, _ = served_with_login
    log_in(page, url, "bob")
    expect(page.get_by_role("link", name="Telemetry").first).to_be_visible(timeout=30000)
    copied = page.context.cookies()
    assert {"user", "gic_session"} <= {c["name"] for c in copied}
    page.goto(url + "/logout")
    thief = browser.new_context()
    try:
        thief.add_cookies(copied)
        _sees_the_login(thief.new_page(), url)
    finally:
        thief.close()


def test_a_user_removed_while_logged_in_is_sent_to_the_login(served_with_login, page):
    url, stores = served_with_login
    stores.users.set("carol", "carol-pw", ["scientist"])
    page.goto(url + "/login")
    page.get_by_label("User").fill("carol")
    page.get_by_label("Password").fill("carol-pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Telemetry").first).to_be_visible(timeout=30000)
    stores.users.remove("carol")
    _sees_the_login(page, url)


def test_the_reflected_error_is_text_and_runs_nothing(served_with_login, page):
    url, _ = served_with_login
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message) or dialog.dismiss())
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    page.goto(url + "/login?error=" + quote(payload))
    expect(page.get_by_text(payload)).to_be_visible(timeout=20000)
    assert dialogs == [] and page.locator("form img").count() == 0

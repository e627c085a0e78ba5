"""The login: pages ask for it when a users file is set, and the login page needs no CDN."""

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

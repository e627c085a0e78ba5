"""Crafted links in a real browser: a burst, a sensor or a folder named by a URL parameter is
shown as text, and nothing of it runs (no dialog, no image made of it, no console error)."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

#: An image whose failing load would open a dialog: it must stay text.
PAYLOAD = "<img src=gic-xss onerror=alert('gic-xss')>"

LINKS = {
    "products": (f"/products?burst={quote(PAYLOAD)}", f"burst {PAYLOAD} has no light curve"),
    "telemetry": (f"/telemetry?sensors={quote(json.dumps([PAYLOAD]))}", PAYLOAD),
    "reprocess": (f"/reprocess?folder={quote(PAYLOAD)}", f"'{PAYLOAD}' is not one of"),
}


@pytest.mark.parametrize("link", LINKS.values(), ids=LINKS.keys())
def test_a_crafted_link_shows_its_payload_as_text(served_workbench, page, link):
    url, _ = served_workbench
    path, shown = link
    dialogs, console, loads = [], [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    page.on(
        "request",
        lambda request: (
            urlsplit(request.url).path.endswith("/gic-xss") and loads.append(request.url)
        ),
    )  # an <img> made of the payload
    page.goto(url + path)
    expect(page.get_by_text(shown).first).to_be_visible(timeout=30000)
    page.wait_for_timeout(500)  # time for a handler to fire, were there one
    assert dialogs == [] and loads == []
    assert not [text for text in console if "gic-xss" in text]
    assert page.external_requests == []

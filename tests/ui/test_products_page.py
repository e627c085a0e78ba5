"""The Products page in a browser: an approver approves and pushes a product to the SDB
sandbox (after a confirmation naming it and the SDB) and sees its state change and the
SDB's answer in words; a viewer sees the review buttons disabled and why; the queue is in
the sidebar as on the other pages."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.sync_api import expect

from sandbox.sdb import SandboxServer
from tests.conftest import log_in, service_unavailable

pytestmark = pytest.mark.ui


@pytest.fixture
def served_with_sdb(served_with_login, tmp_path):
    """The served workbench (login on) with its ``[sdb]`` URLs pointed at a sandbox on a free
    port for this test; the served stores' workspace settings are restored afterwards."""
    url, stores = served_with_login
    try:
        sandbox = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    original = stores.workspace
    sdb = replace(
        original.config.sdb,
        import_url=sandbox.url,
        export_url=sandbox.url,
        retries=0,
        timeout_s=10.0,
    )
    stores.workspace = replace(original, config=replace(original.config, sdb=sdb))
    yield url, stores, sandbox
    stores.workspace = original
    sandbox.close()


def new_product(stores) -> tuple[str, int]:
    """A burst and one of its products still new, without deviations."""
    queue = stores.products.queue()
    waiting = queue[(queue["state"] == "new") & (queue["n_deviations"] == 0)]
    assert len(waiting), "the demo leaves products to review"
    row = waiting.iloc[0]
    return str(row["burst_id"]), int(row["product_id"])


def open_product(page, url: str, user: str, burst_id: str, product_id: int) -> None:
    log_in(page, url, user)
    expect(page.get_by_role("link", name="Products").first).to_be_visible(timeout=30000)
    page.goto(f"{url}/products?burst={burst_id}&product={product_id}")


def test_an_approver_approves_and_pushes_and_sees_the_state_change(served_with_sdb, page):
    url, stores, sandbox = served_with_sdb
    burst_id, product_id = new_product(stores)
    file_name = stores.products.record(product_id)["file_name"]
    open_product(page, url, "alice", burst_id, product_id)
    state = page.locator(".product-state")
    expect(state).to_have_text("new", timeout=30000)
    expect(page.get_by_text(f"The SDB at {sandbox.url} answers.").first).to_be_visible()
    comment = page.get_by_placeholder("why")
    comment.fill("checked the light curve")
    comment.press("Enter")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(state).to_have_text("approved", timeout=20000)
    page.get_by_role("button", name="Push", exact=True).click()
    question = page.locator(".push-confirmation")
    expect(question).to_contain_text(
        f"Push 1 product(s) ({file_name}) to the SDB at {sandbox.url}", timeout=20000
    )
    assert stores.products.record(product_id)["state"] == "approved"  # nothing sent yet
    question.get_by_role("button", name="Yes, push to the SDB").click()
    expect(state).to_have_text("pushed", timeout=30000)
    said = f"{file_name} pushed by alice; the SDB answered: Product inserted."
    expect(page.get_by_text(said).first).to_be_visible(timeout=30000)
    expect(page.get_by_text("{'OK'")).to_have_count(0)
    expect(question).to_be_hidden(timeout=20000)
    assert stores.products.record(product_id)["state"] == "pushed"
    audit = stores.products.audit(product_id=product_id).set_index("action")
    assert audit.loc["approve", "user_name"] == "alice"
    assert audit.loc["approve", "comment"] == "checked the light curve"
    assert audit.loc["push", "user_name"] == "alice"
    assert (sandbox.storage.root / "products" / burst_id / file_name).is_file()
    assert page.external_requests == []


def test_a_viewer_cannot_approve_or_push(served_with_sdb, page):
    url, stores, _ = served_with_sdb
    burst_id, product_id = new_product(stores)
    open_product(page, url, "bob", burst_id, product_id)
    expect(page.locator(".product-state")).to_have_text("new", timeout=30000)
    expect(page.get_by_text("pushing needs the approver role").first).to_be_visible()
    for label in ("Approve", "Reject", "Push"):
        expect(page.get_by_role("button", name=label, exact=True)).to_be_disabled()
    why = page.locator(".review-why-not")
    expect(why).to_contain_text(
        "Push is unavailable: needs the approver role (bob has viewer)", timeout=20000
    )
    expect(page.locator("#sidebar").get_by_text("Bursts with products")).to_be_visible()
    assert stores.products.record(product_id)["state"] == "new"
    assert page.external_requests == []

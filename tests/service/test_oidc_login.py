"""The OAuth/OIDC login for real: Chromium logs in through a local OIDC provider
(``oidc-provider-mock`` on loopback) to the workbench served with ``auth.oauth_provider =
"generic"``. The users file gives the provider's user its role on the server side (an
approver approves, and the audit names them); a user the provider knows but the users
file does not is refused at the login, and never reaches a page."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from data_access.users import UsersFile
from tests.conftest import _serve_demo_copy, free_port, service_unavailable
from tests.service.conftest import stop_process, wait_for_port

pytestmark = pytest.mark.ui

APPROVER = "ann@example.org"
STRANGER = "zed@example.org"  # known to the provider only


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory) -> Iterator[str]:
    """The mock OIDC provider in its own process on a free loopback port; its base URL.

    Its own process keeps pytest's warnings-as-errors out of it (authlib warns about the
    API the mock uses)."""
    if importlib.util.find_spec("oidc_provider_mock") is None:
        service_unavailable("oidc-provider-mock is not installed (pip install -e '.[test]')")
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "ignore",
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if not wait_for_port(port, process):
        stop_process(process)
        service_unavailable(f"the OIDC provider mock did not listen: {log.read_text()[-2000:]}")
    yield f"http://127.0.0.1:{port}"
    stop_process(process)


@pytest.fixture(scope="module")
def served_with_oidc(tmp_path_factory, demo_root, oidc_provider):
    """The workbench over a demo copy, logging in through the mock provider."""

    def prepare(root: Path) -> None:
        config = root / "gic.toml"
        extra = [
            f"AUTHORIZE_URL={oidc_provider}/oauth2/authorize",
            f"TOKEN_URL={oidc_provider}/oauth2/token",
            f"USER_URL={oidc_provider}/userinfo",
        ]
        text = config.read_text()
        for old, new in {
            'users_file = ""': 'users_file = "users.json"',
            'oauth_provider = ""': 'oauth_provider = "generic"',
            'oauth_key = ""': 'oauth_key = "gic-workbench"',
            "oauth_extra = []": f"oauth_extra = {extra!r}".replace("'", '"'),
        }.items():
            assert old in text, old
            text = text.replace(old, new)
        config.write_text(text)
        UsersFile(root / "users.json").set(APPROVER, None, ["approver"])

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIC_OAUTH_SECRET", "mock-secret")  # the mock takes any client secret
        yield from _serve_demo_copy(tmp_path_factory.mktemp("oidc") / "ws", demo_root, prepare)


def authorize_at_the_provider(page, url: str, path: str, subject: str) -> None:
    """Open ``path``, be sent to the provider, and authorize there as ``subject``."""
    page.goto(url + path)
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize", exact=True).click()


def new_product(stores) -> tuple[str, int]:
    queue = stores.products.queue()
    waiting = queue[(queue["state"] == "new") & (queue["n_deviations"] == 0)]
    row = waiting.iloc[0]
    return str(row["burst_id"]), int(row["product_id"])


def test_the_users_file_gives_the_oidc_user_their_role(served_with_oidc, page):
    url, stores = served_with_oidc
    burst_id, product_id = new_product(stores)
    authorize_at_the_provider(
        page, url, f"/products?burst={burst_id}&product={product_id}", APPROVER
    )
    state = page.locator(".product-state")
    expect(state).to_have_text("new", timeout=30000)
    assert {"user", "gic_session"} <= {c["name"] for c in page.context.cookies()}
    comment = page.get_by_placeholder("why")
    comment.fill("checked through the OIDC login")
    comment.press("Enter")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(state).to_have_text("approved", timeout=20000)
    audit = stores.products.audit(product_id=product_id).set_index("action")
    assert audit.loc["approve", "user_name"] == APPROVER


def test_a_user_absent_from_the_users_file_is_refused_at_the_login(served_with_oidc, page):
    url, _ = served_with_oidc
    authorize_at_the_provider(page, url, "/telemetry", STRANGER)
    expect(page.get_by_text("This account has no role on the workbench")).to_be_visible(
        timeout=30000
    )
    assert not {"user", "gic_session"} & {c["name"] for c in page.context.cookies()}
    page.goto(url + "/telemetry")  # not logged in: sent to the provider again
    expect(page.get_by_role("button", name="Authorize", exact=True)).to_be_visible(timeout=20000)

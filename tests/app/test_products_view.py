"""The product review views on a small store: queue, detail, light curve, roles, push
against the sandbox (a real HTTP server on a free port), pull, coherence and archive."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pandas as pd
import pytest
from astropy.time import Time
from bokeh.models import HoverTool, LogScale

from analysis.colibri import FILTER_COLORS
from analysis.products import Burst
from analysis.products.synthetic import synthetic_photometry
from app.auth import PermissionDenied
from app.pages.products import headline
from app.plots.products import plot_light_curve
from app.views.product_exchange import probe_sdb
from app.views.products import ProductsDesk
from data_access.products.sdb_client import SdbClient, SdbError
from data_access.users import User
from sandbox.sdb import SandboxServer
from tests.app.bokeh_legend import legend_entries
from tests.app.shown import shown_text
from tests.conftest import service_unavailable

BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)
ALICE = User("alice", ("approver",))
SARA = User("sara", ("scientist",))
BOB = User("bob", ("viewer",))


@pytest.fixture
def products(stores):
    """Two versions of a generated burst's seven products (alpha 1.4, with upper limits)."""
    photometry = synthetic_photometry(BURST, alpha=1.4, n_images=6, limit_30s=18.5)
    stores.products.build(BURST, photometry, user="ana")
    again = synthetic_photometry(BURST, alpha=1.4, n_images=7, limit_30s=18.5)
    stores.products.build(BURST, again, user="ana")
    return stores.products


@pytest.fixture
def sandbox(tmp_path):
    try:
        server = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    yield server
    server.close()


def client_for(url: str):
    return lambda: SdbClient(url, retries=0, timeout=5.0, sleep=lambda s: None)


def desk_for(products, user: User, url: str = "http://127.0.0.1:9", card: str = "DT_GFT_FGFT"):
    """A desk on the burst, showing the latest version of ``card``."""
    queue = products.queue(BURST.burst_id).set_index("card")
    return ProductsDesk(
        products,
        client_factory=client_for(url),
        user=user,
        burst_id=BURST.burst_id,
        product_id=int(queue.loc[card, "product_id"]),
    )


def buttons(desk) -> dict[str, bool]:
    """Each review button's label and whether it is enabled."""
    return {label: not b.disabled for label, b in desk.review._buttons.items()}


def test_light_curve_plot_has_log_time_inverted_magnitudes_limits_and_fit():
    points = pd.DataFrame(
        {
            "filter": ["r", "r", "r"],
            "t_s": [100.0, 1000.0, 5000.0],
            "mag": [16.0, 18.5, 0.0],
            "mag_err": [0.02, 0.05, 0.0],
            "detected": [True, True, False],
            "limit_mag": [19.0, 19.5, 19.6],
        }
    )
    fits = pd.DataFrame(
        {
            "FILTER": ["r"],
            "NFIT": [2],
            "TFITSTART": [100.0],
            "TFITSTOP": [1000.0],
            "FITNORM": [10 ** ((23.9 - 11.0) / 2.5)],
            "FITINDEX": [1.0],
            "ERFITINDEX": [0.05],
            "FITCHI2": [0.0],
            "FITVALID": [1],
        }
    )
    fig = plot_light_curve(points, fits)
    assert isinstance(fig.x_scale, LogScale) and fig.y_range.flipped
    entries = legend_entries(fig)
    assert list(entries) == ["r", "r upper limit", "r: α = 1.00 ± 0.05"]
    bars, seen = entries["r"]
    assert list(seen.data_source.data["mag"]) == [16.0, 18.5]
    assert list(bars.data_source.data["low"]) == pytest.approx([15.98, 18.45])
    assert list(bars.data_source.data["high"]) == pytest.approx([16.02, 18.55])
    [limits] = entries["r upper limit"]
    assert list(limits.data_source.data["mag"]) == [19.6]
    assert limits.glyph.marker == "inverted_triangle"
    assert seen.glyph.fill_color == limits.glyph.line_color == FILTER_COLORS["r"]
    [fit] = entries["r: α = 1.00 ± 0.05"]
    assert fit.glyph.line_dash == [6]  # dashed
    line = fit.data_source.data["mag"]
    assert line[0] == pytest.approx(16.0) and line[-1] == pytest.approx(18.5)
    hovered = {r.id for hover in fig.select(type=HoverTool) for r in hover.renderers}
    assert hovered == {seen.id, limits.id}


def test_queue_detail_and_diff_of_a_burst(products):
    desk = desk_for(products, ALICE)
    queue = desk.queue.queue()
    assert len(queue) == 7 and set(queue["state"]) == {"new"} and set(queue["version"]) == {2}
    tabs = desk.detail._contents()
    assert [name for name in tabs._names] == ["PrimaryHDU", "DT_GFT_FGFT"]
    assert "Valid against its descriptor DT_GFT_FGFT" in shown_text(desk.detail._validation())
    assert desk.detail.versions()["version"].tolist() == [2, 1]
    assert (desk.detail.old_id, desk.detail.new_id) == tuple(
        products.versions(BURST.burst_id, "DT_GFT_FGFT")["product_id"][::-1]
    )
    assert not desk.detail.diff().empty
    position = shown_text(desk.detail._position()[0])
    assert "galactic l" in position and "arcsec" in position
    plot = desk.detail._light_curve().object
    assert any("α =" in label for label in legend_entries(plot))


def test_a_scientist_approves_with_a_comment_and_it_is_audited(products):
    desk = desk_for(products, SARA)
    assert buttons(desk) == {
        "Approve": True,
        "Reject": True,
        "Push": False,
        "Push all approved of the burst": False,
    }
    desk.review.comment = "fit looks right"
    record = desk.review.approve()
    assert record["state"] == "approved" and desk.review.message.endswith("approved by sara.")
    audit = products.audit(product_id=record["product_id"]).iloc[-1]
    assert (audit["action"], audit["user_name"], audit["comment"]) == (
        "approve",
        "sara",
        "fit looks right",
    )
    with pytest.raises(PermissionDenied, match="sara may not push"):
        desk.review.push()


def test_a_viewer_cannot_approve_and_nothing_changes(products):
    desk = desk_for(products, BOB)
    assert not any(buttons(desk).values())
    before = (products.record(desk.selection.product_id)["state"], len(products.audit()))
    with pytest.raises(
        PermissionDenied, match="bob may not approve products: it needs the scientist role"
    ):
        desk.review.approve()
    desk.review._clicked(desk.review.approve, "Approve")  # as the button: reported, not raised
    assert desk.review.failed and "needs the scientist role" in desk.review.message
    assert (products.record(desk.selection.product_id)["state"], len(products.audit())) == before


def test_an_approver_pushes_and_the_state_becomes_pushed(products, sandbox):
    desk = desk_for(products, ALICE, sandbox.url)
    desk.review.approve()
    assert buttons(desk)["Push"]
    outcome = desk.review.push()
    assert outcome.pushed and products.record(outcome.product_id)["state"] == "pushed"
    assert products.audit(product_id=outcome.product_id)["action"].tolist()[-2:] == [
        "push started",
        "push",
    ]
    assert not buttons(desk)["Push"]
    assert desk.exchange.list_remote()["name"].tolist() == [outcome.file_name]
    coherence = desk.exchange.check_coherence().set_index("name")
    assert coherence.loc[outcome.file_name, "where"] == "both"
    assert (coherence["where"] == "workspace only").sum() == 13  # every version counts
    assert set(coherence["status"]) == {"same", "not pushed yet"}
    summary = shown_text(desk.exchange._coherence()[0])
    assert summary.startswith("0 conflict(s) between the workspace and the SDB; 1 the same")
    assert "13 not pushed yet" in summary


def test_a_push_asks_first_naming_the_products_and_the_sdb_without_its_secrets(products):
    desk = desk_for(products, ALICE, "https://gic:s3cret@sdb.example/api?token=abc")
    desk.review.approve()
    file_name = products.record(desk.selection.product_id)["file_name"]
    question = desk.review.ask("Push")
    assert f"Push 1 product(s) ({file_name}) to the SDB at https://" in question
    assert "sdb.example/api" in question and "s3cret" not in question and "abc" not in question
    assert desk.review.pending == "Push"
    desk.review.cancel()
    assert not desk.review.pending and products.record(desk.selection.product_id)["state"] == (
        "approved"
    )
    desk.review.ask("Push")
    desk.selection.revision += 1  # a refresh of the same product keeps the question
    assert desk.review.pending == "Push"
    desk.selection.product_id = int(products.queue(BURST.burst_id)["product_id"].iloc[-1])
    assert not desk.review.pending  # another product: forgotten
    burst_question = desk.review.ask("Push all approved of the burst")
    assert f"Push 1 product(s) ({file_name})" in burst_question


def test_a_confirmed_push_says_the_sdb_answer_in_words(products, sandbox):
    desk = desk_for(products, ALICE, sandbox.url)
    desk.review.approve()
    desk.review.ask("Push")
    desk.review.confirm()
    assert not desk.review.failed and not desk.review.pending
    assert desk.review.message.endswith("pushed by alice; the SDB answered: Product inserted.")
    assert "{" not in desk.review.message
    assert products.record(desk.selection.product_id)["state"] == "pushed"


def test_a_disabled_button_says_why(products):
    reasons = desk_for(products, ALICE).review.why_not()
    assert reasons["Push"] == "not approved yet" and reasons["Approve"] == ""
    assert reasons["Push all approved of the burst"] == "nothing approved"
    sara = desk_for(products, SARA).review
    assert sara.why_not()["Push"] == "needs the approver role (sara has scientist)"
    assert "*Push* is unavailable: needs the approver role" in sara._why.object
    sara.approve()
    assert sara.why_not()["Approve"] == "it is approved"
    assert desk_for(products, BOB).review.why_not()["Reject"].startswith("needs the scientist")


def test_the_sdb_down_is_said_and_the_push_fails(products, closed_port_url):
    url = closed_port_url.rsplit("/", 1)[0]
    desk = desk_for(products, ALICE, url)
    assert "cannot connect" in desk.exchange.check_sdb()
    assert "is unreachable" in shown_text(desk.exchange.status())
    desk.review.approve()
    desk.review._clicked(desk.review.push, "Push")
    assert desk.review.failed and "not pushed (push failed)" in desk.review.message
    assert products.record(desk.selection.product_id)["state"] == "push failed"
    assert probe_sdb(client_for(url)(), BURST.burst_id)
    with pytest.raises(SdbError):
        desk.exchange.list_remote()


def test_pull_brings_the_chosen_image_with_progress(products, sandbox, stores):
    sandbox.storage.put_file("images", BURST.burst_id, "S_r_0001.fits", b"SIMPLE  = T")
    desk = desk_for(products, SARA, sandbox.url)
    listing = desk.exchange.list_remote()
    assert listing["name"].tolist() == ["S_r_0001.fits"]
    desk.exchange._remote_table.selection = [0]
    asyncio.run(desk.exchange._pull_clicked())
    assert not desk.exchange.failed, desk.exchange.message
    assert "S_r_0001.fits (new)" in desk.exchange.message
    assert desk.exchange.progress.value == 1
    assert (products.burst_dir(BURST.burst_id) / "images" / "S_r_0001.fits").is_file()
    viewer = desk_for(products, BOB, sandbox.url)
    with pytest.raises(PermissionDenied):
        viewer.exchange.pull(["S_r_0001.fits"])


def test_archive_of_the_burst_and_the_headline(products, stores):
    desk = desk_for(products, BOB)
    with zipfile.ZipFile(io.BytesIO(desk.exchange.archive_bytes())) as archive:
        names = archive.namelist()
    assert len(names) == 8 and "manifest.json" in names
    assert headline(stores) == "1 bursts with products; 7 new, 0 approved, 0 pushed, 0 push failed"
    desk.exchange.archive_bursts = ["sb-none"]
    assert desk.exchange._archive_download().getvalue() == b""
    assert desk.exchange.failed and "sb-none has no product" in desk.exchange.message


def test_refresh_sees_a_change_made_elsewhere(products):
    desk = desk_for(products, SARA)
    assert not desk.refresh()
    products.review.approve(desk.selection.product_id, user="someone")
    revision = desk.selection.revision
    assert desk.refresh() and desk.selection.revision == revision + 1


def test_a_burst_named_by_a_link_stays_text(products):
    from tests.app.shown import pane_html, parse

    hostile = "<img src=x onerror=alert(1)>"
    desk = ProductsDesk(
        products, client_factory=client_for("http://127.0.0.1:9"), user=BOB, burst_id=hostile
    )
    title = desk.queue._products()
    assert title.object == "*Pick a burst to see its products.*"  # nothing of that burst
    said = parse(pane_html(desk.detail._light_curve()))  # the store's reason names the burst
    assert "img" not in said.tags and f"burst {hostile} has no light curve" in said.text
    desk.queue.queue = lambda: products.queue(BURST.burst_id)  # as if it had products
    heading = parse(pane_html(desk.queue._products()[0]))
    assert heading.tags == {"h3"} and heading.text.strip() == f"Products of {hostile}"
    note = parse(pane_html(desk.review._roles_note()))
    assert "bob" in note.text and "img" not in note.tags

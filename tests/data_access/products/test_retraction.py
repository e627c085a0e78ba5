"""A retracted burst's products: marked in the queue, a push refused until an override with a
comment, which the audit log keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from data_access.alerts.retractions import retractions
from tests.analysis.test_voevent import make_packet
from tests.data_access.products.conftest import BURST

WAKEUP = "ivo://org.svom/fsc#sb26030512_wakeup"
RETRACTION = "ivo://org.svom/fsc#sb26030512_retraction"


class AcceptingClient:
    """An import API that accepts every file (what a push sends is not the point here)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def upload_card(self, card: str, content: bytes) -> dict:
        return {"OK": "Card inserted."}

    def upload_product(self, name: str, content: bytes) -> dict:
        self.sent.append(name)
        return {"OK": "Product inserted."}


def store_notices(alerts, *, retracted: bool) -> None:
    at = datetime(2026, 3, 5, 4, 12, tzinfo=UTC)
    alerts.store(make_packet(WAKEUP, burst_id=BURST.burst_id), received_at=at)
    if retracted:
        packet = make_packet(
            RETRACTION, burst_id=None, packet_type=219, position=None, retracts=(WAKEUP,)
        )
        alerts.store(packet, received_at=at.replace(minute=20))


def test_a_retracted_bursts_push_is_refused_until_an_override(approved, stores):
    products, dt = approved
    store_notices(stores.alerts, retracted=False)
    assert not products.queue(BURST.burst_id)["retracted"].any()  # the products' read kept
    assert not products.bursts()["retracted"].any()
    store_notices(stores.alerts, retracted=True)
    client = AcceptingClient()
    assert list(retractions(stores.cache, BURST.burst_id)["ivorn"]) == [RETRACTION]
    assert products.queue(BURST.burst_id)["retracted"].all()
    assert products.bursts().set_index("burst_id").loc[BURST.burst_id, "retracted"]

    refused = products.pushes.push(dt, client, user="alice", override_retraction="  ")
    assert not refused.pushed and refused.retracted and refused.state == "approved"
    assert client.sent == []
    assert f"burst {BURST.burst_id} was retracted ({RETRACTION})" in refused.error
    assert "override of the retraction, with a comment" in refused.error
    assert products.record(dt)["state"] == "approved"
    assert not products.pushes.push_approved(client, user="alice", burst_id=BURST.burst_id)[
        0
    ].pushed

    done = products.pushes.push(
        dt, client, user="alice", override_retraction="the afterglow is real: GCN 12345"
    )
    assert done.pushed and client.sent == [done.file_name]
    log = products.audit(product_id=dt)
    override = log[log["action"] == "retraction override"].iloc[0]
    assert override["user_name"] == "alice"
    assert override["comment"] == "the afterglow is real: GCN 12345"
    assert RETRACTION in override["detail"]
    assert list(log["action"])[-3:] == ["retraction override", "push started", "push"]


def test_a_burst_standing_is_pushed_without_an_override(approved, stores):
    products, dt = approved
    store_notices(stores.alerts, retracted=False)
    assert not products.queue(BURST.burst_id)["retracted"].any()
    assert products.pushes.push(dt, AcceptingClient(), user="alice").pushed

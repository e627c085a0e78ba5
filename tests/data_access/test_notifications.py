"""Notifications against a real local SMTP server (aiosmtpd) and a local webhook receiver."""

import email
import email.policy
import json
import logging
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from analysis.products.synthetic import synthetic_photometry
from app.cli import main
from app.worker import _deliver_notifications, _tell_stale_sensors, scheduled_jobs
from data_access.notifications import MAX_LINES, Notifier, webhook_text
from data_access.products.sdb_client import SdbClient
from data_access.stores import Stores
from data_access.telemetry.store import documents_in
from data_access.workspace import Workspace
from pipelines.calibration_night import run_night
from tests.analysis.test_voevent import make_packet
from tests.calibration_helpers import write_raw
from tests.conftest import free_port, service_unavailable
from tests.data_access.products.test_push import BURST

WINDOW_S = 60.0


class MailBox:
    """The aiosmtpd handler: every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 (not listening until :meth:`start`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.box = MailBox()
        self._controller = None

    def start(self, **options) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **options)
        try:
            self._controller.start()
        except (OSError, RuntimeError) as exc:
            service_unavailable(f"aiosmtpd cannot start on port {self.port}: {exc}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


class WebhookReceiver:
    """An incoming-webhook endpoint in a thread: keeps each JSON body, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.attempts = 0
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                owner.attempts += 1
                if owner.status == 200:
                    owner.bodies.append(body)
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):  # noqa: A002
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hooks/secret-key"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def smtp_server():
    try:
        import aiosmtpd  # noqa: F401
    except ImportError as exc:
        service_unavailable(f"aiosmtpd is not installed: {exc}")
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def started_smtp(smtp_server) -> SmtpServer:
    smtp_server.start()
    return smtp_server


@pytest.fixture
def receiver():
    try:
        server = WebhookReceiver()
    except OSError as exc:
        service_unavailable(f"a local HTTP receiver cannot start: {exc}")
    yield server
    server.close()


@pytest.fixture
def make_stores(tmp_path):
    """The stores of a workspace whose notifications go to these servers (settings changed
    by keyword)."""
    opened = []

    def make(smtp: SmtpServer, hook: WebhookReceiver, **changes) -> Stores:
        settings = {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "mail_to": ["night@colibri.test"],
            "webhook_url": hook.url,
            "window_s": WINDOW_S,
            "retry_s": 10.0,
            **changes,
        }
        root = tmp_path / "ws"
        root.mkdir(parents=True, exist_ok=True)
        lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        (root / "gic.toml").write_text("[notifications]\n" + "\n".join(lines) + "\n")
        opened.append(Stores(Workspace.open(root)))
        return opened[-1]

    yield make
    for stores in opened:
        stores.close()


def notifier(stores: Stores) -> Notifier:
    return Notifier.from_workspace(stores.workspace)


def after_window() -> float:
    return time.time() + WINDOW_S + 1


def test_a_new_burst_makes_one_email_and_one_webhook(started_smtp, receiver, make_stores):
    stores = make_stores(started_smtp, receiver)
    stores.alerts.store(make_packet())
    stores.alerts.store(make_packet("ivo://org.svom/fsc#sb26021102_slewing", packet_type=204))
    assert notifier(stores).deliver_pending().sent == []  # the window is still open
    summary = notifier(stores).deliver_pending(now=after_window())
    assert summary.gathered == 1 and len(summary.sent) == 2
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: new burst"
    assert mail["To"] == "night@colibri.test"
    assert "burst sb26021102 from ECLAIRs at RA 86.9755 Dec -0.4379 deg" in mail.get_content()
    (body,) = receiver.bodies
    assert "sb26021102" in body["text"] and set(body) == {"text"}


def test_a_retraction_is_told(started_smtp, receiver, make_stores):
    stores = make_stores(started_smtp, receiver, new_burst=False)
    stores.alerts.store(make_packet())
    stores.alerts.store(
        make_packet(
            "ivo://org.svom/fsc#sb26021102_retraction",
            packet_type=219,
            retracts=["ivo://org.svom/fsc#sb26021102_eclairs-wakeup"],
        )
    )
    notifier(stores).deliver_pending(now=after_window())
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: retraction"
    assert "sb26021102_retraction retracts burst sb26021102" in mail.get_content()


def test_fifty_events_within_the_window_make_one_message(started_smtp, receiver, make_stores):
    tell = notifier(make_stores(started_smtp, receiver))
    start = time.time()
    for n in range(50):
        tell.raise_event("new_burst", f"burst sb260211{n:02d}", now=start + n * 0.5)
    assert tell.deliver_pending(now=start + 30).gathered == 0
    assert tell.deliver_pending(now=start + WINDOW_S).gathered == 50
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: new burst (50)"
    lines = mail.get_content().splitlines()
    assert len(lines) == 50 and lines[0].endswith("burst sb26021100")
    (body,) = receiver.bodies
    assert body["text"].count("sb260211") == 50
    assert tell.deliver_pending(now=start + 2 * WINDOW_S).sent == []  # nothing sent twice


def test_receivers_down_retried_then_delivered_ingest_not_blocked(
    smtp_server, receiver, make_stores, caplog
):
    receiver.status = 503
    stores = make_stores(smtp_server, receiver)  # the SMTP server is not listening yet
    stores.alerts.store(make_packet())
    assert len(stores.alerts.alerts()) == 1 and receiver.attempts == 0  # ingest sent nothing
    tell = notifier(stores)
    now = after_window()
    with caplog.at_level(logging.WARNING, logger="gic.notifications"):
        first = tell.deliver_pending(now=now)
    assert len(first.failed) == 2 and receiver.attempts == 1
    assert "503" in caplog.text and "127.0.0.1:" in caplog.text
    assert "secret-key" not in caplog.text  # a webhook's path is its secret
    assert tell.deliver_pending(now=now + 5).failed == []  # waiting out its back-off
    assert len(tell.deliver_pending(now=now + 10).failed) == 2  # second failure: 20 s next
    assert tell.deliver_pending(now=now + 25).failed == []
    receiver.status = 200
    smtp_server.start()
    assert len(tell.deliver_pending(now=now + 31).sent) == 2
    assert len(smtp_server.box.messages) == 1 and len(receiver.bodies) == 1
    assert list((tell.folder / "outbox").iterdir()) == []


def test_a_message_never_taken_is_given_up_and_kept(smtp_server, receiver, make_stores, caplog):
    receiver.status = 500
    tell = notifier(make_stores(smtp_server, receiver, max_attempts=2, retry_s=1.0))
    tell.raise_event("failed_push", "push of QF_sb1.fits failed")
    now = after_window()
    tell.deliver_pending(now=now)
    with caplog.at_level(logging.ERROR, logger="gic.notifications"):
        summary = tell.deliver_pending(now=now + 2)
    assert len(summary.given_up) == 2 and "given up after 2 attempts" in caplog.text
    assert len(list((tell.folder / "failed").glob("*.json"))) == 2
    assert list((tell.folder / "outbox").iterdir()) == []


def test_a_kind_switched_off_sends_nothing(started_smtp, receiver, make_stores):
    stores = make_stores(started_smtp, receiver, new_burst=False)
    stores.alerts.store(make_packet())
    tell = notifier(stores)
    assert not tell.enabled("new_burst") and tell.enabled("retraction")
    assert tell.deliver_pending(now=after_window()).gathered == 0
    assert started_smtp.box.messages == [] and receiver.attempts == 0


def test_outside_text_is_plain_in_the_webhook(started_smtp, receiver, make_stores):
    tell = notifier(make_stores(started_smtp, receiver))
    tell.raise_event("stale_sensor", "sensor *dome*_[x](http://evil) <b>@channel</b> is stale")
    tell.deliver_pending(now=after_window())
    text = receiver.bodies[0]["text"]
    assert r"\*dome\*\_\[x\]\(http://evil\) &lt;b&gt;@" + "\u200bchannel" in text
    assert (
        "sensor *dome*_[x](http://evil) <b>@channel</b>"
        in started_smtp.box.messages[0].get_content()
    )
    assert webhook_text("a & b") == "a &amp; b"


def test_a_stale_sensor_is_told_once_until_it_recovers(started_smtp, receiver, make_stores):
    tell = notifier(make_stores(started_smtp, receiver))
    assert tell.sensors_stale(["dome-probe", "ws1-wind"]) == ["dome-probe", "ws1-wind"]
    assert tell.sensors_stale(["dome-probe", "ws1-wind"]) == []
    assert tell.sensors_stale(["ws1-wind"]) == []
    assert tell.sensors_stale(["dome-probe", "ws1-wind"]) == ["dome-probe"]
    tell.deliver_pending(now=after_window())
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: stale sensor (3)"


def test_invalid_masters_and_failed_pushes_are_told(started_smtp, receiver, make_stores):
    tell = notifier(make_stores(started_smtp, receiver))
    outcomes = [
        SimpleNamespace(caltype="bias", instrument="DDRAGO1", filter="NONE", action="promoted"),
        SimpleNamespace(
            caltype="dark",
            instrument="DDRAGO1",
            filter="NONE",
            action="rejected",
            detail="MEANDIFF 0.4 outside [-0.2, 0.2]",
        ),
    ]
    tell.masters_invalid(date(2026, 2, 11), outcomes)
    tell.push_failed("sb26021102", "QF_sb26021102_v1.fits", "503 Service Unavailable")
    tell.deliver_pending(now=after_window())
    texts = {m["Subject"]: m.get_content() for m in started_smtp.box.messages}
    assert (
        "dark master of DDRAGO1/NONE, night 20260211, is invalid: MEANDIFF"
        in (texts["GIC Workbench: invalid master"])
    )
    assert "QF_sb26021102_v1.fits (burst sb26021102) failed" in texts["GIC Workbench: failed push"]


def test_gic_notify_send_pending_and_the_server_job(
    started_smtp, receiver, make_stores, capsys, tmp_path, status_record, write_status_file
):
    stores = make_stores(started_smtp, receiver, window_s=0.0)
    write_status_file(tmp_path / "status" / "s1.json", [status_record("dome-probe")])
    stores.status.ingest(documents_in([tmp_path / "status"]))
    notifier(stores).raise_event("failed_push", "push of QF.fits failed")
    stores.close()  # no server: the command reads the cache itself
    assert main(["--workspace", str(stores.workspace.root), "notify", "send-pending"]) == 0
    out = capsys.readouterr().out
    assert "stale sensors told: dome-probe" in out and "2 event(s) gathered, 4 sent" in out
    assert len(started_smtp.box.messages) == 2
    names = [job.__name__ for job, _ in scheduled_jobs(stores)]
    assert "_deliver_notifications" in names and "_tell_stale_sensors" in names


def test_no_channel_configured_spools_nothing(tmp_path):
    tell = Notifier.from_workspace(Workspace.open(tmp_path / "bare"))
    assert tell.raise_event("new_burst", "burst sb1") is None
    with pytest.raises(ValueError, match="unknown notification kind 'nova'"):
        tell.enabled("nova")


def test_an_invalid_master_of_the_night_run_is_told(started_smtp, receiver, make_stores, tmp_path):
    stores = make_stores(started_smtp, receiver)
    tell = notifier(stores)
    for day, level in ((1, 1000.0), (2, 1010.0)):  # 10 ADU above the reference: invalid
        night = tmp_path / "raw" / f"2025030{day}"
        write_raw(night, "bias", 5, level=level, seed=day, night=f"2025-03-0{day}")
        run_night(stores.calibration, date(2025, 3, day), night, notifier=tell)
    tell.deliver_pending(now=after_window())
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: invalid master"
    assert "bias master of DDRAGO1/NONE, night 20250302, is invalid: " in mail.get_content()


def test_a_failed_push_is_told(started_smtp, receiver, make_stores, closed_port_url):
    products = make_stores(started_smtp, receiver).products
    products.build(BURST, synthetic_photometry(BURST, n_images=3), user="ana")
    dt = int(products.queue(BURST.burst_id).set_index("card").loc["DT_GFT_FGFT", "product_id"])
    products.review.approve(dt, user="ana", comment="ok")
    client = SdbClient(closed_port_url.rsplit("/", 1)[0], retries=0, timeout=2.0)
    assert products.pushes.push(dt, client, user="ana").state == "push failed"
    products.pushes.notifier.deliver_pending(now=after_window())
    (mail,) = started_smtp.box.messages
    assert mail["Subject"] == "GIC Workbench: failed push"
    assert f"(burst {BURST.burst_id}) failed: " in mail.get_content()


def test_the_smtp_login_takes_its_password_from_the_environment(smtp_server, receiver, make_stores):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"gic", b"s3cret"))

    smtp_server.start(authenticator=check, auth_require_tls=False)
    stores = make_stores(smtp_server, receiver, smtp_user="gic", smtp_password_env="TEST_SMTP_PW")
    config, folder = stores.workspace.config.notifications, notifier(stores).folder
    without = Notifier(config, folder, environ={})
    without.raise_event("failed_push", "push of QF.fits failed")
    summary = without.deliver_pending(now=after_window())
    assert [name.rsplit("-", 1)[1] for name in summary.failed] == ["email.json"]
    assert len(summary.sent) == 1  # the webhook's copy goes its own way
    with_password = Notifier(config, folder, environ={"TEST_SMTP_PW": "s3cret"})
    assert len(with_password.deliver_pending(now=after_window() + 60).sent) == 1
    assert len(smtp_server.box.messages) == 1


def test_an_unreadable_message_is_set_aside_and_the_others_sent(
    started_smtp, receiver, make_stores
):
    tell = notifier(make_stores(started_smtp, receiver))
    (tell.folder / "outbox").mkdir()
    (tell.folder / "outbox" / "00000000000000000001-new_burst-x-email.json").write_text("{bro")
    tell.raise_event("new_burst", "burst sb26021102")
    summary = tell.deliver_pending(now=after_window())
    assert summary.given_up == ["00000000000000000001-new_burst-x-email.json"]
    assert len(summary.sent) == 2 and len(started_smtp.box.messages) == 1


def test_the_server_tells_each_sensor_newly_stale(
    started_smtp, receiver, make_stores, tmp_path, status_record, write_status_file
):
    stores = make_stores(started_smtp, receiver)
    old = status_record("dome-probe", date="2024-03-01T00:00:00")
    write_status_file(tmp_path / "status" / "s1.json", [old])
    stores.status.ingest(documents_in([tmp_path / "status"]))
    assert _tell_stale_sensors(stores) == {"stale sensors told": "dome-probe"}
    assert _tell_stale_sensors(stores) == {}
    notifier(stores).deliver_pending(now=after_window())
    assert "sensor dome-probe is stale" in started_smtp.box.messages[0].get_content()


def test_the_server_sends_on_a_thread_of_its_own(smtp_server, make_stores, caplog):
    with socket.socket() as silent:  # accepts connections, never greets: a hung mail server
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        smtp_server.port = silent.getsockname()[1]
        stores = make_stores(smtp_server, SimpleNamespace(url=""), window_s=0.0, timeout_s=30.0)
        notifier(stores).raise_event("new_burst", "burst sb26021102")
        assert _deliver_notifications(stores) == {}  # back at once, the e-mail still waiting
        (sender,) = [t for t in threading.enumerate() if t.name == "gic-notify"]
        stores.alerts.store(make_packet())  # ingest goes on meanwhile
        assert len(stores.alerts.alerts()) == 1 and sender.is_alive()
    with caplog.at_level(logging.WARNING, logger="gic.notifications"):
        sender.join(timeout=30)
    assert not sender.is_alive() and "not delivered (attempt 1" in caplog.text


def test_a_message_lists_at_most_max_lines_events_on_one_line_each(
    started_smtp, receiver, make_stores
):
    tell = notifier(make_stores(started_smtp, receiver))
    for n in range(MAX_LINES + 5):
        tell.raise_event("stale_sensor", f"sensor s{n}\nFAKE LINE\x1b[31m is stale")
    tell.deliver_pending(now=after_window())
    lines = started_smtp.box.messages[0].get_content().splitlines()
    assert len(lines) == MAX_LINES + 1 and lines[-1] == "... and 5 more"
    assert lines[0].endswith("sensor s0 FAKE LINE [31m is stale")

"""Settings of the notifications (``[notifications]``): e-mail, webhook, what is told."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class NotificationsConfig:
    smtp_host: str = _setting("", "SMTP server the e-mails go through; empty = no e-mail")
    smtp_port: int = _setting(25, "TCP port of the SMTP server (587 with starttls)")
    smtp_starttls: bool = _setting(False, "Switch the SMTP connection to TLS (STARTTLS)")
    smtp_user: str = _setting("", "SMTP login name; empty = no login")
    smtp_password_env: str = _setting(
        "GIC_SMTP_PASSWORD", "Environment variable holding the SMTP password (never put it here)"
    )
    mail_from: str = _setting("gic@localhost", "Sender address of the e-mails")
    mail_to: tuple = _setting((), "Addresses the e-mails go to")
    webhook_url: str = _setting(
        "",
        'Incoming-webhook URL (Mattermost, Slack) sent {"text": ...} as JSON; empty = none',
    )
    timeout_s: float = _setting(10.0, "Seconds before a delivery attempt is abandoned")
    window_s: float = _setting(
        30.0,
        "Events of one kind within this many seconds of the first are sent as one message",
    )
    retry_s: float = _setting(30.0, "First wait after a failed delivery, doubled after each")
    retry_max_s: float = _setting(3600.0, "Longest wait between two delivery attempts")
    max_attempts: int = _setting(
        20, "Attempts after which a message is given up (kept in the spool's failed folder)"
    )
    spool_dir: str = _setting(
        "notifications", "Folder (relative to the workspace) of the messages waiting to be sent"
    )
    every_s: float = _setting(
        5.0, "Seconds between the server's deliveries of the waiting messages; 0 = never"
    )
    new_burst: bool = _setting(True, "Tell of a burst ID seen for the first time")
    retraction: bool = _setting(True, "Tell of a packet that retracts a burst")
    invalid_master: bool = _setting(True, "Tell of a master the night's run found invalid")
    stale_sensor: bool = _setting(True, "Tell of a sensor that became stale")
    failed_push: bool = _setting(True, "Tell of a product whose push to the SDB failed")
    frames_ready: bool = _setting(
        True, "Tell of a burst's frames pulled from the export API, ready for reprocessing"
    )
    reprocessed: bool = _setting(
        True, "Tell of a run done again (or failed) after its master was certified bad"
    )

"""Settings of the Panel server (``[server]``) and of its login (``[auth]``)."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.config.setting import _setting


@dataclass(frozen=True)
class ServerConfig:
    address: str = _setting(
        "127.0.0.1", "Address the Panel server listens on (loopback only by default)"
    )
    port: int = _setting(5006, "TCP port of the Panel server")
    sync_every_s: float = _setting(
        60.0, "Seconds between the server's scheduled syncs of every configured source; 0 = never"
    )
    spool_every_s: float = _setting(
        2.0, "Seconds between the server's ingests of alerts spooled while it held the cache"
    )
    allow_websocket_origin: tuple = _setting(
        (), "Extra host:port origins allowed to open the websocket (behind a proxy)"
    )
    behind_tls: bool = _setting(
        False, "The server is reached through HTTPS (a TLS proxy): cookies Secure, HSTS sent"
    )
    processes: int = _setting(
        1,
        "Processes that build pages; above 1, `gic serve` listens through a small proxy that "
        "keeps each browser on the process that built its page",
    )
    background: str = _setting(
        "auto",
        "auto: `gic serve` starts a worker process of its own, which runs the background work "
        "when no other process of the workspace does (and takes it over when that one stops); "
        "never: leave it to `gic worker`",
    )


@dataclass(frozen=True)
class AuthConfig:
    users_file: str = _setting(
        "",
        "Users file (relative to the workspace; `gic users add`) that turns the login on; "
        "empty = single-user mode, loopback only",
    )
    session_days: float = _setting(1.0, "Days a login stays valid")
    login_max_failures: int = _setting(
        5, "Failed logins, per user and per address, that lock the login (0 = never locked)"
    )
    login_window_min: float = _setting(5.0, "Minutes over which failed logins are counted")
    login_lockout_min: float = _setting(
        15.0, "Minutes a locked user or address is refused, even with the right password"
    )
    oauth_provider: str = _setting(
        "",
        "Log in through an OAuth/OIDC provider of Panel's (generic, github, gitlab, azure, "
        "google, okta...) instead of passwords; roles still come from the users file",
    )
    oauth_key: str = _setting("", "The OAuth client ID")
    oauth_secret_env: str = _setting(
        "GIC_OAUTH_SECRET", "Environment variable holding the OAuth client secret"
    )
    oauth_redirect_uri: str = _setting("", "The OAuth redirect URI registered with the provider")
    oauth_extra: tuple = _setting(
        (), "Extra provider parameters as 'KEY=value', e.g. 'AUTHORIZE_URL=...' for generic"
    )

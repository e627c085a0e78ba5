"""Secrets masked wherever a URL or a DSN is shown: every form a secret takes in one."""

from __future__ import annotations

import pytest

from data_access.redact import is_secret_key, redact_secrets, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://gic:hunter2@cdb.example:8443/status", "https://gic:***@cdb.example:8443/status"),
        # a password holding '@', ':', or a '/' that ends the authority too early
        ("postgresql://gic:p@ss@db/cdb", "postgresql://gic:***@db/cdb"),
        ("postgresql://gic:a:b@c@db:5432/cdb", "postgresql://gic:***@db:5432/cdb"),
        ("https://gic:pa/ss@cdb.example/x", "https://gic:***@cdb.example/x"),
        ("https://gic:pa?ss@cdb.example/x", "https://gic:***@cdb.example/x"),
        # secret-like query and fragment values, any case, alone or inside a longer name
        ("https://h/s?since=2024&token=t0k", "https://h/s?since=2024&token=***"),
        (
            "https://h/s?TOKEN=a&Api_Key=b&key=c&SIG=d&signature=e",
            "https://h/s?TOKEN=***&Api_Key=***&key=***&SIG=***&signature=***",
        ),
        (
            "https://h/s?password=a;pass=b;pwd=c;auth=d",
            "https://h/s?password=***;pass=***;pwd=***;auth=***",
        ),
        (
            "https://h/s?access_token=a&client_secret=b&X-Amz-Signature=c",
            "https://h/s?access_token=***&client_secret=***&X-Amz-Signature=***",
        ),
        ("https://h/cb#access_token=a&state=ok", "https://h/cb#access_token=***&state=ok"),
        ("https://u:p@h/s?token=a#sig=b", "https://u:***@h/s?token=***#sig=***"),
        # nothing secret: unchanged
        ("http://127.0.0.1:5080", "http://127.0.0.1:5080"),
        ("https://h:8443/users/@me?sort=key", "https://h:8443/users/@me?sort=key"),
        ("https://svc@h/x", "https://svc@h/x"),
        ("no url here", "no url here"),
    ],
)
def test_redact_url_masks_every_secret_and_keeps_the_rest(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "host=db user=gic password=hunter2 dbname=cdb",
            "host=db user=gic password=*** dbname=cdb",
        ),
        ("host=db password = 'two words' dbname=cdb", "host=db password = *** dbname=cdb"),
        (r"password='it\'s' port=5432", "password=*** port=5432"),
        ('PASSWORD="a b" sslpassword=k', "PASSWORD=*** sslpassword=***"),
        ("client_secret=abc scope=openid", "client_secret=*** scope=openid"),
        ("GET https://u:pw@h/x?token=abc: refused", "GET https://u:***@h/x?token=***: refused"),
        ("(see https://h/x?sig=abc).", "(see https://h/x?sig=***)."),
        ("url=https://h/?a=1&token=abc", "url=https://h/?a=1&token=***"),
        ("HTTP 404 Not Found", "HTTP 404 Not Found"),
    ],
)
def test_redact_secrets_masks_dsns_and_urls_inside_text(text, shown):
    assert redact_secrets(text) == shown


def test_secret_keys_are_recognised_by_name_or_by_part():
    for name in (
        "token",
        "KEY",
        "Secret",
        "password",
        "pass",
        "pwd",
        "auth",
        "signature",
        "sig",
        "access_token",
        "api_key",
        "apikey",
        "client_secret",
        "db-password",
        "mypassword",
    ):
        assert is_secret_key(name), name
    for name in ("since", "sslmode", "dbname", "user", "host", "state", "monkey"):
        assert not is_secret_key(name), name

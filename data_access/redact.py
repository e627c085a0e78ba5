"""Secrets out of what is shown: URLs, libpq connection strings and messages quoting them.

One rule, used wherever a URL or a DSN reaches a person (``gic config --show``, the
errors of the HTTP clients and of the CDB sources, a page naming a server):

- the password of a URL's user information is replaced by ``***``, an ``@`` or a ``:`` in
  it included (the user information ends at the *last* ``@`` of the authority; one whose
  "port" is not a number held a ``/``, ``?`` or ``#`` of the password, and the user
  information then ends at the URL's last ``@``);
- the value of a query or fragment parameter whose name is secret-like (``token``, ``key``,
  ``secret``, ``password``, ``pass``, ``pwd``, ``auth``, ``signature``, ``sig``,
  ``access_token``, ``api_key``..., in any case, alone or as a part of a name such as
  ``client_secret`` or ``X-Amz-Signature``) is replaced by ``***``;
- in a libpq ``key=value`` string, and in any text, ``password=...`` and the other
  secret-like ``key=value`` pairs are masked, quoted values included.

The user name, host, port, path and the other parameters stay, so that the message still
says which server is meant.

Examples
--------
>>> redact_url("postgresql://gic:p@ss:w@rd@cdb.example:5432/cdb?sslmode=require&token=abc")
'postgresql://gic:***@cdb.example:5432/cdb?sslmode=require&token=***'
>>> redact_secrets("host=cdb user=gic password='my secret' dbname=cdb")
'host=cdb user=gic password=*** dbname=cdb'
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

#: What replaces a secret.
MASK = "***"
#: Parameter names (or parts of names, split at ``-``, ``_`` and ``.``) whose values are secret.
SECRET_KEYS = frozenset(
    {
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "pass",
        "pwd",
        "auth",
        "signature",
        "sig",
        "access_token",
        "api_key",
        "apikey",
        "credential",
        "credentials",
        "sslpassword",
    }
)

# a name ending so is secret too (``mypassword``, ``clientsecret``, ``bearertoken``)
_SECRET_ENDINGS = ("password", "passwd", "secret", "token")
# a URL in a text ends before a space or a quote, and its last character is not a
# punctuation mark of the text around it
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]*[^\s\"'<>.,:;)\]]", re.IGNORECASE)
# key=value outside URLs (libpq strings, messages): a quoted value may hold spaces and
# doubled or backslash-escaped quotes (libpq's own rules)
_PAIR = re.compile(
    r"(?P<key>[A-Za-z][\w.-]*)(?P<eq>\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,]+)"
)


def is_secret_key(name: str) -> bool:
    """Whether a parameter named ``name`` holds a secret (see :data:`SECRET_KEYS`).

    >>> is_secret_key("X-Amz-Signature"), is_secret_key("sslmode")
    (True, False)
    """
    lowered = unquote_plus(name).strip().lower()
    parts = [lowered, *re.split(r"[-_.]", lowered)]
    return any(part in SECRET_KEYS or part.endswith(_SECRET_ENDINGS) for part in parts)


def _redact_parameters(text: str) -> str:
    """``a=1&token=x`` with the values of secret-like names masked (separators kept)."""
    pieces = re.split(r"([&;])", text)
    for index in range(0, len(pieces), 2):
        name, eq, _ = pieces[index].partition("=")
        if eq and is_secret_key(name):
            pieces[index] = f"{name}={MASK}"
    return "".join(pieces)


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """``(userinfo, host and the rest)`` of what follows ``scheme://``; None without userinfo.

    The user information ends at the last ``@`` of the authority; when the authority's
    "port" is not a number and an ``@`` follows, the password held a ``/``, ``?`` or ``#``,
    and the user information ends at the URL's last ``@``.
    """
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if at:
        return userinfo, host + rest[end:]
    _, colon, port = rest[:end].partition(":")
    if colon and not port.isdigit() and "@" in rest[end:]:
        userinfo, _, after = rest.rpartition("@")
        return userinfo, after
    return None, rest


def redact_url(url: str) -> str:
    """``url`` with its userinfo password and secret-like query values replaced by ``***``.

    Parameters
    ----------
    url : str
        Any URL (``https://``, ``postgresql://``, ``nats://``...); a text without ``://``
        is returned as it is.

    Returns
    -------
    str
        The same URL, with only the secrets changed.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    userinfo, rest = _split_userinfo(rest)
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        rest = f"{user}:{MASK}@{rest}" if colon else f"{userinfo}@{rest}"
    before, hash_, fragment = rest.partition("#")
    location, question, query = before.partition("?")
    return (
        f"{scheme}://{location}{question}{_redact_parameters(query)}"
        f"{hash_}{_redact_parameters(fragment)}"
    )


def _redact_match(found: re.Match) -> str:
    if found.group("url"):
        return redact_url(found.group("url"))
    key, eq, value = found.group("key", "eq", "value")
    if is_secret_key(key):
        return f"{key}{eq}{MASK}"
    return f"{key}{eq}{_URL.sub(lambda url: redact_url(url.group(0)), value)}"


_URL_OR_PAIR = re.compile(f"(?P<url>{_URL.pattern})|{_PAIR.pattern}", re.IGNORECASE)


def redact_secrets(text: str) -> str:
    """``text`` with the secrets of every URL, DSN and ``key=value`` pair in it masked.

    Parameters
    ----------
    text : str
        A setting, a libpq connection string, or a message quoting either.

    Returns
    -------
    str
        The same text, with only the secrets changed (see the module docstring).
    """
    return _URL_OR_PAIR.sub(_redact_match, text)

"""``gic config``: the workspace's settings, with their defaults and help."""

from __future__ import annotations

import re

import pandas as pd

from app.commands.common import open_workspace, write_frame
from data_access.config import describe_config, plain


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the workspace's settings (gic.toml)",
        description="Show every setting of the workspace's gic.toml with its value, default "
        "and help. The file is written with every default on first use.",
    )
    parser.add_argument("--show", action="store_true", help="list every setting (the default)")
    parser.add_argument(
        "--format",
        choices=["table", "json", "csv", "markdown"],
        default="table",
        help="markdown prints the README's reference table (defaults and help)",
    )
    parser.set_defaults(handler=show)


#: A password in a URL's userinfo (``scheme://user:PASSWORD@host``) or a libpq string.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)", re.IGNORECASE)
_DSN_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def masked(value):
    """A setting as shown: a password written into a URL or a DSN replaced by ``***``
    (secrets belong in the environment; one put in gic.toml is still never printed)."""
    if not isinstance(value, str):
        return value
    return _DSN_PASSWORD.sub(r"\g<head>***", _URL_PASSWORD.sub(r"\g<head>***", value))


def _value(config, dotted: str):
    value = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return masked(plain(value))


def show(args) -> int:
    if args.format == "markdown":
        print(markdown_reference())
        return 0
    ws = open_workspace(args)
    rows = [
        {"setting": dotted, "value": _value(ws.config, dotted), "default": default, "help": text}
        for dotted, default, text in describe_config()
    ]
    print(f"# {ws.config_path}")
    write_frame(pd.DataFrame(rows), args.format)
    return 0


def markdown_reference() -> str:
    """The settings as the README's Markdown table: setting, default, what it does."""
    lines = ["| setting | default | what it does |", "| --- | --- | --- |"]
    for dotted, default, text in describe_config():
        lines.append(f"| `{dotted}` | `{plain(default)!r}` | {text} |")
    return "\n".join(lines)

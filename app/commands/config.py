"""``gic config``: the workspace's settings, with their defaults and help."""

from __future__ import annotations

import pandas as pd

from app.commands.common import open_workspace, write_frame
from data_access.config import describe_config, plain
from data_access.redact import redact_secrets


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


def masked(value):
    """A setting as shown: the secrets of a URL, a DSN or a ``key=value`` in it replaced by
    ``***``, in a list's items too (secrets belong in the environment; one put in gic.toml
    is still never printed)."""
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, list | tuple):
        return type(value)(masked(item) for item in value)
    return value


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

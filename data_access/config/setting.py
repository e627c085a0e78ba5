"""One setting of ``gic.toml``: a dataclass field with its default and its help text, and
the error a file that cannot be used raises."""

from __future__ import annotations

from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


def _setting(default: Any, help: str) -> Any:  # noqa: A002 - "help" reads best in the tables
    return field(default=default, metadata={"help": help})

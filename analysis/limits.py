"""Bounds on documents from outside: how large they are and how deeply they nest.

A status file, a calibration report, a VOEvent, a NATS message or an HTTP answer can come
from anyone. One that nests 200,000 levels deep, or weighs gigabytes, is refused on its
own and with its reason, before a recursive parser, or a later walk of what it parsed into
(``repr``, ``json.dumps``, a page), runs out of stack or memory; the documents around it
go on. :func:`load_json` is the one way the workbench reads JSON from outside.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

#: Deepest nesting of arrays and objects accepted in a JSON document from outside (the
#: workbench's documents nest 2 to 4 levels; Python's own parser stops near 1,000).
MAX_JSON_DEPTH = 64
#: Deepest nesting of elements accepted in an XML document from outside (a VOEvent nests 7).
MAX_XML_DEPTH = 64

# what json_depth keeps of a text: brackets and quotes (escapes are removed first)
_OTHER_BYTES = bytes(c for c in range(256) if c not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')
_STEP = np.zeros(256, np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_CHUNK = 1 << 22


class DocumentLimitError(ValueError):
    """A document beyond a size or nesting limit; the message says which limit, and by how much."""


def size_problem(size: int, max_bytes: int) -> str | None:
    """Why a document of ``size`` bytes is refused (larger than ``max_bytes``), or None."""
    return f"{size} bytes, more than the {max_bytes} allowed" if size > max_bytes else None


def check_size(size: int, max_bytes: int) -> None:
    """Refuse a document of ``size`` bytes when it is larger than ``max_bytes``.

    Raises
    ------
    DocumentLimitError
        Giving both numbers.
    """
    if problem := size_problem(size, max_bytes):
        raise DocumentLimitError(problem)


def json_depth(text: bytes | str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (0 for a bare value).

    Brackets inside strings do not count. The scan is linear and runs in C (bytes methods,
    a regular expression, numpy): about a third of the time ``json.loads`` takes.

    Examples
    --------
    >>> json_depth(b'[{"a": [1, "]]"]}, 2]')
    3
    """
    data = _as_bytes(text)
    # Escaped backslashes, then escaped quotes, go first: every quote left opens or closes a
    # string. Of the brackets and quotes kept, two adjacent quotes enclose no bracket (they go
    # at once), and what lies between two other quotes is a string's brackets.
    kept = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _OTHER_BYTES)
    brackets = _STRING.sub(b"", kept.replace(b'""', b""))
    steps = _STEP[np.frombuffer(brackets, np.uint8)]
    deepest = level = 0
    for start in range(0, len(steps), _CHUNK):
        levels = np.cumsum(steps[start : start + _CHUNK], dtype=np.int64) + level
        deepest, level = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def _as_bytes(text: bytes | str) -> bytes:
    """The text in UTF-8 (``json.loads`` also reads UTF-16 and UTF-32, whose escapes and
    quotes are not single bytes)."""
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    encoding = json.detect_encoding(text)
    if encoding.startswith("utf-8"):
        return bytes(text)
    return bytes(text).decode(encoding, "replace").encode("utf-8", "surrogatepass")


def check_json_depth(text: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a JSON text that nests deeper than ``max_depth``.

    Raises
    ------
    DocumentLimitError
        Giving the depth found and the limit.
    """
    data = _as_bytes(text)
    if data.count(b"[") + data.count(b"{") <= max_depth:  # too few brackets to nest deeper
        return
    if (depth := json_depth(data)) > max_depth:
        raise DocumentLimitError(
            f"JSON nested {depth} levels deep, more than the {max_depth} allowed"
        )


def load_json(
    text: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int | None = None
) -> Any:
    """``json.loads`` within bounds: the size and nesting are checked before parsing.

    Parameters
    ----------
    text : bytes or str
        The document as received.
    max_depth : int, optional
        Deepest nesting of arrays and objects accepted.
    max_bytes : int or None, optional
        Largest size accepted (characters for a str); None for no bound.

    Returns
    -------
    object
        What ``json.loads`` returns.

    Raises
    ------
    DocumentLimitError
        If the document is larger or nests deeper than allowed, or still exhausts the
        parser's recursion or memory.
    json.JSONDecodeError
        If it is not JSON (both are ValueError).
    """
    if max_bytes is not None:
        check_size(len(text), max_bytes)
    check_json_depth(text, max_depth=max_depth)
    try:
        return json.loads(text)
    except RecursionError:
        raise DocumentLimitError("JSON nested too deeply to be read") from None
    except MemoryError:
        raise DocumentLimitError(f"JSON of {len(text)} bytes is too large to be read") from None

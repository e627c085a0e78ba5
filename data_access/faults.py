"""Fault injection for the kill tests: a process that reaches a named point dies there.

Setting ``GIC_KILL_AT=<point>`` (optionally ``<point>:<n>`` for the n-th time the
point is reached, counting from 1) makes :func:`fault_point` kill the process with
SIGKILL, as a power cut or the OOM killer would: no cleanup, no ``finally``. The kill
tests use it to prove that a write interrupted at the worst moment leaves the
workspace consistent. Unset, it costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

_reached: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here if ``GIC_KILL_AT`` names this point (and this is the n-th time)."""
    wanted = os.environ.get("GIC_KILL_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)

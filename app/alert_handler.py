"""``gic-alert-handler``: what Comet's ``--cmd`` runs for every packet.

Comet hands the packet on stdin, with its own environment and no arguments, so the
workspace comes from ``GIC_WORKSPACE``::

    GIC_WORKSPACE=/path/to/ws twistd -n comet --local-ivo=ivo://svom/colibri --receive \\
        --receive-port=8099 --cmd=$(which gic-alert-handler)

It does what ``gic alerts ingest`` does (see :mod:`data_access.alerts.receive`), in an order
chosen for the telescope: the packet is parsed and the trigger file written with only
light modules imported (about 0.3 s after the packet arrives), and only then are the
cache's libraries imported to store it, or to spool it while the cache cannot be reached. This
module therefore imports nothing from :mod:`app.commands` (which loads every command). The
trigger file's observability keys are left to the background work
(:func:`data_access.alerts.trigger_extras.observe_pending`, within ``server.spool_every_s``):
astropy's import and its Earth-orientation tables cost a new process about 4 s of CPU per
packet, which packets close together would queue behind.

Exit codes: 0 for any well-formed packet, VOEvent or GCN JSON notice (with or without a
burst ID), 1 for a malformed or hostile one, one that is neither XML nor JSON, or one whose
ivorn was stored before with other content (each kept in the quarantine folder with its
reason), 2 without ``GIC_WORKSPACE``.
Comet drops its commands' output, so the handler also logs to
``WORKSPACE/logs/alert-handler.log``.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from data_access.alerts.trigger_files import (
    AlertFolders,
    QuarantinedPacketError,
    parse_or_quarantine,
    update_trigger_file,
)
from data_access.config import load_config

log = logging.getLogger("gic-alert-handler")


def read_packet(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read a packet from a stream, keeping at most ``max_bytes + 1`` bytes (the rest is read
    and dropped so the sender never blocks; the kept prefix is then refused as too large)."""
    kept = stream.read(max_bytes + 1) or b""
    while stream.read(1 << 20):
        pass
    return kept


def receive_stdin(
    root: Path, source: str, stream: BinaryIO | None = None, *, observe: bool = True
) -> int:
    """Receive the packet on stdin into the workspace at ``root``; the exit code.

    Parameters
    ----------
    root : Path
        The workspace folder (it must hold its ``gic.toml``; see
        :meth:`~data_access.workspace.Workspace.open`).
    source : str
        ``comet`` for the handler, ``stdin`` for ``gic alerts ingest``.
    stream : binary stream, optional
        Where the packet is read from (default: stdin).
    observe : bool, optional
        Add the trigger file's observability keys once the packet is stored (the handler
        leaves them to the background work).
    """
    received_at = datetime.now(UTC)
    config = load_config(root / "gic.toml")
    packet = read_packet(stream or sys.stdin.buffer, config.alerts.max_packet_kb * 1000)
    folders = AlertFolders.from_root(root, config)
    try:
        record = parse_or_quarantine(
            packet,
            folders.quarantine,
            source=source,
            received_at=received_at,
            max_bytes=config.alerts.max_packet_kb * 1000,
        )
    except QuarantinedPacketError as exc:
        print(f"quarantined: {exc}", file=sys.stderr)
        log.info("quarantined: %s", exc)
        return 1
    trigger = update_trigger_file(folders.triggers, record, received_at)  # observed below
    from data_access.alerts.receive import keep_packet  # the heavy part: DuckDB, pandas
    from data_access.workspace import Workspace

    try:
        receipt = keep_packet(
            Workspace.open(root),
            record,
            packet,
            trigger=trigger,
            source=source,
            received_at=received_at,
        )
    except QuarantinedPacketError as exc:  # its ivorn was stored before with other content
        print(f"quarantined: {exc}", file=sys.stderr)
        log.info("quarantined: %s", exc)
        return 1
    print(receipt.describe())
    log.info(receipt.describe())
    if trigger is not None and observe:  # the packet is stored: the slower observability
        from data_access.alerts.trigger_extras import observe_trigger_file

        observe_trigger_file(trigger, config.site, received_at)
    return 0


def main() -> int:
    """The ``gic-alert-handler`` console script (see the module's documentation)."""
    given = os.environ.get("GIC_WORKSPACE")
    if not given:
        print("gic-alert-handler: set GIC_WORKSPACE to the workspace folder", file=sys.stderr)
        return 2
    root = Path(given).expanduser().resolve()
    if not (root / "gic.toml").exists():
        from data_access.workspace import Workspace

        Workspace.open(root)  # a new workspace: write its gic.toml
    (root / "logs").mkdir(exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s gic-alert-handler[{os.getpid()}] %(levelname)s %(message)s",
        handlers=[
            logging.StreamHandler(),
            logging.FileHandler(root / "logs" / "alert-handler.log"),
        ],
    )
    try:
        return receive_stdin(root, "comet", observe=False)
    except Exception:
        log.exception("packet could not be received")
        raise


if __name__ == "__main__":
    sys.exit(main())

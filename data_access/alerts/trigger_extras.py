"""What the alert chain adds once a trigger file is on disk: the write log and the observability.

:func:`after_trigger_write` runs right after ``trigger_<burstid>.dat`` was written, under
the triggers folder's lock:

1. one line ``<written ISO> <received ISO> <ivorn>`` is appended to the folder's write log
   (:data:`TRIGGER_LOG_NAME`), from which the pages tell each notice's latency from arrival
   to trigger file;
2. the file is rewritten (atomically) with the burst's observability from the telescope's
   site as extra ``obs_*`` keys after its own (:func:`analysis.observability.with_observability`).
   This second write comes after the first so that the telescope's trigger never waits for
   astropy; ``gic alerts ingest`` makes it only once the packet is stored
   (:func:`observe_trigger_file`), and ``gic-alert-handler``, a new process per packet,
   not at all: the background work adds the keys to the files that lack them
   (:func:`observe_pending`). A position that cannot be computed leaves the file as it
   was, logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from analysis.trigger_file import read_trigger_file
from data_access.config import SiteConfig
from data_access.safe_files import write_atomic

log = logging.getLogger(__name__)

#: The file, in the triggers folder, where each trigger-file write is logged.
TRIGGER_LOG_NAME = ".trigger-writes.log"
#: The key whose line says a trigger file has its observability.
OBSERVED_KEY = "obs_site"


def after_trigger_write(
    path: Path, ivorn: str, received_at: datetime, *, site: SiteConfig | None = None
) -> None:
    """Log the write of ``path`` for notice ``ivorn``, then add its observability keys from
    ``site``.

    Parameters
    ----------
    path : Path
        The trigger file just written.
    ivorn : str
        The notice it was written for.
    received_at : datetime
        When that notice arrived (UTC); the observability is computed for that instant.
    site : SiteConfig, optional
        The telescope's site; None adds no observability (the alert handler adds it with
        :func:`observe_trigger_file` once the packet is stored).
    """
    written = datetime.now(UTC)
    line = f"{written.isoformat()} {received_at.astimezone(UTC).isoformat()} {ivorn}\n"
    with open(path.parent / TRIGGER_LOG_NAME, "a", encoding="utf-8") as journal:
        journal.write(line.replace("\n", " ").rstrip() + "\n")
    if site is not None:
        add_observability(path, site, received_at)


def observe_trigger_file(path: Path, site: SiteConfig, at: datetime) -> None:
    """:func:`add_observability` under the triggers folder's lock (for a writer that does
    not hold it: the alert handler, after storing the packet)."""
    from data_access.alerts.trigger_files import _locked

    with _locked(path.parent):
        add_observability(path, site, at)


def observe_pending(triggers_dir: Path, site: SiteConfig, tried: dict[Path, float]) -> list[Path]:
    """Add the observability keys to the trigger files that lack them (those of
    ``gic-alert-handler``), each for the instant it was written (its modification time);
    returns the files done.

    Parameters
    ----------
    triggers_dir : Path
    site : SiteConfig
    tried : dict
        Path → modification time of the files looked at before, kept by the caller
        between calls, so that a file whose position cannot be computed is tried once.
    """
    done = []
    for path in sorted(Path(triggers_dir).glob("trigger_*.dat")):
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if tried.get(path) == mtime:
            continue
        try:
            keys = read_trigger_file(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("%s: not read for its observability: %s", path, exc)
            keys = {OBSERVED_KEY: ""}
        if OBSERVED_KEY not in keys:
            observe_trigger_file(path, site, datetime.fromtimestamp(mtime, UTC))
            done.append(path)
        tried[path] = path.stat().st_mtime
    return done


def add_observability(path: Path, site: SiteConfig, at: datetime) -> None:
    """Rewrite a trigger file with the ``obs_*`` keys of its position seen from ``site``."""
    from astropy.time import Time

    from analysis.observability import with_observability

    text = path.read_text(encoding="utf-8")
    try:
        extended = with_observability(
            text, telescope_site(site), Time(at.astimezone(UTC).replace(tzinfo=None))
        )
    except ValueError as exc:
        log.warning("%s: observability not added: %s", path, exc)
        return
    write_atomic(path.parent, path.name, extended.encode("utf-8"))


def telescope_site(config: SiteConfig):
    """The :class:`analysis.observability.Site` of the ``[site]`` settings."""
    from analysis.observability import Site

    return Site(config.name, config.latitude_deg, config.longitude_deg, config.elevation_m)


def read_trigger_writes(triggers_dir: Path) -> dict[str, datetime]:
    """ivorn → when the trigger file was last written for that notice (UTC, naive), from the
    write log of ``triggers_dir``; a line that cannot be read is left out."""
    journal = Path(triggers_dir) / TRIGGER_LOG_NAME
    if not journal.exists():
        return {}
    written = {}
    for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp, _, rest = line.partition(" ")
        ivorn = rest.partition(" ")[2]
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            continue
        if ivorn:
            written[ivorn] = moment.astimezone(UTC).replace(tzinfo=None)
    return written

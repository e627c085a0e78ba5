"""Reading the alerts in the cache: packets, bursts, quarantine and the operations feed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.gcn_notice import packet_kind
from analysis.trigger_file import trigger_file_name
from data_access.cache import Cache

_RETRACTED = """coalesce(
    a.ivorn IN (SELECT cited_ivorn FROM alert_citation WHERE cite = 'retraction')
    OR a.burst_id IN (SELECT burst_id FROM alert WHERE retraction AND burst_id IS NOT NULL),
    FALSE
)"""


class AlertQueries:
    """The reading half of :class:`~data_access.alerts.store.AlertStore`.

    It needs ``cache``, ``triggers_dir`` and ``quarantine_dir``, which the store sets.
    """

    cache: Cache
    triggers_dir: Path
    quarantine_dir: Path

    def alerts(
        self, *, limit: int | None = None, burst_id: str | None = None, include_tests: bool = True
    ) -> pd.DataFrame:
        """Alerts newest first (by packet date, then arrival), one row per packet.

        Columns: ivorn, role, burst_id, event_id, t0 (UTC), t0_mjd, ra, dec, error_deg (deg),
        mission, instrument, packet_type, author, packet_date, received_at, source,
        duplicates, retraction (this packet retracts others), retracted (the packet or its
        burst has been retracted), test (role is 'test').
        """
        where, params = ["TRUE"], []
        if burst_id is not None:
            where.append("a.burst_id = ?")
            params.append(burst_id)
        if not include_tests:
            where.append("a.role <> 'test'")
        sql = f"""
            SELECT a.ivorn, a.role, a.burst_id, a.event_id, a.t0, a.t0_mjd, a.ra, a.dec,
                   a.error_deg, a.mission, a.instrument, a.packet_type, a.author, a.packet_date,
                   a.received_at, a.source, a.duplicates, a.retraction,
                   {_RETRACTED} AS retracted, a.role = 'test' AS test
            FROM alert a WHERE {" AND ".join(where)}
            ORDER BY coalesce(a.packet_date, a.received_at) DESC, a.received_at DESC, a.ivorn
        """
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self.cache.query_df(sql, params)

    def last_change(self) -> tuple[int, int, int]:
        """A cheap fingerprint of the alerts and the feed, for a page that polls:
        (alerts stored, duplicates counted, operations messages); it changes when any does."""
        alerts, duplicates = self.cache.execute(
            "SELECT count(*), coalesce(sum(duplicates), 0) FROM alert"
        )[0]
        (messages,) = self.cache.execute("SELECT count(*) FROM operations_message")[0]
        return int(alerts), int(duplicates), int(messages)

    def alert(self, ivorn: str) -> dict | None:
        """One alert in full: every column, ``params``/``units`` as dicts, the document as
        received (``raw_xml``: the VOEvent XML or the JSON notice, as text; ``notice_format``
        says which), its citations, and the ivorns of the packets that retract it; None if
        unknown."""
        frame = self.cache.query_df(
            f"SELECT a.*, {_RETRACTED} AS retracted FROM alert a WHERE a.ivorn = ?", [ivorn]
        )
        if frame.empty:
            return None
        detail = frame.iloc[0].to_dict()
        detail["params"] = json.loads(detail["params"])
        detail["units"] = json.loads(detail["units"])
        detail["notice_format"] = (
            "json" if packet_kind(bytes(detail["raw_xml"])) == "json" else "voevent"
        )
        detail["raw_xml"] = bytes(detail["raw_xml"]).decode("utf-8", errors="replace")
        detail["citations"] = self.cache.query_df(
            "SELECT cited_ivorn AS ivorn, cite FROM alert_citation WHERE ivorn = ?", [ivorn]
        ).to_dict("records")
        detail["retracted_by"] = [
            row[0]
            for row in self.cache.execute(
                "SELECT c.ivorn FROM alert_citation c WHERE c.cite = 'retraction' AND "
                "c.cited_ivorn = ? UNION SELECT r.ivorn FROM alert r WHERE r.retraction AND "
                "r.burst_id IS NOT NULL AND r.burst_id = ? ORDER BY 1",
                [ivorn, detail["burst_id"]],
            )
        ]
        return detail

    def bursts(self) -> pd.DataFrame:
        """One row per SVOM burst, newest first: burst_id, packets, first and last packet dates,
        the smallest real error radius (deg; a zero or negative one means no position) and
        whether it was retracted."""
        return self.cache.query_df(
            """
            SELECT burst_id, count(*) AS packets, min(packet_date) AS first_packet,
                   max(packet_date) AS last_packet,
                   min(error_deg) FILTER (WHERE error_deg > 0) AS best_error_deg,
                   bool_or(retraction) AS retracted
            FROM alert WHERE burst_id IS NOT NULL
            GROUP BY burst_id ORDER BY last_packet DESC NULLS LAST, burst_id DESC
            """
        )

    def trigger_file(self, burst_id: str) -> Path | None:
        """The burst's trigger file, if one was written."""
        path = self.triggers_dir / trigger_file_name(burst_id)
        return path if path.exists() else None

    def quarantined(self) -> pd.DataFrame:
        """Packets in quarantine, newest first: file, reason, source, received, size (bytes)."""
        rows = []
        for note in sorted(self.quarantine_dir.glob("*.reason"), reverse=True):
            values = dict(
                line.split(" = ", 1)
                for line in note.read_text(encoding="utf-8").splitlines()
                if " = " in line
            )
            kept = [p for p in note.parent.glob(f"{note.stem}.*") if p.suffix != ".reason"]
            rows.append({"file": str(kept[0] if kept else note.with_suffix(".xml")), **values})
        return pd.DataFrame(
            rows, columns=["file", "reason", "source", "received", "size", "sha256"]
        )

    def operations_messages(self, *, limit: int = 200) -> pd.DataFrame:
        """The NATS operations feed, newest first: message_id, subject, received_at, kind,
        burst_id, text, payload (JSON text), error."""
        return self.cache.query_df(
            "SELECT * FROM operations_message ORDER BY received_at DESC, message_id DESC LIMIT ?",
            [int(limit)],
        )

"""Retracted bursts, as the products and the dossier need them.

A burst is retracted when one of its packets is a retraction (SVOM Packet_Type 219, a JSON
notice of ``alert_type`` retraction) or when a retraction cites one of its packets: the
same rule as the ``retracted`` column of :meth:`~data_access.alerts.bursts.BurstQueries.bursts`.
"""

from __future__ import annotations

import pandas as pd

from data_access.cache import Cache

#: The bursts retracted (one column, burst_id), for a join.
RETRACTED_BURSTS = """
    SELECT DISTINCT a.burst_id FROM alert a
    WHERE a.burst_id IS NOT NULL AND (a.retraction OR a.ivorn IN (
        SELECT cited_ivorn FROM alert_citation WHERE cite = 'retraction'))
"""

_RETRACTING = """
    SELECT r.ivorn, r.received_at FROM alert r
    WHERE (r.retraction AND r.burst_id = $burst) OR r.ivorn IN (
        SELECT c.ivorn FROM alert_citation c JOIN alert a ON a.ivorn = c.cited_ivorn
        WHERE c.cite = 'retraction' AND a.burst_id = $burst)
    ORDER BY r.received_at, r.ivorn
"""


def retractions(cache: Cache, burst_id: str) -> pd.DataFrame:
    """The packets that retract a burst, oldest first: ivorn, received_at (UTC); empty when
    the burst stands (it may be read inside the caller's transaction of ``cache``)."""
    rows = cache.execute(_RETRACTING, {"burst": burst_id})
    return pd.DataFrame(rows, columns=["ivorn", "received_at"])


def retraction_sentence(burst_id: str, retracting: pd.DataFrame) -> str:
    """What a page and the CLI say of a retracted burst: the burst and the packets that
    retract it (plain text, for the caller to escape)."""
    ivorns = ", ".join(retracting["ivorn"])
    return f"burst {burst_id} was retracted ({ivorns})"

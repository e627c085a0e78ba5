"""The audit log of the products: every action on a version, with its user, time and comment."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from data_access.cache import Cache


class AuditLog:
    """Rows of ``product_action``: written in the caller's transaction, read as a table.

    Parameters
    ----------
    cache : Cache
        The cache the entries are read from.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def record(
        self,
        con,
        product_id: int,
        burst_id: str,
        card: str,
        version: int,
        action: str,
        user: str,
        comment: str,
        at: datetime,
        detail: Any = None,
    ) -> None:
        """Log one action on one product version; ``detail`` is stored as JSON, with the lake
        snapshot the caller's transaction started from (what the user saw: ``gic --at``)."""
        con.execute(
            "INSERT INTO product_action VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                product_id,
                burst_id,
                card,
                version,
                action,
                user,
                comment,
                at,
                None if detail is None else json.dumps(detail),
                self.cache.snapshot(),
            ],
        )

    def entries(self, burst_id: str | None = None, product_id: int | None = None) -> pd.DataFrame:
        """Who did what: product_id, burst_id, card, version, action, user_name, comment,
        acted_at (UTC), detail (JSON); of one burst, one product, or all, oldest first."""
        clauses, params = [], []
        if burst_id is not None:
            clauses.append("burst_id = ?")
            params.append(burst_id)
        if product_id is not None:
            clauses.append("product_id = ?")
            params.append(int(product_id))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self.cache.query_df(
            f"SELECT * FROM product_action {where} ORDER BY acted_at, product_id", params
        )

"""The warnings of products built with a bad master, and their clearing by hand.

The latest version of a product whose latest GP2 run used a master since certified bad or
demoted carries a warning (:data:`~data_access.calibration.impact.PRODUCT_WARNINGS`) until a
newer version is built from a run without it, or a scientist clears it with a comment; the
clearing is kept (``product_warning_cleared``) and logged in the audit log as
``clear warning``.
"""

from __future__ import annotations

import pandas as pd

from data_access.cache import Cache
from data_access.calibration.impact import PRODUCT_WARNINGS
from data_access.calibration.reports import utc_now
from data_access.products.audit import AuditLog


class ProductWarnings:
    """The warnings standing on product versions, and clearing them.

    Parameters
    ----------
    cache : Cache
    audit : AuditLog
        Where each clearing is logged.
    """

    def __init__(self, cache: Cache, audit: AuditLog) -> None:
        self.cache = cache
        self.audit = audit

    def standing(self, burst_id: str | None = None) -> pd.DataFrame:
        """The standing warnings, of one burst or all: product_id, burst_id, card, version,
        master_id, file, caltype, why, run_id."""
        return self.cache.query_df(
            f"""
            SELECT p.product_id, p.burst_id, p.card, p.version, w.master_id, w.file,
                   w.caltype, w.why, w.run_id
            FROM ({PRODUCT_WARNINGS}) w JOIN product p USING (product_id)
            WHERE $burst IS NULL OR p.burst_id = $burst
            ORDER BY p.burst_id, p.card, w.master_id
            """,
            {"burst": burst_id},
        )

    def clear(self, product_id: int, *, user: str, comment: str) -> list[int]:
        """Clear a product version's warnings (every bad master of it), with a comment;
        logged as ``clear warning``. Returns the masters cleared.

        Raises
        ------
        ValueError
            If the comment or the user is empty, or the version carries no warning.
        """
        if not comment.strip() or not user.strip():
            raise ValueError("clearing a warning needs a comment and a user name")
        with self.cache.transaction() as con:
            standing = con.execute(
                f"SELECT w.master_id, w.file, p.burst_id, p.card, p.version "
                f"FROM ({PRODUCT_WARNINGS}) w JOIN product p USING (product_id) "
                "WHERE w.product_id = ? ORDER BY w.master_id",
                [int(product_id)],
            ).fetchall()
            if not standing:
                raise ValueError(f"product {product_id} carries no warning of a bad master")
            now = utc_now()
            for master_id, *_ in standing:
                con.execute(
                    "INSERT INTO product_warning_cleared VALUES (?, ?, ?, ?, ?)",
                    [int(product_id), master_id, user.strip(), comment.strip(), now],
                )
            _, _, burst_id, card, version = standing[0]
            detail = {"masters": [{"master_id": m, "file": f} for m, f, *_ in standing]}
            self.audit.record(
                con,
                int(product_id),
                burst_id,
                card,
                version,
                "clear warning",
                user.strip(),
                comment.strip(),
                now,
                detail,
            )
        return [m for m, *_ in standing]

"""The review of product versions: approve and reject, each allowed from some states only.

:class:`ProductReviews` changes the state of a version for
:class:`~data_access.products.store.ProductStore`, with what it is given: the cache, the
audit log and the store's reading of a record. Each change is one transaction of the cache
that checks the state, updates it and logs the action with its user and comment.
"""

from __future__ import annotations

from collections.abc import Callable

from data_access.cache import Cache
from data_access.products.audit import AuditLog
from data_access.products.push import now_utc

#: The states a version may be approved from, and rejected from.
APPROVABLE: tuple[str, ...] = ("new", "rejected")
REJECTABLE: tuple[str, ...] = ("new", "approved", "push failed")


class ProductStateError(ValueError):
    """An action the product's state does not allow; the message names the product."""


class ProductReviews:
    """Approve and reject product versions.

    Parameters
    ----------
    cache : Cache
    audit : AuditLog
        Where each action is logged.
    record : callable
        The cache row of a version, from its ID (``ProductStore.record``).
    """

    def __init__(self, cache: Cache, audit: AuditLog, *, record: Callable[[int], dict]) -> None:
        self.cache = cache
        self.audit = audit
        self.record = record

    def _transition(
        self,
        product_id: int,
        action: str,
        allowed: tuple[str, ...],
        target: str,
        *,
        user: str,
        comment: str,
    ) -> dict:
        if not user:
            raise ValueError("an action needs a user name")
        with self.cache.transaction() as con:
            row = con.execute(
                "SELECT burst_id, card, version, state, n_deviations FROM product "
                "WHERE product_id = ?",
                [int(product_id)],
            ).fetchone()
            if row is None:
                raise ValueError(f"no product with id {product_id}")
            burst_id, card, version, state, n_deviations = row
            name = f"{card} v{version} of {burst_id}"
            if state not in allowed:
                raise ProductStateError(f"{name} is {state}; {action} needs {' or '.join(allowed)}")
            if action == "approve" and n_deviations:
                raise ProductStateError(
                    f"{name} has {n_deviations} deviation(s) from its descriptor; "
                    "it cannot be approved"
                )
            now = now_utc()
            con.execute(
                "UPDATE product SET state = ?, updated_at = ? WHERE product_id = ?",
                [target, now, int(product_id)],
            )
            self.audit.record(
                con, int(product_id), burst_id, card, version, action, user, comment, now
            )
        return self.record(product_id)

    def approve(self, product_id: int, *, user: str, comment: str = "") -> dict:
        """Approve a new (or rejected) product for pushing; refused when it has deviations."""
        return self._transition(
            product_id, "approve", APPROVABLE, "approved", user=user, comment=comment
        )

    def reject(self, product_id: int, *, user: str, comment: str = "") -> dict:
        """Reject a product that is new, approved or whose push failed."""
        return self._transition(
            product_id, "reject", REJECTABLE, "rejected", user=user, comment=comment
        )

"""Pushing approved products to the SDB import API, at most once at a time.

A push first claims the product in one transaction of the cache (state ``pushing``,
a claim token and its time), so that two people pushing the same product at once make
one push; a product of a retracted burst is claimed only with an override (a comment,
logged as ``retraction override``), and refused otherwise; the product is marked ``pushed`` only when the import API answered OK, and
the answer (or the error) is stored. A claim left by a process that died is taken over
after ``[products] push_claim_s``. :class:`ProductPushes` does it for
:class:`~data_access.products.store.ProductStore`, with what it is given: the cache, the
audit log, the descriptors, the products folder and the claim time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from data_access.alerts.retractions import retraction_sentence, retractions
from data_access.cache import Cache
from data_access.faults import fault_point
from data_access.notifications import Notifier
from data_access.products.audit import AuditLog
from data_access.products.sdb_client import SdbClient, SdbError

Progress = Callable[[int, int], None]

#: The states a version may be pushed from (a stale ``pushing`` claim is taken over too).
PUSHABLE: tuple[str, ...] = ("approved", "push failed")

#: Why a product of a retracted burst is not pushed without an override.
RETRACTION_REFUSAL = (
    "{retracted}: its products are pushed only with an approver's override of the retraction, "
    "with a comment"
)


def now_utc() -> datetime:
    """Now, UTC, as the naive timestamp the cache stores."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class PushOutcome:
    """What one push did: ``state`` after it, the server's ``answer`` or the ``error``;
    ``retracted`` when it was refused because its burst was retracted (no override)."""

    product_id: int
    file_name: str
    state: str
    answer: dict | None = None
    error: str = ""
    pushed: bool = False
    retracted: bool = False


class ProductPushes:
    """Claim, push and record the outcome of one product at a time.

    Parameters
    ----------
    cache : Cache
    audit : AuditLog
        Where each claim and outcome is logged.
    descriptors : mapping of card to descriptor
        The descriptor sent before each product.
    burst_dir : callable
        The folder of a burst's products, from its ID.
    queue : callable
        The products of a burst (or all) as a DataFrame (``ProductStore.queue``).
    claim_s : float
        After how many seconds a claim left by a dead process is taken over.

    Attributes
    ----------
    notifier : Notifier or None
        Told of each failed push (``Stores`` sets the workspace's); None = nobody.
    """

    notifier: Notifier | None = None

    def __init__(
        self,
        cache: Cache,
        audit: AuditLog,
        *,
        descriptors,
        burst_dir: Callable[[str], Path],
        queue: Callable[..., pd.DataFrame],
        claim_s: float,
    ) -> None:
        self.cache = cache
        self.audit = audit
        self.descriptors = descriptors
        self.burst_dir = burst_dir
        self.queue = queue
        self.claim_s = claim_s

    # -- push ---------------------------------------------------------------------------
    def _claim(self, product_id: int, user: str, override: str = "") -> dict:
        """Take the product for pushing, in one transaction; the token is None when someone
        else has it, its state does not allow a push, or its burst was retracted and no
        ``override`` comment is given (``refusal`` then says so)."""
        token = uuid.uuid4().hex
        now = now_utc()
        stale = now - timedelta(seconds=self.claim_s)
        with self.cache.transaction() as con:
            row = con.execute(
                "SELECT burst_id, card, version, file_name, state, push_claimed_at FROM product "
                "WHERE product_id = ?",
                [int(product_id)],
            ).fetchone()
            if row is None:
                raise ValueError(f"no product with id {product_id}")
            burst_id, card, version, file_name, state, claimed_at = row
            free = state in PUSHABLE or (
                state == "pushing" and claimed_at is not None and claimed_at < stale
            )
            held = {
                "burst_id": burst_id,
                "card": card,
                "version": version,
                "file_name": file_name,
                "state": state,
                "token": None,
            }
            if not free:
                return held
            retracting = retractions(self.cache, burst_id)
            if len(retracting) and not override.strip():
                refusal = RETRACTION_REFUSAL.format(
                    retracted=retraction_sentence(burst_id, retracting)
                )
                return {**held, "refusal": f"not pushed: {refusal}"}
            if len(retracting):
                self.audit.record(
                    con,
                    int(product_id),
                    burst_id,
                    card,
                    version,
                    "retraction override",
                    user,
                    override.strip(),
                    now,
                    {"retracted_by": list(retracting["ivorn"])},
                )
            con.execute(
                "UPDATE product SET state = 'pushing', push_claim = ?, push_claimed_at = ?, "
                "updated_at = ? WHERE product_id = ?",
                [token, now, now, int(product_id)],
            )
            self.audit.record(
                con, int(product_id), burst_id, card, version, "push started", user, "", now
            )
        return {
            "burst_id": burst_id,
            "card": card,
            "version": version,
            "file_name": file_name,
            "state": "pushing",
            "token": token,
        }

    def push(
        self,
        product_id: int,
        client: SdbClient,
        *,
        user: str,
        comment: str = "",
        override_retraction: str = "",
    ) -> PushOutcome:
        """Send an approved product (its card, then the file) to the import API.

        Marked pushed only when the server answered OK (the answer is stored); any failure
        (timeout, refused connection, 5xx after the retries, or a refusal) marks it
        ``push failed`` with the error, and a later push may try again. A product someone
        else is pushing, already pushed, new or rejected is not sent (``pushed`` False,
        the state unchanged), nor one of a retracted burst unless ``override_retraction``
        gives the comment of an approver's override (logged as ``retraction override``;
        the caller checks the role).
        """
        if not user:
            raise ValueError("a push needs a user name")
        claim = self._claim(product_id, user, override_retraction)
        if claim["token"] is None:
            return PushOutcome(
                int(product_id),
                claim["file_name"],
                claim["state"],
                error=claim.get("refusal") or f"not pushed: the product is {claim['state']}",
                retracted="refusal" in claim,
            )
        card = claim["card"]
        try:
            content = (self.burst_dir(claim["burst_id"]) / claim["file_name"]).read_bytes()
            descriptor_json = json.dumps(self.descriptors[card].to_dict()).encode()
            client.upload_card(card, descriptor_json)
            answer = client.upload_product(claim["file_name"], content)
        except (SdbError, OSError) as exc:
            detail = getattr(exc, "answer", None)
            self._finish_push(
                product_id,
                claim,
                "push failed",
                {"error": str(exc), "answer": detail},
                user,
                comment,
            )
            if self.notifier is not None:
                self.notifier.push_failed(claim["burst_id"], claim["file_name"], str(exc))
            return PushOutcome(int(product_id), claim["file_name"], "push failed", detail, str(exc))
        fault_point("product-pushed")
        self._finish_push(product_id, claim, "pushed", answer, user, comment)
        return PushOutcome(int(product_id), claim["file_name"], "pushed", answer, pushed=True)

    def push_approved(
        self,
        client: SdbClient,
        *,
        user: str,
        burst_id: str | None = None,
        progress: Progress | None = None,
        override_retraction: str = "",
    ) -> list[PushOutcome]:
        """Push every approved (or failed) latest version, of one burst or all, and finish the
        pushes a dead process left claimed (``pushing``) once their claim is stale: the
        server may have stored the file already, and sending the same bytes again only
        makes it answer "Product updated." (one file there, not two). A retracted burst's
        products need ``override_retraction`` (see :meth:`push`)."""
        queue = self.queue(burst_id)
        states = [*PUSHABLE, "pushing"]
        ids = queue.loc[queue["state"].isin(states), "product_id"].tolist()
        outcomes = []
        for done, product_id in enumerate(ids, start=1):
            outcomes.append(
                self.push(
                    int(product_id), client, user=user, override_retraction=override_retraction
                )
            )
            if progress:
                progress(done, len(ids))
        return outcomes

    def _finish_push(
        self, product_id: int, claim: dict, state: str, answer: Any, user: str, comment: str
    ) -> None:
        now = now_utc()
        with self.cache.transaction() as con:
            con.execute(
                "UPDATE product SET state = ?, push_answer = ?, updated_at = ?, "
                "pushed_at = CASE WHEN ? = 'pushed' THEN ? ELSE pushed_at END, push_claim = NULL "
                "WHERE product_id = ? AND push_claim = ?",
                [state, json.dumps(answer), now, state, now, int(product_id), claim["token"]],
            )
            self.audit.record(
                con,
                int(product_id),
                claim["burst_id"],
                claim["card"],
                claim["version"],
                "push" if state == "pushed" else "push failed",
                user,
                comment,
                now,
                answer,
            )

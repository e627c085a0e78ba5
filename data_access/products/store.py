"""GFT products of the workspace: files by burst, review states, pushes and pulls.

::

    WORKSPACE/products/<burst ID>/DT_GFT_FGFT_<burst ID>_v01.fits   one file per version
    WORKSPACE/products/<burst ID>/images/                          images pulled from the MDB

Every version of every product has a row in the cache (``product``) with its state:

    new ──approve──▶ approved ──push──▶ pushing ──OK──▶ pushed
     │  ◀──approve── rejected ◀──reject──┘   └─error─▶ push failed ──push──▶ pushing

A product is marked pushed only when the import API answered OK; the answer (or the
error) is stored. A push first claims the product in one transaction (state
``pushing``), so two people pushing the same product at once produce one push; a claim
left by a process that died is taken over after ``[products] push_claim_s``. Every
action is in the audit log (``product_action``) with the user, the time and a comment.

The store builds and records versions and answers the queries; it hands the review
(``store.review``: :mod:`~data_access.products.review`), the pushes (``store.pushes``:
:mod:`~data_access.products.push`) and the transfers with the SDB (``store.transfers``:
:mod:`~data_access.products.transfer`) to one object each.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from astropy.io import fits

from analysis.products.builders import PRODUCT_CARDS, build_products, product_file_name
from analysis.products.compare import diff_products, product_fingerprint
from analysis.products.photometry import Burst, Photometry
from analysis.products.settings import BuildSettings, fit_window
from analysis.products.validate import validate_product
from data_access.alerts.retractions import RETRACTED_BURSTS
from data_access.cache import Cache, next_id
from data_access.calibration.impact import WARNING_TEXTS
from data_access.config import ProductsConfig
from data_access.faults import fault_point
from data_access.products.audit import AuditLog
from data_access.products.files import (
    DescriptorLibrary,
    fits_bytes,
    read_product_file,
)
from data_access.products.push import ProductPushes, now_utc
from data_access.products.review import ProductReviews
from data_access.products.transfer import ProductTransfers, table_frame
from data_access.products.warnings import ProductWarnings
from data_access.safe_files import safe_file_stem, write_atomic
from data_access.workspace import Workspace

_now = now_utc


class ProductStore:
    """GFT product files and their review in the cache.

    Parameters
    ----------
    cache : Cache
    products_dir : Path
        ``WORKSPACE/products``.
    descriptors : DescriptorLibrary, optional
        The shipped descriptors by default.
    config : ProductsConfig, optional

    Attributes
    ----------
    review : ProductReviews
        Approve and reject versions.
    pushes : ProductPushes
        Pushes to the import API, with the store's cache, audit log and claim time.
    transfers : ProductTransfers
        Pulls, coherence checks and archives, over the store's queue and files.
    warnings : ProductWarnings
        The warnings of versions built with a bad master, and their clearing.
    """

    def __init__(
        self,
        cache: Cache,
        products_dir: Path,
        *,
        descriptors: DescriptorLibrary | None = None,
        config: ProductsConfig | None = None,
    ) -> None:
        self.cache = cache
        self.products_dir = Path(products_dir)
        self.descriptors = descriptors or DescriptorLibrary()
        self.config = config or ProductsConfig()
        self.audit_log = AuditLog(cache)
        #: The frames' quality (:class:`~data_access.frame_quality.QualityStore`) where known.
        self.quality = None
        self.review = ProductReviews(cache, self.audit_log, record=self.record)
        self.warnings = ProductWarnings(cache, self.audit_log)
        self.pushes = ProductPushes(
            cache,
            self.audit_log,
            descriptors=self.descriptors,
            burst_dir=self.burst_dir,
            queue=self.queue,
            claim_s=self.config.push_claim_s,
        )
        self.transfers = ProductTransfers(
            descriptors=self.descriptors,
            burst_dir=self.burst_dir,
            record=self.record_file,
            queue=self.queue,
            path=self.path,
        )

    @classmethod
    def from_workspace(cls, workspace: Workspace, cache: Cache) -> ProductStore:
        config = workspace.config.products
        library = (
            DescriptorLibrary(workspace.root / config.descriptors_dir)
            if config.descriptors_dir
            else DescriptorLibrary()
        )
        return cls(cache, workspace.path(config.products_dir), descriptors=library, config=config)

    def burst_dir(self, burst_id: str) -> Path:
        """The folder of a burst's products (its name made safe)."""
        return self.products_dir / safe_file_stem(burst_id)

    # -- build --------------------------------------------------------------------------
    def settings(
        self, burst_id: str, my_vers: int, fit_window_s: tuple[float, float] | None = None
    ) -> BuildSettings:
        """The build's settings; the fit window is ``fit_window_s`` when given, else the
        configured one ([products] fit_start_s, fit_stop_s)."""
        fchart = self.config.fchart_url.replace("{burst_id}", burst_id)
        configured = fit_window(self.config.fit_start_s, self.config.fit_stop_s)
        return BuildSettings(
            my_vers=my_vers,
            proc_ver=self.config.proc_ver,
            pip_ver=self.config.pip_ver,
            creator=self.config.creator,
            origin=self.config.origin,
            fchart=fchart,
            quick_window_s=self.config.quick_window_s,
            fit_window_s=fit_window_s or configured,
        )

    def build(
        self,
        burst: Burst,
        photometry: Photometry,
        *,
        user: str,
        comment: str = "",
        fit_window_s: tuple[float, float] | None = None,
    ) -> pd.DataFrame:
        """Build the seven products of a burst and record each new version (state new).

        A product whose content (all but DATE and MY_VERS) equals its latest version makes
        no new version. The reprocessing version MY_VERS is one more than the burst's
        highest so far. ``fit_window_s`` (start, end in s after T0) overrides the
        configured fit window.

        Returns
        -------
        DataFrame
            One row per card: product_id, card, version, file_name, state, n_deviations,
            created (False when the content was unchanged).
        """
        my_vers = self._max_version(burst.burst_id) + 1
        products = build_products(
            photometry,
            burst,
            self.descriptors.as_dict(),
            self.settings(burst.burst_id, my_vers, fit_window_s),
        )
        rows, written = [], []
        for card, hdul in products.items():
            latest = self._latest(burst.burst_id, card)
            fingerprint = product_fingerprint(hdul)
            if latest is not None and latest["fingerprint"] == fingerprint:
                rows.append({**_summary(latest), "created": False})
                continue
            written.append(self._write(burst.burst_id, card, my_vers, hdul, fingerprint))
        # Every file is on disk before any is recorded, and all are recorded in one
        # transaction: a build killed in between leaves files no row names, which the next
        # build (the same MY_VERS, since nothing was recorded) writes over.
        fault_point("product-written")
        with self.cache.transaction() as con:
            recorded = [
                self._insert(con, item, source="build", user=user, comment=comment)
                for item in written
            ]
        return pd.DataFrame(rows + [{**row, "created": True} for row in recorded])

    def record_file(
        self,
        burst_id: str,
        card: str,
        version: int,
        hdul: fits.HDUList,
        fingerprint: str,
        *,
        source: str,
        user: str,
        comment: str,
        state: str = "new",
        content: bytes | None = None,
    ) -> dict:
        """Write one product file, then record it (state ``state``) and log the action.

        Returns
        -------
        dict
            The recorded version: product_id, burst_id, card, version, file_name, state,
            n_deviations.
        """
        item = self._write(burst_id, card, version, hdul, fingerprint, content=content)
        fault_point("product-written")
        with self.cache.transaction() as con:
            return self._insert(con, item, source=source, user=user, comment=comment, state=state)

    def _write(
        self,
        burst_id: str,
        card: str,
        version: int,
        hdul: fits.HDUList,
        fingerprint: str,
        *,
        content: bytes | None = None,
    ) -> dict:
        """Validate and write one product file (atomically); what :meth:`_insert` records."""
        report = validate_product(hdul, self.descriptors[card])
        content = content if content is not None else fits_bytes(hdul)
        name = product_file_name(card, safe_file_stem(burst_id), version)
        write_atomic(self.burst_dir(burst_id), name, content)
        return {
            "burst_id": burst_id,
            "card": card,
            "version": version,
            "file_name": name,
            "sha256": hashlib.sha256(content).hexdigest(),
            "fingerprint": fingerprint,
            "report": report,
        }

    def _insert(
        self, con, item: dict, *, source: str, user: str, comment: str, state: str = "new"
    ) -> dict:
        """Record a written product file (in the caller's transaction) and log the action."""
        now = _now()
        report = item["report"]
        product_id = next_id(con, "product", "product_id")
        con.execute(
            "INSERT INTO product VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?)",
            [
                product_id,
                item["burst_id"],
                item["card"],
                item["version"],
                item["file_name"],
                item["sha256"],
                item["fingerprint"],
                source,
                state,
                len(report.deviations),
                json.dumps(report.to_dict()),
                now,
                now,
                self.cache.snapshot(),  # the lake as it was when the version was made
            ],
        )
        self.audit_log.record(
            con,
            product_id,
            item["burst_id"],
            item["card"],
            item["version"],
            source,
            user,
            comment,
            now,
            {"deviations": len(report.deviations)},
        )
        return {
            "product_id": product_id,
            "burst_id": item["burst_id"],
            "card": item["card"],
            "version": item["version"],
            "file_name": item["file_name"],
            "state": state,
            "n_deviations": len(report.deviations),
        }

    def _max_version(self, burst_id: str) -> int:
        row = self.cache.execute("SELECT max(version) FROM product WHERE burst_id = ?", [burst_id])
        return int(row[0][0] or 0)

    def _latest(self, burst_id: str, card: str) -> dict | None:
        frame = self.cache.query_df(
            "SELECT * FROM product WHERE burst_id = ? AND card = ? ORDER BY version DESC LIMIT 1",
            [burst_id, card],
        )
        return None if frame.empty else frame.iloc[0].to_dict()

    # -- queries ------------------------------------------------------------------------
    def bursts(self) -> pd.DataFrame:
        """One row per burst with products: burst_id, products, new, approved, pushed,
        push_failed, retracted (the burst was), warnings (products built with a bad master),
        updated_at (the latest version of each product counts)."""
        frame = self.cache.query_df(
            f"""
            WITH latest AS (
                SELECT * FROM product QUALIFY row_number() OVER (
                    PARTITION BY burst_id, card ORDER BY version DESC) = 1)
            SELECT l.burst_id, count(*) AS products,
                   count(*) FILTER (WHERE state = 'new') AS new,
                   count(*) FILTER (WHERE state = 'approved') AS approved,
                   count(*) FILTER (WHERE state = 'pushed') AS pushed,
                   count(*) FILTER (WHERE state = 'push failed') AS push_failed,
                   count(w.product_id) AS warnings,
                   max(updated_at) AS updated_at
            FROM latest l LEFT JOIN ({WARNING_TEXTS}) w ON w.product_id = l.product_id
            GROUP BY l.burst_id ORDER BY updated_at DESC
            """
        )
        return self._with_retracted(frame, after="push_failed")

    def _with_retracted(self, frame: pd.DataFrame, *, after: str) -> pd.DataFrame:
        """``frame`` with a ``retracted`` column (whether its burst was) after ``after``.

        The retractions are read apart from the products: every alert stored changes the
        alert table, and a query naming it is asked again after each (a burst's products
        joined with the alerts took 100 ms on the demo workspace, the products alone are kept
        until a product changes; :mod:`data_access.read_cache`)."""
        retracted = {row[0] for row in self.cache.execute(RETRACTED_BURSTS)}
        frame.insert(
            frame.columns.get_loc(after) + 1, "retracted", frame["burst_id"].isin(retracted)
        )
        return frame

    def queue(self, burst_id: str | None = None, *, all_versions: bool = False) -> pd.DataFrame:
        """The review queue: the latest version of each product (every version with
        ``all_versions``), of one burst or all, with its state, whether its burst was
        retracted, and its warning ('' when none: see :mod:`data_access.calibration.impact`)."""
        latest = (
            ""
            if all_versions
            else (
                "QUALIFY row_number() OVER "
                "(PARTITION BY p.burst_id, p.card ORDER BY p.version DESC) = 1"
            )
        )
        where = "WHERE p.burst_id = ?" if burst_id is not None else ""
        frame = self.cache.query_df(
            f"""
            SELECT p.product_id, p.burst_id, p.card, p.version, p.file_name, p.state,
                   p.n_deviations, p.source, p.created_at, p.updated_at, p.pushed_at,
                   p.push_answer, p.lake_snapshot, coalesce(w.warning, '') AS warning
            FROM product p LEFT JOIN ({WARNING_TEXTS}) w ON w.product_id = p.product_id
            {where} {latest}
            ORDER BY p.burst_id, p.card, p.version DESC
            """,
            [burst_id] if burst_id is not None else [],
        )
        return self._with_retracted(frame, after="lake_snapshot")

    def versions(self, burst_id: str, card: str) -> pd.DataFrame:
        """Every version of one product, newest first."""
        frame = self.queue(burst_id, all_versions=True)
        return frame[frame["card"] == card].reset_index(drop=True)

    def record(self, product_id: int) -> dict:
        """The cache row of one product version; ValueError when unknown."""
        frame = self.cache.query_df("SELECT * FROM product WHERE product_id = ?", [int(product_id)])
        if frame.empty:
            raise ValueError(f"no product with id {product_id}")
        row = frame.iloc[0].to_dict()
        row["validation"] = json.loads(row["validation"])
        row["push_answer"] = json.loads(row["push_answer"]) if row["push_answer"] else None
        return row

    def path(self, product_id: int) -> Path:
        row = self.record(product_id)
        return self.burst_dir(row["burst_id"]) / row["file_name"]

    def read(self, product_id: int) -> fits.HDUList:
        """The product file of a version."""
        return read_product_file(self.path(product_id))

    def detail(self, product_id: int) -> dict:
        """Everything the review shows of one version: the record, every header (a list of
        ``(keyword, value, comment)`` per extension), every table (a DataFrame per
        extension) and the validation report."""
        hdul = self.read(product_id)
        headers = {
            (_hdu_name(h, i)): [(c.keyword, c.value, c.comment) for c in h.header.cards]
            for i, h in enumerate(hdul)
        }
        tables = {h.name: table_frame(h) for h in hdul[1:] if isinstance(h, fits.BinTableHDU)}
        record = self.record(product_id)
        return {
            "record": record,
            "headers": headers,
            "tables": tables,
            "validation": record["validation"],
        }

    def diff(self, old_id: int, new_id: int) -> pd.DataFrame:
        """What changed between two versions: extension, item, old, new."""
        changes = diff_products(self.read(old_id), self.read(new_id))
        return pd.DataFrame(
            [c.to_dict() for c in changes], columns=["extension", "item", "old", "new"]
        )

    def light_curve(self, burst_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The latest LC and QTI of a burst: the points (filter, t_s after T0 at mid-exposure,
        mag, mag_err, detected, limit_mag) and the fits (the QTI table)."""
        queue = self.queue(burst_id)
        ids = dict(zip(queue["card"], queue["product_id"], strict=True))
        if PRODUCT_CARDS["LC"] not in ids:
            raise ValueError(f"burst {burst_id} has no light curve product")
        lc = table_frame(self.read(ids[PRODUCT_CARDS["LC"]])[1])
        points = pd.DataFrame(
            {
                "filter": lc["FILTER"],
                "t_s": lc["DELTAT"] + lc["EXPTIME"] / 2.0,
                "mag": lc["MAG"],
                "mag_err": lc["MAGERR"],
                "detected": lc["DETECTED"].astype(bool),
                "limit_mag": lc["LIMMAG"],
            }
        )
        fits_frame = (
            table_frame(self.read(ids[PRODUCT_CARDS["QTI"]])[1])
            if PRODUCT_CARDS["QTI"] in ids
            else pd.DataFrame()
        )
        return points, fits_frame

    def audit(self, burst_id: str | None = None, product_id: int | None = None) -> pd.DataFrame:
        """Who did what, of a burst or a product: :meth:`AuditLog.entries`."""
        return self.audit_log.entries(burst_id, product_id)


def _summary(row: dict) -> dict:
    return {
        k: row[k]
        for k in ("product_id", "burst_id", "card", "version", "file_name", "state", "n_deviations")
    }


def _hdu_name(hdu: Any, index: int) -> str:
    return "PrimaryHDU" if index == 0 else hdu.name

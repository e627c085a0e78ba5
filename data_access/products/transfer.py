"""Products exchanged with the outside: pulled from the export API, compared with the SDB
(the notes' coherence checks), and written as one archive for many bursts.

:class:`ProductTransfers` talks to the export API and writes archives for
:class:`~data_access.products.store.ProductStore`, with what it is given: the descriptors,
the products folder, and the store's queue, file paths and recording of a new version.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from analysis.products.compare import compare_structure, product_fingerprint
from data_access.products.files import ProductFileError, read_fits_bytes
from data_access.products.sdb_client import RemoteFile, SdbClient, SdbError
from data_access.safe_files import safe_file_stem, write_atomic

Progress = Callable[[int, int], None]

#: The columns of a coherence check, and the statuses of its rows.
COHERENCE_COLUMNS = ["name", "card", "where", "state", "status", "problems"]
COHERENCE_STATUSES = ("same", "not pushed yet", "not pulled yet", "conflict")
#: The status of a row without problem, by where the file is.
_AGREEING = {"both": "same", "workspace only": "not pushed yet", "SDB only": "not pulled yet"}


@dataclass(frozen=True)
class PulledFile:
    """A file brought from the export API: ``status`` new, same (already here) or differs."""

    kind: str
    name: str
    status: str
    path: Path | None


class ProductTransfers:
    """Pull, coherence and archive.

    Parameters
    ----------
    descriptors : mapping of card to descriptor
        Which cards a pulled product may carry.
    burst_dir : callable
        The folder of a burst's products, from its ID.
    record : callable
        Writes and records a new product version (``ProductStore.record_file``).
    queue : callable
        The products of a burst as a DataFrame (``ProductStore.queue``).
    path : callable
        The file of a product, from its ID (``ProductStore.path``).
    """

    def __init__(
        self,
        *,
        descriptors,
        burst_dir: Callable[[str], Path],
        record: Callable[..., dict],
        queue: Callable[..., pd.DataFrame],
        path: Callable[[int], Path],
    ) -> None:
        self.descriptors = descriptors
        self.burst_dir = burst_dir
        self.record = record
        self.queue = queue
        self.path = path

    # -- pull, coherence, archive -------------------------------------------------------
    def remote(self, burst_id: str, client: SdbClient) -> list[RemoteFile]:
        """The burst's products and images on the export API."""
        return client.search(burst_id, kind="products") + client.search(burst_id, kind="images")

    def pull(
        self,
        burst_id: str,
        client: SdbClient,
        *,
        names: Iterable[str] | None = None,
        user: str = "gic",
        progress: Progress | None = None,
    ) -> list[PulledFile]:
        """Bring a burst's products and images (all, or those named) into the workspace.

        A product not yet here is recorded (source pull, state pushed: it is on the SDB);
        one already here with the same bytes is left alone; one that differs is kept
        beside it under ``<burst>/sdb/`` for the coherence check, never over the local file.
        """
        wanted = set(names) if names is not None else None
        remote = [r for r in self.remote(burst_id, client) if wanted is None or r.name in wanted]
        pulled = []
        for done, item in enumerate(remote, start=1):
            pulled.append(self._pull_one(burst_id, item, client, user))
            if progress:
                progress(done, len(remote))
        return pulled

    def _pull_one(
        self, burst_id: str, item: RemoteFile, client: SdbClient, user: str
    ) -> PulledFile:
        content = client.download(item)
        if hashlib.sha256(content).hexdigest() != item.sha256:
            raise SdbError(f"{item.name}: the download does not match the listed SHA-256")
        folder = (
            self.burst_dir(burst_id) / "images"
            if item.kind == "images"
            else self.burst_dir(burst_id)
        )
        local = folder / safe_file_stem(item.name)
        if local.is_file() and local.read_bytes() == content:
            return PulledFile(item.kind, item.name, "same", local)
        if local.is_file():
            path = write_atomic(
                self.burst_dir(burst_id) / "sdb", safe_file_stem(item.name), content
            )
            return PulledFile(item.kind, item.name, "differs", path)
        if item.kind == "images":
            return PulledFile(
                item.kind, item.name, "new", write_atomic(folder, local.name, content)
            )
        hdul = read_fits_bytes(content, item.name)
        card, version = hdul[0].header.get("CARD", ""), int(hdul[0].header.get("MY_VERS", 0) or 0)
        if card not in self.descriptors:
            raise ProductFileError(f"{item.name}: CARD {card!r} has no descriptor")
        row = self.record(
            burst_id,
            card,
            version,
            hdul,
            product_fingerprint(hdul),
            source="pull",
            user=user,
            comment="pulled from the export API",
            state="pushed",
            content=content,
        )
        return PulledFile(item.kind, item.name, "new", self.burst_dir(burst_id) / row["file_name"])

    def coherence(self, burst_id: str, client: SdbClient) -> pd.DataFrame:
        """The notes' checks between the workspace and the SDB for one burst's products.

        Columns: name, card, where (workspace only, SDB only, both), state (in the
        workspace; '' for the SDB only), status and problems. ``status`` is one of
        :data:`COHERENCE_STATUSES`: ``same`` on both sides; ``not pushed yet`` (here only
        and never pushed) and ``not pulled yet`` (on the SDB only) are not problems; a
        ``conflict`` is: both sides differ (bytes, number of headers, keywords), or a
        version marked pushed here is not in the SDB. ``problems`` says what, '' otherwise.
        """
        local = self.queue(burst_id, all_versions=True)
        states = dict(zip(local["file_name"], local["state"], strict=True))
        ids = dict(zip(local["file_name"], local["product_id"], strict=True))
        remote = {r.name: r for r in client.search(burst_id, kind="products")}
        rows = []
        for name in sorted(set(states) | set(remote)):
            where = (
                "both"
                if name in states and name in remote
                else ("workspace only" if name in states else "SDB only")
            )
            if where == "both":
                problems = self._differences(name, self.path(ids[name]), remote[name], client)
            elif where == "SDB only":
                problems = ""
            else:
                problems = "marked pushed but not in the SDB" if states[name] == "pushed" else ""
            rows.append(
                {
                    "name": name,
                    "card": name.split("_" + safe_file_stem(burst_id))[0],
                    "where": where,
                    "state": states.get(name, ""),
                    "status": "conflict" if problems else _AGREEING[where],
                    "problems": problems,
                }
            )
        return pd.DataFrame(rows, columns=COHERENCE_COLUMNS)

    @staticmethod
    def _differences(name: str, path: Path, theirs: RemoteFile, client: SdbClient) -> str:
        """How a file here differs from the SDB's ('' when the bytes are the same)."""
        mine = path.read_bytes()
        if hashlib.sha256(mine).hexdigest() == theirs.sha256:
            return ""
        other = read_fits_bytes(client.download(theirs), name)
        return "; ".join(["bytes differ"] + compare_structure(read_fits_bytes(mine, name), other))

    def archive(
        self,
        burst_ids: Iterable[str],
        output: Path,
        *,
        all_versions: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        """Write the products of one or many bursts as one zip archive (``<burst>/<file>``,
        with ``manifest.json`` listing each file's card, version and state).

        Raises
        ------
        ValueError
            If a burst has no product (the message names it); nothing is written then.
        """
        frames = []
        for burst_id in burst_ids:
            frame = self.queue(burst_id, all_versions=all_versions)
            if frame.empty:
                raise ValueError(f"burst {burst_id} has no product in the workspace")
            frames.append(frame)
        rows = pd.concat(frames, ignore_index=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for done, row in enumerate(rows.itertuples(), start=1):
                folder = safe_file_stem(row.burst_id)
                archive.write(
                    self.burst_dir(row.burst_id) / row.file_name, f"{folder}/{row.file_name}"
                )
                if progress:
                    progress(done, len(rows))
            manifest = rows[["burst_id", "card", "version", "file_name", "state"]].to_dict(
                "records"
            )
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, default=str))
        output = Path(output)
        return write_atomic(output.parent, output.name, buffer.getvalue())


def table_frame(hdu: fits.BinTableHDU) -> pd.DataFrame:
    """A FITS table as a DataFrame (strings stripped, native byte order)."""
    if hdu.data is None:
        return pd.DataFrame(columns=hdu.columns.names)
    columns = {}
    for name in hdu.columns.names:
        values = np.asarray(hdu.data[name])
        if values.dtype.kind in "SU":
            columns[name] = [str(v).strip() for v in values.astype(str)]
        else:
            columns[name] = values.astype(values.dtype.newbyteorder("="))
    return pd.DataFrame(columns)

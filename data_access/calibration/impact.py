"""Where each master went: the masters every GP2 run used, the product versions built from
each run, and what a master certified bad or demoted touched.

::

    gp2_run_master             run → the masters it read (file, master id, history entry,
                               images served, the cache's DuckLake snapshot once on DuckLake)
    product_run                product version → the run it was built from
    product_warning_cleared    a product's warning of a bad master, cleared by a scientist
    reprocess_request          a run to do again with the masters now in force
    reprocess_outcome          what became of a request: the run made again, or why not

A master is *bad* when its status is ``rejected`` (demoted, or invalid when built) or when
the latest certification of its report says bad. The latest version of a product whose
latest run used a bad master carries a warning until a newer version is built (from a run
without it) or a scientist clears it with a comment
(:class:`~data_access.products.warnings.ProductWarnings`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from data_access.cache import Cache, next_id
from data_access.calibration.masters import MasterFiles
from data_access.calibration.reports import CalibrationStoreError, utc_now

#: The bad masters: master_id, why ('certified bad' or 'rejected').
BAD_MASTERS = """
    SELECT m.master_id,
           CASE WHEN c.verdict = FALSE THEN 'certified bad' ELSE 'rejected' END AS why
    FROM calibration_master m
    LEFT JOIN (SELECT r.master_id, arg_max(c.verdict, c.certified_at) AS verdict
               FROM calibration_certification c JOIN calibration_report r USING (report_id)
               WHERE r.master_id IS NOT NULL GROUP BY r.master_id) c USING (master_id)
    WHERE m.status = 'rejected' OR c.verdict = FALSE
"""

#: The standing warnings: product_id, master_id, file, caltype, why, run_id (the latest
#: version of a product whose latest run used a bad master, not cleared for it).
PRODUCT_WARNINGS = f"""
    SELECT o.product_id, u.master_id, u.file, u.caltype, b.why, o.run_id
    FROM (SELECT product_id, arg_max(run_id, recorded_at) AS run_id
          FROM product_run GROUP BY product_id) o
    JOIN (SELECT product_id FROM product QUALIFY row_number() OVER (
              PARTITION BY burst_id, card ORDER BY version DESC) = 1) l USING (product_id)
    JOIN gp2_run_master u ON u.run_id = o.run_id
    JOIN ({BAD_MASTERS}) b ON b.master_id = u.master_id
    WHERE NOT EXISTS (SELECT 1 FROM product_warning_cleared w
                      WHERE w.product_id = o.product_id AND w.master_id = u.master_id)
"""

#: One warning text per product version: product_id, warning.
WARNING_TEXTS = f"""
    SELECT product_id,
           'built by run ' || any_value(run_id) || ' with ' ||
           string_agg(DISTINCT file_name || ' (' || why || ')', ', ') AS warning
    FROM (SELECT *, regexp_extract(file, '[^/]+$') AS file_name FROM ({PRODUCT_WARNINGS}))
    GROUP BY product_id
"""

RUN_COLUMNS = [
    "run_id",
    "burst_id",
    "caltype",
    "instrume",
    "filter",
    "file",
    "master_id",
    "history_entry",
    "n_images",
    "lake_snapshot",
    "recorded_at",
]


class MasterImpact:
    """The masters of the GP2 runs, and the runs and products a master served.

    Parameters
    ----------
    cache : Cache
    files : MasterFiles
        The masters folder, to name a run's file by its history entry.
    """

    def __init__(self, cache: Cache, files: MasterFiles) -> None:
        self.cache = cache
        self.files = files

    # -- recording ----------------------------------------------------------------------
    def record_run(self, run_id: str, burst_id: str | None, uses: Iterable[Mapping]) -> int:
        """Record the masters one run used (once: a run recorded before is left as it is).

        ``uses`` holds one mapping per master and kind of frame: caltype, instrument,
        filter, file (the path the run read), n_images. The file is matched to its master
        by its place in the masters folder, else by its file name (a copy beside the
        frames keeps it). Returns the number of rows written.
        """
        known = self.cache.query_df("SELECT master_id, path FROM calibration_master")
        rows = [
            [
                run_id,
                burst_id,
                u["caltype"],
                u["instrument"],
                u["filter"],
                str(u["file"]),
                *self._history_entry(Path(u["file"]), known),
                int(u["n_images"]),
            ]
            for u in uses
        ]
        with self.cache.transaction() as con:
            if con.execute("SELECT 1 FROM gp2_run_master WHERE run_id = ?", [run_id]).fetchone():
                return 0
            now, snapshot = utc_now(), self.cache.snapshot()
            for row in rows:
                con.execute(
                    "INSERT INTO gp2_run_master VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*row, snapshot, now],
                )
        return len(rows)

    def _history_entry(self, path: Path, known: pd.DataFrame) -> tuple[int | None, str | None]:
        """(master_id, path in the masters folder) of a file a run read; Nones if unknown."""
        try:
            relative = self.files.relative(path)
        except ValueError:  # outside the masters folder: a copy, named as its master
            relative = None
        matched = known[known["path"] == relative] if relative else known.iloc[0:0]
        if matched.empty:
            matched = known[known["path"].map(lambda p: Path(p).name) == path.name]
        if len(matched) != 1:
            return None, None
        return int(matched["master_id"].iloc[0]), str(matched["path"].iloc[0])

    # -- what a master served -----------------------------------------------------------
    def master(self, key: str | int) -> dict:
        """One master by its id or its file name, with ``bad`` and ``why``.

        Raises
        ------
        CalibrationStoreError
            If no master (or more than one) has that id or file name.
        """
        text = str(key).strip()
        frame = self.cache.query_df(
            f"""
            SELECT m.master_id, m.caltype, m.instrume AS instrument, m.filter, m.night, m.path,
                   m.status, m.lake_snapshot, b.why IS NOT NULL AS bad,
                   coalesce(b.why, '') AS why
            FROM calibration_master m LEFT JOIN ({BAD_MASTERS}) b USING (master_id)
            WHERE CAST(m.master_id AS VARCHAR) = $key OR m.path = $key
               OR regexp_extract(m.path, '[^/]+$') = $key
            """,
            {"key": text},
        )
        if frame.empty:
            raise CalibrationStoreError(f"no master with id or file name {text!r}")
        if len(frame) > 1:
            paths = ", ".join(frame["path"])
            raise CalibrationStoreError(
                f"{text!r} names {len(frame)} masters ({paths}): give its id"
            )
        return frame.iloc[0].to_dict()

    def master_of_report(self, report_id: int) -> int | None:
        """The master a report was made for, or None (a report that came alone)."""
        rows = self.cache.execute(
            "SELECT master_id FROM calibration_report WHERE report_id = ?", [int(report_id)]
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def runs(self, master_id: int) -> pd.DataFrame:
        """The runs that used a master, newest first (:data:`RUN_COLUMNS`)."""
        return self.cache.query_df(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM gp2_run_master WHERE master_id = ? "
            "ORDER BY recorded_at DESC, run_id DESC",
            [int(master_id)],
        )

    def products(self, master_id: int) -> pd.DataFrame:
        """The product versions built from a run that used a master: product_id, burst_id,
        card, version, state, run_id, latest (the newest version of its product), warning
        (it carries the master's warning now), cleared_by and cleared_comment."""
        return self.cache.query_df(
            f"""
            SELECT p.product_id, p.burst_id, p.card, p.version, p.state, pr.run_id,
                   p.version = max(p.version) OVER (PARTITION BY p.burst_id, p.card) AS latest,
                   w.product_id IS NOT NULL AS warning,
                   c.user_name AS cleared_by, c.comment AS cleared_comment
            FROM product_run pr JOIN product p USING (product_id)
            LEFT JOIN ({PRODUCT_WARNINGS}) w
                ON w.product_id = p.product_id AND w.master_id = $master
            LEFT JOIN product_warning_cleared c
                ON c.product_id = p.product_id AND c.master_id = $master
            WHERE pr.run_id IN (SELECT run_id FROM gp2_run_master WHERE master_id = $master)
            ORDER BY p.burst_id, p.card, p.version DESC
            """,
            {"master": int(master_id)},
        )

    # -- acting on it -------------------------------------------------------------------
    def queue_reprocessing(
        self, master_id: int, *, user: str, sources: Mapping[str, str] | None = None
    ) -> pd.DataFrame:
        """Ask for every run that used a master to be done again with the masters now in
        force (one request per run, none for a run already queued). ``sources`` gives each
        run's frames folder where known. Returns the requests made now."""
        if not user.strip():
            raise ValueError("a reprocessing request needs a user name")
        sources = sources or {}
        with self.cache.transaction() as con:
            runs = con.execute(
                "SELECT DISTINCT u.run_id, u.burst_id FROM gp2_run_master u "
                "WHERE u.master_id = ? AND NOT EXISTS (SELECT 1 FROM reprocess_request q "
                "WHERE q.run_id = u.run_id AND q.state = 'queued') ORDER BY u.run_id",
                [int(master_id)],
            ).fetchall()
            first = next_id(con, "reprocess_request", "request_id")
            now = utc_now()
            for offset, (run_id, burst_id) in enumerate(runs):
                con.execute(
                    "INSERT INTO reprocess_request VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', NULL)",
                    [
                        first + offset,
                        run_id,
                        burst_id,
                        sources.get(run_id),
                        int(master_id),
                        user.strip(),
                        now,
                    ],
                )
        return self.requests().query(f"request_id >= {first}").reset_index(drop=True)

    def requests(self, master_id: int | None = None) -> pd.DataFrame:
        """The reprocessing asked for, of one master or all, newest first: request_id,
        run_id, burst_id, source, master_id, user_name, requested_at, state (queued,
        running, done, failed), then new_run_id, reason and finished_at once finished."""
        return self.cache.query_df(
            "SELECT q.*, o.new_run_id, o.reason, o.finished_at FROM reprocess_request q "
            "LEFT JOIN reprocess_outcome o USING (request_id) "
            "WHERE $master IS NULL OR q.master_id = $master ORDER BY request_id DESC",
            {"master": None if master_id is None else int(master_id)},
        )

    def claim_request(self) -> dict | None:
        """Take the oldest queued request (its state set to ``running`` and this process
        named as its taker in the same transaction, so that it is taken once), or None when
        nothing is queued. Requests left running by a process of this host that has died
        are queued again first (:meth:`requeue_abandoned`)."""
        self.requeue_abandoned()
        with self.cache.transaction() as con:
            row = con.execute(
                "SELECT request_id FROM reprocess_request WHERE state = 'queued' "
                "ORDER BY request_id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            con.execute(
                "UPDATE reprocess_request SET state = 'running', claimed_by = ? "
                "WHERE request_id = ?",
                [_this_process(), row[0]],
            )
        return self.requests().query(f"request_id == {int(row[0])}").iloc[0].to_dict()

    def requeue_abandoned(self) -> list[int]:
        """Queue again the requests left ``running`` by a process of this host that no
        longer exists (killed in the middle of a reprocessing); returns their ids. Those of
        other hosts are left to their own."""
        host = socket.gethostname()
        running = self.cache.execute(
            "SELECT request_id, claimed_by FROM reprocess_request WHERE state = 'running'"
        )
        abandoned = [
            int(request_id)
            for request_id, taker in running
            if taker is None or (taker.partition("@")[2] == host and not _alive(taker))
        ]
        if abandoned:
            with self.cache.transaction() as con:
                con.execute(
                    "UPDATE reprocess_request SET state = 'queued', claimed_by = NULL "
                    f"WHERE state = 'running' AND request_id IN ({', '.join(['?'] * len(abandoned))})",
                    abandoned,
                )
        return abandoned

    def finish_request(
        self, request_id: int, *, new_run_id: str | None = None, reason: str = ""
    ) -> None:
        """Mark a request ``done`` (run again as ``new_run_id``) or ``failed`` (``reason``)."""
        state = "failed" if reason else "done"
        with self.cache.transaction() as con:
            con.execute(
                "UPDATE reprocess_request SET state = ? WHERE request_id = ?",
                [state, int(request_id)],
            )
            con.execute(
                "INSERT INTO reprocess_outcome VALUES (?, ?, ?, ?)",
                [int(request_id), new_run_id, reason, utc_now()],
            )


def _this_process() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def _alive(taker: str) -> bool:
    """Whether the process named ``pid@host`` (of this host) still runs."""
    try:
        os.kill(int(taker.partition("@")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True  # another user's process, or a name not understood: left alone
    return True


def record_product_run(cache: Cache, run_id: str, product_ids: Iterable[int]) -> None:
    """Note that product versions were built (or found unchanged) from a run's photometry."""
    now = utc_now()
    with cache.transaction() as con:
        for product_id in product_ids:
            con.execute(
                "INSERT INTO product_run SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
                "product_run WHERE product_id = ? AND run_id = ?)",
                [int(product_id), run_id, now, int(product_id), run_id],
            )

"""Documents from the CDB's PostgreSQL table, one JSON document per row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from data_access.cdb.sync import FetchedPage, StatusSourceError
from data_access.config import CdbPostgresConfig
from data_access.redact import MASK, redact_secrets
from data_access.safe_files import safe_file_stem, write_atomic
from data_access.telemetry.store import StatusDocument

#: The source's name, as stored beside every document it brought.
CDB_POSTGRES = "cdb-postgres"


def table_identifier(name: str, *, setting: str = "cdb.postgres.status_table") -> sql.Identifier:
    """``table`` or ``schema.table`` as a safely quoted SQL identifier.

    ``setting`` is the configuration key named in the error.

    Raises
    ------
    ValueError
        If the name is empty or has an empty part or more than two parts.
    """
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
        raise ValueError(f"{setting} {name!r} must be 'table' or 'schema.table'")
    return sql.Identifier(*(p.strip() for p in parts))


def _position(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


class CdbPostgresSource:
    """Status documents from the CDB's PostgreSQL table, one JSONB document per row.

    Rows are read in the order of the date column, then the id, from the stored cursor
    on (rows dated exactly at the cursor are read again, and found unchanged). A row's
    document may be a list of records or a single record. Each row is kept as received
    under ``raw_dir`` and ingested under the key ``<table>/<id>``; rows whose date is
    NULL are not read.

    Parameters
    ----------
    config : CdbPostgresConfig
        ``dsn``, ``status_table`` (``schema.table`` allowed), ``id_column``,
        ``json_column``, ``date_column``.
    password : str or None
        The password, read by the caller from the variable ``config.password_env``;
        None lets libpq find one (``.pgpass``) or go without.
    raw_dir : Path
        Folder for the rows as received (``WORKSPACE/raw/status/cdb-postgres``).
    page_rows : int, optional
        Rows fetched and ingested together.
    connect_timeout_s : int, optional
        Seconds allowed to connect.
    table : str, optional
        The table read instead of ``config.status_table`` (same columns).
    table_setting : str, optional
        The configuration key of ``table``, named in errors.
    single_as_list : bool, optional
        Whether a row holding a single JSON object is kept as a one-element list (status
        documents are lists of records); False keeps every row exactly as stored.
    """

    name = CDB_POSTGRES

    def __init__(
        self,
        config: CdbPostgresConfig,
        password: str | None,
        raw_dir: Path,
        *,
        page_rows: int = 500,
        connect_timeout_s: int = 10,
        table: str | None = None,
        table_setting: str = "cdb.postgres.status_table",
        single_as_list: bool = True,
    ) -> None:
        if not config.dsn:
            raise ValueError("cdb.postgres.dsn is empty: the PostgreSQL source is off")
        self.config = config
        self._password = password
        self.raw_dir = Path(raw_dir)
        self.page_rows = page_rows
        self.connect_timeout_s = connect_timeout_s
        self.table = config.status_table if table is None else table
        self.table_setting = table_setting
        self.single_as_list = single_as_list

    def __repr__(self) -> str:
        return f"CdbPostgresSource({self.where()!r}, table={self.table!r})"

    def where(self) -> str:
        """The server and database, for messages (never the password)."""
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.config.dsn)
        except psycopg.ProgrammingError:
            return "CDB PostgreSQL (unreadable cdb.postgres.dsn)"
        host = info.get("host") or "local socket"
        port = f":{info['port']}" if info.get("port") else ""
        return f"CDB PostgreSQL {host}{port}/{info.get('dbname') or info.get('user') or ''}"

    def _query(self, first: bool) -> sql.Composed:
        c = self.config
        date_col, id_col = sql.Identifier(c.date_column), sql.Identifier(c.id_column)
        where = (
            sql.SQL("{d} >= %(since)s").format(d=date_col)
            if first
            else sql.SQL("({d}, {i}) > (%(last_date)s, %(last_id)s)").format(d=date_col, i=id_col)
        )
        return sql.SQL(
            "SELECT {i}, {d}, {j}::text FROM {t} WHERE {d} IS NOT NULL AND {where} "
            "ORDER BY {d}, {i} LIMIT %(rows)s"
        ).format(
            i=id_col,
            d=date_col,
            j=sql.Identifier(c.json_column),
            t=table_identifier(self.table, setting=self.table_setting),
            where=where,
        )

    def _error(self, exc: psycopg.Error) -> StatusSourceError:
        text = redact_secrets(" ".join(str(exc).split()))
        if self._password:
            text = text.replace(self._password, MASK)
        return StatusSourceError(f"{self.where()}, table {self.table}: {text}")

    def collect(self, cursor: str | None) -> Iterator[FetchedPage]:
        """Pages of the rows dated at or after ``cursor`` (every row when None).

        Raises
        ------
        StatusSourceError
            If the server cannot be reached, the table or a column does not exist, or a
            query fails; the message names the server, database and table.
        ValueError
            If the table is not ``table`` or ``schema.table``.
        """
        queries = (self._query(first=True), self._query(first=False))
        params: dict[str, Any] = {"since": cursor or "-infinity", "rows": self.page_rows}
        try:
            with psycopg.connect(
                self.config.dsn,
                password=self._password,
                connect_timeout=self.connect_timeout_s,
                autocommit=True,
            ) as con:
                first = True
                while True:
                    rows = con.execute(queries[0 if first else 1], params).fetchall()
                    if not rows:
                        return
                    yield self._page(rows)
                    if len(rows) < self.page_rows:
                        return
                    params.update(last_id=rows[-1][0], last_date=rows[-1][1])
                    first = False
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def _page(self, rows: list[tuple[Any, Any, str | None]]) -> FetchedPage:
        documents, positions = [], {}
        table = self.table
        for row_id, when, text in rows:
            key = f"{table}/{row_id}"
            document = (text or "null").strip()
            if self.single_as_list and document.startswith("{"):
                document = f"[{document}]"  # a single record
            name = f"{safe_file_stem(table)}--{safe_file_stem(str(row_id))}.json"
            path = write_atomic(self.raw_dir, name, document.encode("utf-8"))
            documents.append(StatusDocument(self.name, key, path))
            positions[key] = _position(when)
        return FetchedPage(documents, positions)

"""The CDB's sources of one kind of document, as configured in ``[cdb]``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_access.cdb.http import CDB_HTTP, CdbHttpSource
from data_access.cdb.postgres import CDB_POSTGRES, CdbPostgresSource
from data_access.cdb.sync import SourceBuilder

if TYPE_CHECKING:
    from data_access.workspace import Workspace


def cdb_source_builders(
    workspace: Workspace,
    raw_dir: Path,
    *,
    postgres: Mapping[str, Any] | None = None,
    http: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[SourceBuilder]:
    """The CDB's sources of one kind of document, each as ``(name, build)``.

    Parameters
    ----------
    workspace : Workspace
        Its ``[cdb.postgres]`` and ``[cdb.http]`` settings.
    raw_dir : Path
        Documents fetched go to ``raw_dir/<source name>``.
    postgres, http : mapping or None, optional
        Options of :class:`CdbPostgresSource` / :class:`CdbHttpSource` (``table``,
        ``url``...); None leaves that source out. The PostgreSQL source is built when
        ``cdb.postgres.dsn`` is set, the HTTP one when its URL is set.
    environ : mapping, optional
        Where the CDB password is looked up (``os.environ`` by default).
    """
    environ = os.environ if environ is None else environ
    cdb = workspace.config.cdb
    builders: list[SourceBuilder] = []
    if postgres is not None and cdb.postgres.dsn:
        password = environ.get(cdb.postgres.password_env) if cdb.postgres.password_env else None
        builders.append(
            (
                CDB_POSTGRES,
                lambda: CdbPostgresSource(
                    cdb.postgres, password, raw_dir / CDB_POSTGRES, **postgres
                ),
            )
        )
    if http is not None and http.get("url", cdb.http.url):
        builders.append((CDB_HTTP, lambda: CdbHttpSource(cdb.http, raw_dir / CDB_HTTP, **http)))
    return builders

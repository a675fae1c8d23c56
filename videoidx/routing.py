"""Go through the server that holds a library file, when one does.

``videoidx serve`` leaves a record beside the file it holds (:mod:`videoidx.service.record`).
The CLI's store commands, :func:`videoidx.index_many`, :func:`videoidx.search` on a path,
:func:`videoidx.ask`, :func:`open_library` and :func:`open_sql` look for it first: with a live
server they use a :class:`videoidx.Client` (and say so once on stderr), without one they open
the file in-process as before.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from videoidx.errors import StoreError, VideoIdxError
from videoidx.service.record import PROBE_TIMEOUT_S, ServerRecord, live_record
from videoidx.store import SearchHit, Store
from videoidx.store import search as store_search

CALL_TIMEOUT_S = 600.0

if TYPE_CHECKING:
    from videoidx.client import Client
    from videoidx.library import LocalLibrary

_said: set[str] = set()
_lock = threading.Lock()


def served_client(db_path: str | Path, *, quiet: bool = False) -> Client | None:
    """A :class:`videoidx.client.Client` for the server holding ``db_path``, or None."""
    from videoidx.client import Client, ServerUnreachableError

    clients: list[Client] = []

    def answers(record: ServerRecord) -> bool:
        # The client that will be used asks, so a routed command opens one connection pool.
        client = Client(record.url, token=record.token, timeout_s=PROBE_TIMEOUT_S)
        try:
            client.health()
        except (ServerUnreachableError, VideoIdxError):
            client.close()
            return False
        client.set_timeout(CALL_TIMEOUT_S)
        clients.append(client)
        return True

    record = live_record(db_path, answers)
    if record is None or not clients:
        return None

    key = str(Path(db_path).resolve())
    with _lock:
        first = key not in _said
        _said.add(key)
    if first and not quiet:
        print(
            f"videoidx: {Path(db_path).name} is held by `videoidx serve` (pid {record.pid}); "
            f"going through it at {record.url}",
            file=sys.stderr,
            flush=True,
        )
    return clients[0]


def search(store: Store | str | Path, query: str, **filters: Any) -> list[SearchHit]:
    """:func:`videoidx.store.search` on an open :class:`Store`, or on a library file's path:
    through the server that holds it when one does, else on the file opened read-only here.
    ``filters`` are the store search's (``mode``, ``kinds``, ``video_ids``, ``start_s``,
    ``end_s``, ``character``, ``label``, ``limit``, ``embedder``). Without ``embedder``, the
    query is embedded by the settings' embedder (as the CLI does), so a library with vectors is
    searched by meaning too; it loads only when a query is embedded."""
    if isinstance(store, Store):
        return store_search(store, query, **_with_embedder(filters))
    client = served_client(store)
    if client is not None:
        with client:
            filters.pop("embedder", None)  # the server embeds with the model of its vectors
            return client.search(query, **filters)
    if not Path(store).is_file():
        raise StoreError(f"no store at {store}; index a video first or pass an open Store")
    with Store.open(store, read_only=True) as opened:
        return store_search(opened, query, **_with_embedder(filters))


def _with_embedder(filters: dict[str, Any]) -> dict[str, Any]:
    if "embedder" in filters or filters.get("mode") == "keyword":
        return filters
    from videoidx.pipeline.embed import query_embedder  # a composition root: load on use
    from videoidx.settings import resolve_settings

    return {**filters, "embedder": query_embedder(resolve_settings())}


def open_library(db_path: str | Path) -> Client | LocalLibrary:
    """The library at ``db_path`` with one set of reading verbs (``videos``, ``video``,
    ``events``, ``transcript``, ``search``, ``export``, ``export_parquet``): through the server
    that holds it, else the file opened read-only here. Close it (or use ``with``) when done:
    an open file keeps a page from starting on it."""
    client = served_client(db_path)
    if client is not None:
        return client
    from videoidx.library import LocalLibrary

    return LocalLibrary(db_path)


@contextmanager
def open_sql(db_path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection for your own SQL on the library at ``db_path``: the file
    itself, or, while a server holds it, a consistent copy the server makes as of now (fetched
    to a temporary file, removed on exit; later writes are not in it)."""
    client = served_client(db_path)
    if client is None:
        if not Path(db_path).is_file():
            raise StoreError(f"no store at {db_path}; index a video first")
        try:
            con = duckdb.connect(str(db_path), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open store {db_path} for SQL: {exc}. Another process (an indexing run) "
                "probably holds it; wait for it to finish, or serve the library with "
                "`videoidx serve` so SQL gets a copy"
            ) from exc
        with con:
            yield con
        return
    folder = Path(tempfile.mkdtemp(prefix="videoidx-sql-"))
    try:
        with client:
            copy = client.snapshot(folder / Path(db_path).name)
        with duckdb.connect(str(copy), read_only=True) as con:
            yield con
    finally:
        shutil.rmtree(folder, ignore_errors=True)

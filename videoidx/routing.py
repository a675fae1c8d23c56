"""Go through the server that holds a library file, when one does.

``videoidx serve`` leaves a record beside the file it holds (:mod:`videoidx.service.record`).
The CLI's store commands, :func:`videoidx.index_many`, :func:`videoidx.search` on a path and
:func:`videoidx.ask` look for it first: with a live server they use a :class:`videoidx.Client`
(and say so once on stderr), without one they open the file in-process as before.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoidx.errors import StoreError, VideoIdxError
from videoidx.service.record import PROBE_TIMEOUT_S, ServerRecord, live_record
from videoidx.store import SearchHit, Store
from videoidx.store import search as store_search

CALL_TIMEOUT_S = 600.0

if TYPE_CHECKING:
    from videoidx.client import Client

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

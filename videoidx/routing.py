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
from typing import TYPE_CHECKING

from videoidx.service.record import live_record

if TYPE_CHECKING:
    from videoidx.client import Client

_said: set[str] = set()
_lock = threading.Lock()


def served_client(db_path: str | Path, *, quiet: bool = False) -> Client | None:
    """A :class:`videoidx.client.Client` for the server holding ``db_path``, or None."""
    record = live_record(db_path)
    if record is None:
        return None
    from videoidx.client import Client

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
    return Client(record.url, token=record.token)

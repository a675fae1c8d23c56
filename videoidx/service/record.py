"""The record a serving process leaves beside its library file, so other processes find it.

DuckDB lets one process hold a file. While ``videoidx serve`` holds ``library.duckdb`` it writes
``library.duckdb.server.json`` (its address, process id and bearer token; mode 0600, so only
the user who runs it can read the token) and removes it on exit. The CLI, ``index_many``,
``search`` and ``ask`` read it and go through the server instead of opening the file. A record
left by a server that died (its process is gone, or it does not answer) is ignored and removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".server.json"
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServerRecord:
    """How to reach the server that holds a library file."""

    url: str
    """The API's base, e.g. ``http://127.0.0.1:7860/api/v1``."""
    pid: int
    token: str
    db_path: str
    started_at: float = 0.0


def record_path(db_path: str | Path) -> Path:
    p = Path(db_path).resolve()
    return p.with_name(p.name + SUFFIX)


def write_record(record: ServerRecord) -> Path:
    """Write the record readable by this user only (created 0600, never widened)."""
    path = record_path(record.db_path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale one of another mode must not keep its mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(
            {
                "url": record.url,
                "pid": record.pid,
                "token": record.token,
                "db_path": record.db_path,
                "started_at": record.started_at or time.time(),
            },
            f,
        )
    return path


def remove_record(db_path: str | Path, token: str) -> None:
    """Remove the record if it is still ours (a newer server may have replaced it)."""
    path = record_path(db_path)
    found = _read(path)
    if found is not None and found.token == token:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def live_record(
    db_path: str | Path, answers: Callable[[ServerRecord], bool] | None = None
) -> ServerRecord | None:
    """The record of a server that holds ``db_path`` and answers (``answers`` asks it; by
    default a health request); None when there is none. A stale record (dead process, or no
    answer) is removed."""
    if str(db_path) == ":memory:":
        return None
    path = record_path(db_path)
    found = _read(path)
    if found is None:
        return None
    if _alive(found.pid) and (answers or _answers)(found):
        return found
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return None


def _read(path: Path) -> ServerRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerRecord(
            url=str(data["url"]),
            pid=int(data["pid"]),
            token=str(data["token"]),
            db_path=str(data["db_path"]),
            started_at=float(data.get("started_at", 0.0)),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable or half-written: treat like a stale record, but only if it is old, so a
        # server writing it right now is not robbed of it.
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > 10:
                path.unlink()
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def _answers(record: ServerRecord) -> bool:
    import httpx

    try:
        r = httpx.get(
            f"{record.url}/health",
            headers={"Authorization": f"Bearer {record.token}"},
            timeout=PROBE_TIMEOUT_S,
            trust_env=False,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200

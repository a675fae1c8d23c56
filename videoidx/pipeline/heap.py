"""Keep the C heap of a run small: fewer malloc arenas, and freed memory handed back.

The speech and text engines (CTranslate2 for Whisper, ONNX Runtime for OCR and voice activity)
allocate their working buffers with the C library's ``malloc`` on the batch's call threads and
their own thread pools. glibc gives each thread that allocates its own arena (up to eight per
core) and keeps what is freed for reuse, so the process holds the largest buffers every thread
ever needed, many times over. Measured on a 10-minute 360p video with speech and OCR on (the
Python process alone; the numpy arrays tracemalloc sees stayed about 200 MB throughout):

* default: peak 1,216 MB, about 1,050 MB for most of the run;
* two arenas and ``malloc_trim`` after each clip's engines: peak 959 MB, about 700 MB.

Both are no-ops where the C library is not glibc (macOS, musl, Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

MAX_ARENAS = 2
"""Malloc arenas for the whole process: one per core of the small machines videoidx targets."""
_M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the arena limit (malloc.h)."""

_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_looked = False


def _glibc() -> ctypes.CDLL | None:
    global _libc, _looked
    with _lock:
        if not _looked:
            _looked = True
            name = ctypes.util.find_library("c")
            try:
                libc = ctypes.CDLL(name) if name else None
                if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
                    _libc = libc
            except OSError:
                _libc = None
        return _libc


def limit_arenas() -> None:
    """Cap the process's malloc arenas at :data:`MAX_ARENAS` (arenas made later obey it)."""
    libc = _glibc()
    if libc is not None and not libc.mallopt(_M_ARENA_MAX, MAX_ARENAS):
        log.debug("mallopt(M_ARENA_MAX) was refused; the heap keeps its default arenas")


def give_back() -> None:
    """Return the heap's free memory to the system (after an engine's large buffers are freed)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)

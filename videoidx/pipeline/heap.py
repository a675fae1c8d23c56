"""Keep the C heap of a run small: few arenas, big blocks mapped, freed memory handed back.

The speech and text engines (CTranslate2 for Whisper, ONNX Runtime for OCR and voice activity)
allocate their working buffers with the C library's ``malloc`` on the batch's call threads and
their own thread pools. glibc gives each thread that allocates its own arena (up to eight per
core) and keeps what is freed for reuse, so the process holds the largest buffers every thread
ever needed, many times over. Measured on a 10-minute 360p video with speech and OCR on (the
Python process alone; the numpy arrays tracemalloc sees stayed about 200 MB throughout):

* default: peak 1,216 MB, about 1,050 MB for most of the run;
* two arenas and ``malloc_trim`` after each clip's engines: peak 959 MB, about 700 MB.

Big blocks are the other half. glibc serves a block above its mmap threshold with a mapping of
its own, unmapped when freed; but the threshold starts at 128 KB and rises to the size of every
mapped block freed (up to 32 MB), so after the first 16 MB pipe chunk of the decode is freed,
all later chunks, frames and engine tensors below 16 MB come from the arenas and are kept there.
A fixed threshold (which also stops it rising) maps them every time: on the 5-minute 1080p
benchmark file with speech, text and embeddings on, the tree's peak went from 1,074 MB to
936 MB (the Python process's heap pages from 778 MB to 631 MB).

All of it is a no-op where the C library is not glibc (macOS, musl, Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger(__name__)

MAX_ARENAS = 2
"""Malloc arenas for the whole process: one per core of the small machines videoidx targets."""
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
"""Blocks this big or bigger get their own mapping, returned to the system when freed. Smaller
than a decode chunk (16 MB) and a 1080p RGB frame (6 MB); large enough that the many small
buffers of the engines stay in the arenas, where reusing them costs no page faults."""
# glibc's ``mallopt`` parameter numbers (malloc.h).
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3

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


def limit() -> None:
    """Cap the process's malloc arenas at :data:`MAX_ARENAS` and fix the mmap threshold at
    :data:`MMAP_THRESHOLD_BYTES`; both hold for what is allocated from then on."""
    libc = _glibc()
    if libc is None:
        return
    if not libc.mallopt(_M_ARENA_MAX, MAX_ARENAS):
        log.debug("mallopt(M_ARENA_MAX) was refused; the heap keeps its default arenas")
    if not libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES):
        log.debug("mallopt(M_MMAP_THRESHOLD) was refused; big blocks may stay in the arenas")


def give_back() -> None:
    """Return the heap's free memory to the system (after an engine's large buffers are freed)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)

"""The run's C heap hands freed memory back (``pipeline.heap``), where the C library is glibc."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from videoidx.pipeline import heap


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(heap._glibc() is None, reason="the C library is not glibc")
def test_memory_an_engine_thread_freed_goes_back_to_the_system() -> None:
    # An engine's working buffers: 100 KB blocks (under glibc's mmap threshold, so they live in
    # an arena), made and mostly freed on another thread, every tenth kept so the heap's top
    # cannot simply shrink. glibc keeps the freed 170 MB resident until it is asked to give it
    # back.
    heap.limit_arenas()
    kept: list[bytearray] = []

    def engine() -> None:
        blocks = [bytearray(100_000) for _ in range(2_000)]
        kept.extend(blocks[::10])
        blocks.clear()

    thread = threading.Thread(target=engine)
    thread.start()
    thread.join()
    before = _rss_mb()
    heap.give_back()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert len(kept) == 200

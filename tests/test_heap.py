"""The run's C heap hands freed memory back (``pipeline.heap``), where the C library is glibc."""

from __future__ import annotations

import subprocess
import sys
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
    heap.limit()
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


# The decode's pattern, in a fresh process as a run is (a test process's heap has a history):
# a 16 MB chunk freed, by which default glibc raises its mmap threshold past 16 MB; then 8 MB
# blocks made, and every other one freed, so the freed ones sit between live ones and cannot
# merge into the heap's top. numpy buffers: plain malloc, as the engines' tensors.
_BIG_BLOCKS = """
from pathlib import Path
import numpy as np
from videoidx.pipeline import heap

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

heap.limit()
chunk = np.ones(16 * 1024 * 1024, dtype=np.uint8)
del chunk
blocks = [np.ones(8 * 1024 * 1024, dtype=np.uint8) for _ in range(24)]
grown = rss_mb()
del blocks[::2]
print(grown, rss_mb())
"""


@pytest.mark.skipif(heap._glibc() is None, reason="the C library is not glibc")
def test_big_blocks_go_back_when_freed_after_a_bigger_one_was() -> None:
    # Without a fixed threshold the 8 MB blocks live in the arena and the freed 96 MB stay
    # resident until someone trims; with it each is its own mapping, unmapped when freed.
    done = subprocess.run(
        [sys.executable, "-c", _BIG_BLOCKS], capture_output=True, text=True, check=True
    )
    grown, after = map(float, done.stdout.split())
    assert grown - after > 90, done.stdout  # back without a give_back()

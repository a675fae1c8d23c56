"""Ctrl-C and SIGTERM for long commands: the first stops the work cleanly, a second at once.

The first SIGINT or SIGTERM only sets the run's ``cancel`` event (the pipeline's one way of
stopping): no clip is started any more, requests in flight are cut off, finished clips stay
stored, and the run is closed as ``cancelled``. Raising KeyboardInterrupt instead would leave
the worker threads waiting for their requests, which is what made a hanging provider unstoppable.
A second signal means the user will not wait: the process ends on the spot, after stopping its
media worker processes so none is left behind; the unfinished run is closed as ``interrupted``
the next time the store is opened.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + signum


@contextmanager
def stop_on_signals(cancel: threading.Event) -> Iterator[list[int]]:
    """While inside, SIGINT/SIGTERM set ``cancel``; yields the list of signals received.

    Only the main thread may install signal handlers; elsewhere this does nothing.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if cancel.is_set():
            _write("videoidx: stopped at once; the unfinished run is closed on the next run\n")
            for child in multiprocessing.active_children():
                child.kill()
            os._exit(exit_code(signum))
        cancel.set()
        name = signal.Signals(signum).name
        _write(
            f"\nvideoidx: {name}: stopping: no new clips, requests in flight cancelled, "
            "finished clips kept (press Ctrl-C again to quit at once)\n"
        )

    previous = {sig: signal.signal(sig, handle) for sig in SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _write(text: str) -> None:
    # os.write, not print: the handler may interrupt a print to stderr (the progress bar), and
    # re-entering a buffered stream raises.
    with suppress(OSError):
        os.write(2, text.encode())

"""A worker process that dies with its parent, whatever it is doing when the parent dies.

A parent killed with SIGKILL (the OOM killer, ``kill -9``, a closed terminal's hard kill) runs
no cleanup, so its worker processes must notice by themselves. Checking between clips is not
enough: a worker can be blocked in a queue put, inside a decode, or in its own exit, where
``multiprocessing`` joins the queue's feeder thread, and that thread is blocked for ever writing
a clip into a pipe nobody reads (the pipe's read end stays open in the workers themselves, so
the write never fails). An orphaned worker also keeps the parent's resource tracker alive: the
tracker exits when every holder of its pipe is gone, and spawned workers hold it.

Two mechanisms, so one is always there:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when its parent
  dies, even while it is blocked in C code. (The signal follows the parent *thread* that
  started the worker: ``ProcessSource`` starts, drives and stops its workers on one thread.)
* everywhere, a daemon watchdog thread that waits for the parent to go (its sentinel pipe
  closing, or the parent pid changing) and then ends the process with ``os._exit``, which
  joins no thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_S = 0.5
EXIT_ORPHANED = 3
"""The exit code of a worker that ended because its parent died (nobody reads it, but a
debugger or a test may)."""


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) dies; call it first thing."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(EXIT_ORPHANED)  # the parent died before the line above took effect
    threading.Thread(
        target=_watch, args=(parent_pid,), name="videoidx-lifeline", daemon=True
    ).start()


def _watch(parent_pid: int) -> None:
    parent = multiprocessing.parent_process()
    sentinel = parent.sentinel if parent is not None else None
    while os.getppid() == parent_pid:
        if sentinel is not None:
            if wait([sentinel], timeout=WATCH_INTERVAL_S):
                break  # the parent's end of the pipe closed: it is gone
        else:
            threading.Event().wait(WATCH_INTERVAL_S)
    os._exit(EXIT_ORPHANED)

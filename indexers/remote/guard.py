"""An overall deadline and user cancellation for one HTTP request, down to the socket.

httpx's timeouts bound each wait (connect, one read, one write), never the whole request: a
server that sends an SSE comment every second, or its body one byte a second, is never "timed
out". A :class:`RequestGuard` adds the missing bound. The reading code calls :meth:`check`
between received chunks; for the waits no chunk ends (a server that holds back its headers, a
long silence within ``timeout_s``), a watchdog thread shuts the request's socket down when the
deadline passes or the cancel event is set, which wakes the blocked read at once.

The socket comes from httpx's documented ``trace`` request extension (the ``connect_tcp`` and
``start_tls`` events return the connection's stream). A reused keep-alive connection produces no
such event, so clients that use a guard must open a fresh connection per request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal

WATCH_INTERVAL_S = 0.1
"""How often the watchdog looks at the clock and the cancel event: the cancel latency."""

Reason = Literal["deadline", "cancelled"]


class RequestAborted(Exception):
    """The guard stopped the request; ``reason`` says whether time ran out or the user
    cancelled. The client turns it into a videoidx error with the provider's name."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


class RequestGuard:
    """One request's deadline and cancel event; use as a context manager around the request."""

    def __init__(self, deadline_s: float, cancel: threading.Event | None = None) -> None:
        self.deadline_s = deadline_s
        self.cancel = cancel
        self._ends_at = time.monotonic() + deadline_s
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reason: Reason | None = None
        self._done = threading.Event()
        self._watchdog = threading.Thread(
            target=self._watch, name="videoidx-request-guard", daemon=True
        )

    def __enter__(self) -> RequestGuard:
        self.check()
        self._watchdog.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()

    @property
    def reason(self) -> Reason | None:
        """Why the request was stopped, or None while it may go on."""
        with self._lock:
            return self._reason

    def check(self) -> None:
        """Raise :class:`RequestAborted` when the deadline has passed or the user cancelled."""
        reason = self._due()
        if reason is not None:
            self._trip(reason)
            raise RequestAborted(reason)

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpx ``trace`` extension: remember the socket of the connection being opened."""
        if name not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sock = sock  # after start_tls, the TLS socket that took over the descriptor
            tripped = self._reason is not None
        if tripped:  # stopped while connecting: do not let the request start
            _shutdown(sock)

    def _due(self) -> Reason | None:
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled"
        if time.monotonic() >= self._ends_at:
            return "deadline"
        return None

    def _trip(self, reason: Reason) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason
            sock = self._sock
        if sock is not None:
            _shutdown(sock)

    def _watch(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            reason = self._due()
            if reason is not None:
                self._trip(reason)
                return


def _shutdown(sock: socket.socket) -> None:
    # shutdown(), not close(): closing a descriptor does not wake a thread blocked reading it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

"""One provider's HTTP connection: retries, deadline, cancel, key and redaction, for any endpoint.

:class:`RemoteHttp` is what every remote call of videoidx goes through (the GLM adapter's chat
completions, the transcription profiles' ``audio/transcriptions``, embeddings next), so each gets
exactly the same behaviour:

* **Retries** only where trying again can help (:mod:`indexers.remote.errors` decides): the wait
  honours ``Retry-After`` (seconds or an HTTP date) and otherwise grows exponentially with full
  jitter, for at most ``max_retries`` extra attempts; a server that asks for longer than
  ``max_retry_after_s`` is not waited for.
* **An overall deadline** per attempt (``deadline_s``, first byte out to last byte in) and the
  caller's **cancel** event, down to the socket (:mod:`indexers.remote.guard`); a deadline miss is
  retried like a timeout, a cancel is not.
* **The key** is attached here (``Authorization: Bearer``) and kept off every repr; every piece
  of text the provider sends back is passed through one
  :class:`~indexers.remote.redact.Redactor` before anything else sees it.

A request is described by a factory (``build``: called once per attempt, so a multipart body is
rebuilt for each retry) that returns an ``httpx.Request`` made with :meth:`RemoteHttp.request`.
:meth:`RemoteHttp.send` is the common case (retry, read the whole body as text, hand it to a
parser); :meth:`RemoteHttp.retry` and :meth:`RemoteHttp.attempt` let a client read the answer its
own way (the chat client's SSE stream).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from indexers.remote.errors import Endpoint, http_error
from indexers.remote.guard import Reason, RequestAborted, RequestGuard
from indexers.remote.redact import Redactor
from videoidx.errors import CancelledError, ProviderError, ProviderUnavailableError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0

T = TypeVar("T")


def read_lines(resp: httpx.Response, guard: RequestGuard) -> Iterator[str]:
    """The response's lines, with the guard checked after each one and at the end (a socket
    the guard shut down can end the stream quietly)."""
    for line in resp.iter_lines():
        guard.check()
        yield line
    guard.check()


def read_text(resp: httpx.Response, guard: RequestGuard) -> str:
    """The whole body as text, with the guard checked between received chunks."""
    chunks: list[bytes] = []
    for chunk in resp.iter_bytes():
        guard.check()
        chunks.append(chunk)
    guard.check()
    return b"".join(chunks).decode(resp.encoding or "utf-8", errors="replace")


class RemoteHttp:
    """Requests to one provider with one key. Safe to share between threads."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        api_key: str | None,
        timeout_s: float = 300.0,
        deadline_s: float = 600.0,
        max_retries: int = 5,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_retry_after_s: float = 600.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint = endpoint
        self._api_key = api_key
        self.redactor = Redactor([api_key])
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.max_retries = max_retries
        self._sleep = sleep
        """None waits on the clock, woken early by a cancel; tests pass a fake."""
        self._rng = rng
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            transport=transport,
            # A fresh connection per request, so the guard learns its socket and can cut it
            # (a reused keep-alive connection is invisible to the trace). One TCP or TLS
            # handshake is nothing next to a model's answer.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def __repr__(self) -> str:
        return f"RemoteHttp(provider={self.endpoint.name!r})"

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        """``text`` with the key blanked in every form a server may echo it."""
        return self.redactor(text)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        """An ``httpx.Request`` with this connection's timeouts (``json=``, ``data=``,
        ``files=``, ``headers=`` as httpx takes them); the key is added when it is sent."""
        return self._http.build_request(method, url, **kwargs)

    def http_error(
        self, status: int, text: str, headers: Mapping[str, str], what: str
    ) -> ProviderError:
        """The videoidx error for an error answer, with the provider's text redacted."""
        return http_error(self.endpoint, status, text, headers, what, self.redact)

    # -- the retry loop ----------------------------------------------------------------------

    def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        what: str,
        cancel: threading.Event | None = None,
        parse: Callable[[str], T],
    ) -> tuple[T, int]:
        """Send ``build()``, retrying what can be retried; ``parse`` the redacted body text of
        the 200 answer (inside the attempt, so a retryable error it raises is retried).

        Returns what ``parse`` returned and the number of attempts made.
        """

        def read(resp: httpx.Response, guard: RequestGuard) -> T:
            return parse(self.redact(read_text(resp, guard)))

        def once() -> T:
            return self.attempt(build, what=what, cancel=cancel, read=read)

        return self.retry(once, what=what, cancel=cancel)

    def retry(
        self, once: Callable[[], T], *, what: str, cancel: threading.Event | None = None
    ) -> tuple[T, int]:
        """Call ``once`` until it succeeds, raises an error not worth retrying, or the retries
        run out; returns its result and the number of attempts. ``what`` names the work in
        messages, e.g. ``"clip 3 (36.0-48.0 s) of video ab12"``. Setting ``cancel`` stops the
        request in flight and any retry with CancelledError."""
        attempt = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise self.aborted("cancelled", what)
            try:
                return once(), attempt + 1
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                delay = self._delay(exc, attempt)
                if attempt >= self.max_retries or delay is None:
                    raise self._gave_up(exc, attempt + 1, delay is None) from exc
                log.warning(
                    "%s: attempt %d failed (%s); retrying in %.1f s",
                    what,
                    attempt + 1,
                    self.redact(str(exc)),
                    delay,
                )
                self._pause(delay, cancel)
                attempt += 1

    def _pause(self, delay_s: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(delay_s)
        elif cancel is not None:
            cancel.wait(delay_s)  # a cancel must not wait out a minute of backoff
        else:
            time.sleep(delay_s)

    def _delay(self, exc: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None when the server asks for too long."""
        if exc.retry_after_s is not None:
            return exc.retry_after_s if exc.retry_after_s <= self.max_retry_after_s else None
        # Full jitter: spreads the retries of many workers hit by the same limit.
        return self._rng() * min(self.backoff_max_s, self.backoff_base_s * 2**attempt)

    def _gave_up(self, exc: ProviderError, attempts: int, too_long: bool) -> ProviderError:
        if too_long:
            tail = (
                f" The server asked to wait {exc.retry_after_s:.0f} s, longer than the "
                f"{self.max_retry_after_s:.0f} s we wait; run again later."
            )
        else:
            tail = f" Gave up after {attempts} attempt{'s' if attempts > 1 else ''}."
        return type(exc)(
            str(exc) + tail, status=exc.status, code=exc.code, retry_after_s=exc.retry_after_s
        )

    # -- one attempt -------------------------------------------------------------------------

    def attempt(
        self,
        build: Callable[[], httpx.Request],
        *,
        what: str,
        cancel: threading.Event | None,
        read: Callable[[httpx.Response, RequestGuard], T],
    ) -> T:
        """One request under a fresh deadline: a non-200 answer becomes its videoidx error,
        a 200 answer is handed to ``read`` (which reads it with :func:`read_text` or
        :func:`read_lines`, so the guard is checked as bytes arrive). Timeouts, dropped
        connections and the guard's cuts become videoidx errors naming the provider."""
        request = build()
        if self._api_key:
            request.headers["Authorization"] = f"Bearer {self._api_key}"
        guard = RequestGuard(self.deadline_s, cancel)
        request.extensions = {**request.extensions, "trace": guard.trace}
        url = str(request.url)
        try:
            # Always read as a stream: the guard checks the clock between chunks, so a body
            # that trickles in byte by byte ends at the deadline like an SSE one.
            with guard:
                resp = self._http.send(request, stream=True)
                try:
                    if resp.status_code != 200:
                        text = read_text(resp, guard)
                        raise self.http_error(resp.status_code, text, resp.headers, what)
                    return read(resp, guard)
                finally:
                    resp.close()
        except RequestAborted as exc:
            raise self.aborted(exc.reason, what) from None
        except httpx.TimeoutException as exc:
            if guard.reason is not None:
                raise self.aborted(guard.reason, what) from exc
            raise ProviderUnavailableError(
                f"{self.endpoint.name}: no answer for {what} within {self.timeout_s:g} s "
                f"({type(exc).__name__}); raise timeout_s if the model thinks for long"
            ) from exc
        except httpx.TransportError as exc:
            if guard.reason is not None:  # the guard cut the socket: say why, not "reset"
                raise self.aborted(guard.reason, what) from exc
            raise ProviderUnavailableError(
                f"{self.endpoint.name}: connection to {url} failed for {what}: "
                f"{self.redact(str(exc)) or type(exc).__name__}; check "
                f"{self.endpoint.base_url_hint} and that the server is up"
            ) from exc
        except ProviderError as exc:
            if guard.reason is not None:  # a half-read line is the cut, not a bad reply
                raise self.aborted(guard.reason, what) from exc
            raise

    def aborted(self, reason: Reason, what: str) -> ProviderError | CancelledError:
        """The error for a request the guard stopped: cancelled, or past its deadline."""
        name = self.endpoint.name
        if reason == "cancelled":
            return CancelledError(f"{name}: {what} was cancelled; its request was stopped")
        return ProviderUnavailableError(
            f"{name}: {what} did not finish within the {self.deadline_s:g} s request deadline "
            "(request_deadline_s): the provider kept the request open without completing it "
            "(keep-alive comments or a trickling body); retried. Raise request_deadline_s if "
            "the model really needs longer."
        )

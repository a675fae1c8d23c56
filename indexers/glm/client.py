"""Send chat-completions requests to one provider, with retries, streaming and error mapping.

One :class:`ChatClient` wraps one ``httpx.Client`` (thread-safe; the pipeline calls it from a
pool). A request is retried only when trying again can help: 429 with Z.AI codes 1302/1303/1305
(or no code), 5xx, timeouts and dropped connections; the wait honours ``Retry-After`` (seconds
or an HTTP date) and otherwise grows exponentially with full jitter, for at most
``max_retries`` extra attempts. Authentication (401, 1000-1004), arrears (1113), daily limits
(1304/1308), sensitive content (1301, ``finish_reason: sensitive``) and malformed requests fail
at once. Every failure is a :class:`~videoidx.errors.ProviderError` subclass whose message names
the provider, the clip, the HTTP status and business code, and what to do. The API key is
never stored on anything with a repr that shows it, and every piece of text the provider sends
back (content, reasoning, raw reply, error and log messages) passes through one
:class:`~indexers.glm.redact.Redactor` before it leaves the client, so an echoed key is blanked.

Every attempt also has an overall deadline (``deadline_s``, from first byte out to last byte
in) and stops promptly when the caller's cancel event is set, in the middle of a read too (see
:mod:`indexers.glm.guard`); a deadline miss is retried like a timeout, a cancel is not.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from indexers.glm.guard import Reason, RequestAborted, RequestGuard
from indexers.glm.profiles import ProviderProfile
from indexers.glm.redact import Redactor
from indexers.glm.usage import parse_usage
from videoidx.errors import (
    AuthError,
    BadReplyError,
    CancelledError,
    ContentFilteredError,
    ProviderError,
    ProviderUnavailableError,
    QuotaError,
    RateLimitError,
)
from videoidx.types import Usage

log = logging.getLogger(__name__)

AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
QUOTA_CODES = frozenset({"1113", "1304", "1308", "1309"})
CONTENT_CODES = frozenset({"1301"})
RATE_CODES = frozenset({"1302", "1303", "1305"})
_QUOTA_ADVICE = {
    "1113": "the account is in arrears: recharge it, then run again",
    "1304": "the daily call limit is reached: run again tomorrow or raise the limit",
    "1308": "the usage limit is reached: run again after it resets",
}
CONNECT_TIMEOUT_S = 10.0
MAX_MESSAGE_CHARS = 300


class UnreadableReplyError(BadReplyError):
    """A 200 answer whose body could not be understood; ``raw_reply`` keeps it for the store."""

    def __init__(
        self, message: str, *, raw_reply: str, status: int | None = 200, usage: Usage | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.raw_reply = raw_reply
        self.usage = usage or Usage()
        """Tokens the unreadable answer still cost."""


@dataclass
class ChatReply:
    """One completed request: the answer text, reasoning, why it stopped, and what it cost."""

    content: str
    reasoning: str
    finish_reason: str
    usage: Usage
    model: str = ""
    attempts: int = 1


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def _content_text(value: Any) -> str:
    """``content`` as a string; some servers send a list of ``{"type": "text"}`` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in value)
    return ""


def _error_fields(payload: Any) -> tuple[str | None, str]:
    """``(business code, message)`` from the error shapes of Z.AI, OpenAI, SiliconFlow, vLLM."""
    if not isinstance(payload, Mapping):
        return None, ""
    err = payload.get("error")
    source: Mapping[str, Any] = err if isinstance(err, Mapping) else payload
    code = source.get("code")
    message = source.get("message") or (err if isinstance(err, str) else "") or ""
    code_text = str(code) if code not in (None, "") else None
    return code_text, str(message)


def _read_lines(resp: httpx.Response, guard: RequestGuard) -> Iterator[str]:
    """The response's lines, with the guard checked after each one and at the end (a socket
    the guard shut down can end the stream quietly)."""
    for line in resp.iter_lines():
        guard.check()
        yield line
    guard.check()


def _read_text(resp: httpx.Response, guard: RequestGuard) -> str:
    """The whole body as text, with the guard checked between received chunks."""
    chunks: list[bytes] = []
    for chunk in resp.iter_bytes():
        guard.check()
        chunks.append(chunk)
    guard.check()
    return b"".join(chunks).decode(resp.encoding or "utf-8", errors="replace")


class ChatClient:
    """POST ``/chat/completions`` for one profile. Safe to share between threads."""

    def __init__(
        self,
        profile: ProviderProfile,
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
        self.profile = profile
        self._api_key = api_key
        self._redactor = Redactor([api_key])
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.max_retries = max_retries
        self._sleep = sleep
        """None waits on the clock, woken early by a cancel; tests pass a fake."""
        self._rng = rng
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.url = profile.base_url.rstrip("/") + "/chat/completions"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            transport=transport,
            # A fresh connection per request, so the guard learns its socket and can cut it
            # (a reused keep-alive connection is invisible to the trace). One TCP or TLS
            # handshake is nothing next to a model's answer.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def __repr__(self) -> str:
        return f"ChatClient(provider={self.profile.name!r}, url={self.url!r})"

    def close(self) -> None:
        self._http.close()

    # -- the retry loop ----------------------------------------------------------------------

    def complete(
        self, body: Mapping[str, Any], *, what: str, cancel: threading.Event | None = None
    ) -> ChatReply:
        """Send ``body`` (streaming when ``body["stream"]``), retrying what can be retried.

        ``what`` names the work in messages, e.g. ``"clip 3 (36.0-48.0 s) of video ab12"``.
        Setting ``cancel`` stops the request in flight and any retry with CancelledError.
        """
        attempt = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise self._aborted("cancelled", what)
            try:
                reply = self._once(body, what, cancel)
                reply.attempts = attempt + 1
                return reply
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
                    self._redact(str(exc)),
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

    def _headers(self, stream: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        headers["Accept"] = "text/event-stream" if stream else "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _once(
        self, body: Mapping[str, Any], what: str, cancel: threading.Event | None
    ) -> ChatReply:
        stream = bool(body.get("stream"))
        guard = RequestGuard(self.deadline_s, cancel)
        try:
            # Always read as a stream: the guard checks the clock between chunks, so a body
            # that trickles in byte by byte ends at the deadline like an SSE one.
            with (
                guard,
                self._http.stream(
                    "POST",
                    self.url,
                    json=body,
                    headers=self._headers(stream),
                    extensions={"trace": guard.trace},
                ) as resp,
            ):
                if resp.status_code != 200:
                    text = _read_text(resp, guard)
                    raise self._http_error(resp.status_code, text, resp.headers, what)
                if stream:
                    return self._finish(self._read_stream(_read_lines(resp, guard), what), what)
                return self._finish(self._read_body(_read_text(resp, guard), what), what)
        except RequestAborted as exc:
            raise self._aborted(exc.reason, what) from None
        except httpx.TimeoutException as exc:
            if guard.reason is not None:
                raise self._aborted(guard.reason, what) from exc
            raise ProviderUnavailableError(
                f"{self.profile.name}: no answer for {what} within {self.timeout_s:g} s "
                f"({type(exc).__name__}); raise timeout_s if the model thinks for long"
            ) from exc
        except httpx.TransportError as exc:
            if guard.reason is not None:  # the guard cut the socket: say why, not "reset"
                raise self._aborted(guard.reason, what) from exc
            raise ProviderUnavailableError(
                f"{self.profile.name}: connection to {self.url} failed for {what}: "
                f"{self._redact(str(exc)) or type(exc).__name__}; check --base-url and that "
                "the server is up"
            ) from exc
        except ProviderError as exc:
            if guard.reason is not None:  # a half-read line is the cut, not a bad reply
                raise self._aborted(guard.reason, what) from exc
            raise

    def _aborted(self, reason: Reason, what: str) -> ProviderError | CancelledError:
        name = self.profile.name
        if reason == "cancelled":
            return CancelledError(f"{name}: {what} was cancelled; its request was stopped")
        return ProviderUnavailableError(
            f"{name}: {what} did not finish within the {self.deadline_s:g} s request deadline "
            "(request_deadline_s): the provider kept the request open without completing it "
            "(keep-alive comments or a trickling body); retried. Raise request_deadline_s if "
            "the model really needs longer."
        )

    def _read_body(self, text: str, what: str) -> ChatReply:
        text = self._redact(text)  # before anything quotes, keeps or parses it
        try:
            data = json.loads(text)
        except ValueError:
            raise UnreadableReplyError(
                f"{self.profile.name}: the answer for {what} is not JSON "
                f"(starts {text[:80]!r}); the raw body is stored with the clip",
                raw_reply=text,
            ) from None
        if isinstance(data, Mapping) and "error" in data and not data.get("choices"):
            raise self._http_error(200, text, {}, what)
        choices = data.get("choices") if isinstance(data, Mapping) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, Mapping) or not isinstance(choice.get("message"), Mapping):
            raise UnreadableReplyError(
                f"{self.profile.name}: the answer for {what} has no choices[0].message; "
                "the raw body is stored with the clip",
                raw_reply=text,
            )
        message = choice["message"]
        reasoning = ""
        for name in self.profile.reasoning_fields:
            value = message.get(name)
            if isinstance(value, str) and value:
                reasoning = value
                break
        return ChatReply(
            content=_content_text(message.get("content")),
            reasoning=reasoning,
            finish_reason=str(choice.get("finish_reason") or ""),
            usage=parse_usage(data.get("usage"), self.profile),
            model=str(data.get("model") or ""),
        )

    def _read_stream(self, lines: Iterable[str], what: str) -> ChatReply:
        content: list[str] = []
        reasoning: list[str] = []
        received: list[str] = []
        finish, model, usage_block, done = "", "", None, False
        for line in lines:
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, event:/id: fields
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            received.append(payload)
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise UnreadableReplyError(
                    f"{self.profile.name}: the stream for {what} sent a chunk that is not JSON "
                    f"({self._redact(payload)[:80]!r}); the raw stream is stored with the clip",
                    # A key split across chunks is caught too (the deltas are read joined).
                    raw_reply=self._redactor.sse_payloads(
                        received, ("content", *self.profile.reasoning_fields)
                    ),
                ) from None
            if not isinstance(chunk, Mapping):
                continue
            if "error" in chunk and not chunk.get("choices"):
                raise self._http_error(200, payload, {}, what)
            model = str(chunk.get("model") or model)
            if isinstance(chunk.get("usage"), Mapping):
                usage_block = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, Mapping):
                    continue
                delta = choice.get("delta") or {}
                if isinstance(delta, Mapping):
                    content.append(_content_text(delta.get("content")))
                    for name in self.profile.reasoning_fields:
                        value = delta.get(name)
                        if isinstance(value, str) and value:
                            reasoning.append(value)
                            break
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
        if not done and not finish:
            raise ProviderUnavailableError(
                f"{self.profile.name}: the stream for {what} ended before it finished; "
                "it will be retried"
            )
        return ChatReply(
            content="".join(content),
            reasoning="".join(reasoning),
            finish_reason=finish,
            usage=parse_usage(usage_block, self.profile),
            model=model,
        )

    def _finish(self, reply: ChatReply, what: str) -> ChatReply:
        """Blank echoed keys out of the reply; turn the finish reasons that mean failure into
        errors."""
        # Joined text: a key a stream split across deltas is whole again here.
        reply.content = self._redact(reply.content)
        reply.reasoning = self._redact(reply.reasoning)
        reply.model = self._redact(reply.model)
        reply.finish_reason = self._redact(reply.finish_reason)
        name = self.profile.name
        if reply.finish_reason == "sensitive":
            raise ContentFilteredError(
                f"{name}: the answer for {what} was stopped as sensitive content "
                "(finish_reason: sensitive); not retried. Review the clip, or index it with "
                "another provider.",
                code="sensitive",
            )
        if reply.finish_reason == "network_error":
            raise ProviderUnavailableError(
                f"{name}: the provider reported a network error while answering {what}"
            )
        if reply.finish_reason == "model_context_window_exceeded":
            raise ProviderError(
                f"{name}: {what} does not fit the model's context window; lower frame_budget, "
                "frame_long_side_px or clip_target_s",
                code=reply.finish_reason,
            )
        return reply

    # -- errors ------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return self._redactor(text)

    def _http_error(
        self, status: int, text: str, headers: Mapping[str, str], what: str
    ) -> ProviderError:
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = None
        code, message = _error_fields(payload)
        code = self._redact(code) if code else code
        if code == str(status):
            code = None  # OpenAI-style servers repeat the HTTP status as "code"
        if status == 200 and code and code.isdigit() and 400 <= int(code) < 600:
            status, code = int(code), None  # an error inside a 200 body or stream (OpenRouter)
        if not message:
            message = text.strip()
        message = self._redact(" ".join(message.split()))[:MAX_MESSAGE_CHARS]
        retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
        name = self.profile.name
        head = f"{name}: {what} failed with HTTP {status}" + (f", code {code}" if code else "")
        head += f" ({message})" if message else ""
        fields: dict[str, Any] = {"status": status, "code": code, "retry_after_s": retry_after}
        if code in AUTH_CODES or status == 401:
            key = self.profile.key_env or "the provider's API key variable"
            return AuthError(
                f"{head}. The API key was rejected: check {key} (Z.AI keys are per region: "
                "api.z.ai and open.bigmodel.cn need different keys). Not retried.",
                **fields,
            )
        if code in QUOTA_CODES or status == 402:
            advice = _QUOTA_ADVICE.get(code or "", "add credits to the account, then run again")
            return QuotaError(f"{head}. {advice}; not retried.", **fields)
        if code in CONTENT_CODES:
            return ContentFilteredError(
                f"{head}. The provider flagged this clip's content as sensitive; not retried. "
                "Review the clip, or index it with another provider.",
                **fields,
            )
        if code in RATE_CODES or status == 429:
            return RateLimitError(
                f"{head}. Rate limited; retried with backoff. Lower --concurrency if this "
                "keeps happening.",
                **fields,
            )
        if status >= 500 or status == 408:
            return ProviderUnavailableError(
                f"{head}. The provider had a server error; retried with backoff.", **fields
            )
        if status == 403:
            return AuthError(f"{head}. Access denied for this key or model; not retried.", **fields)
        return ProviderError(
            f"{head}. The provider rejected the request; check --provider, --model "
            f"({self.profile.model!r}) and --base-url; not retried.",
            **fields,
        )

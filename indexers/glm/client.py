"""Send chat-completions requests to one provider: the body, SSE reading and finish reasons.

One :class:`ChatClient` wraps one :class:`~indexers.remote.http.RemoteHttp` (thread-safe; the
pipeline calls it from a pool), which owns what every remote call shares: retries with backoff,
jitter and ``Retry-After``, the Z.AI business-code and HTTP error mapping
(:mod:`indexers.remote.errors`), the overall request deadline and cancel down to the socket
(:mod:`indexers.remote.guard`), and the one :class:`~indexers.remote.redact.Redactor` every piece
of provider text passes through. This module adds only what is particular to chat completions:
the JSON body and ``Accept`` header, reading the answer (one JSON object, or an SSE stream of
deltas with reasoning in the profile's fields), and the finish reasons that mean failure
(``sensitive``, ``network_error``, ``model_context_window_exceeded``). Authentication, arrears,
daily limits, sensitive content and malformed requests fail at once; every failure is a
:class:`~videoidx.errors.ProviderError` subclass whose message names the provider, the clip, the
HTTP status and business code, and what to do. The API key is never stored on anything with a
repr that shows it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from indexers.glm.profiles import ProviderProfile
from indexers.glm.usage import parse_usage
from indexers.remote.errors import (
    AUTH_CODES,
    CONTENT_CODES,
    MAX_MESSAGE_CHARS,
    QUOTA_CODES,
    RATE_CODES,
    Endpoint,
    parse_retry_after,
)
from indexers.remote.guard import RequestGuard
from indexers.remote.http import CONNECT_TIMEOUT_S, RemoteHttp, read_lines, read_text
from videoidx.errors import (
    BadReplyError,
    ContentFilteredError,
    ProviderError,
    ProviderUnavailableError,
)
from videoidx.types import Usage

log = logging.getLogger(__name__)

__all__ = [
    "AUTH_CODES",
    "CONNECT_TIMEOUT_S",
    "CONTENT_CODES",
    "MAX_MESSAGE_CHARS",
    "QUOTA_CODES",
    "RATE_CODES",
    "ChatClient",
    "ChatReply",
    "UnreadableReplyError",
    "parse_retry_after",
]


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


def _content_text(value: Any) -> str:
    """``content`` as a string; some servers send a list of ``{"type": "text"}`` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in value)
    return ""


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
        self.url = profile.base_url.rstrip("/") + "/chat/completions"
        self._remote = RemoteHttp(
            Endpoint(profile.name, profile.key_env, profile.model),
            api_key=api_key,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            max_retries=max_retries,
            sleep=sleep,
            transport=transport,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            max_retry_after_s=max_retry_after_s,
            rng=rng,
        )
        self._redactor = self._remote.redactor
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"ChatClient(provider={self.profile.name!r}, url={self.url!r})"

    def close(self) -> None:
        self._remote.close()

    def complete(
        self, body: Mapping[str, Any], *, what: str, cancel: threading.Event | None = None
    ) -> ChatReply:
        """Send ``body`` (streaming when ``body["stream"]``), retrying what can be retried.

        ``what`` names the work in messages, e.g. ``"clip 3 (36.0-48.0 s) of video ab12"``.
        Setting ``cancel`` stops the request in flight and any retry with CancelledError.
        """
        stream = bool(body.get("stream"))
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }

        def build() -> httpx.Request:
            return self._remote.request("POST", self.url, json=body, headers=headers)

        def read(resp: httpx.Response, guard: RequestGuard) -> ChatReply:
            if stream:
                return self._finish(self._read_stream(read_lines(resp, guard), what), what)
            return self._finish(self._read_body(read_text(resp, guard), what), what)

        reply, attempts = self._remote.retry(
            lambda: self._remote.attempt(build, what=what, cancel=cancel, read=read),
            what=what,
            cancel=cancel,
        )
        reply.attempts = attempts
        return reply

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
        return self._remote.redact(text)

    def _http_error(
        self, status: int, text: str, headers: Mapping[str, str], what: str
    ) -> ProviderError:
        return self._remote.http_error(status, text, headers, what)

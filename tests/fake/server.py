"""The fake provider's HTTP side: a loopback chat-completions server, its faults and streams.

``FakeProvider("zai")`` serves ``POST …/chat/completions`` on 127.0.0.1 (random port). Each
request is checked and shaped by the dialect (:mod:`tests.fake.dialects`) and answered by the
model (:mod:`tests.fake.model`). It also serves ``POST …/audio/transcriptions`` in the same
provider's speech dialect (:mod:`tests.fake.audio`: request shape, limits, answer), with the
same faults. This module only receives, records and sends:

* it returns usage in the dialect's shape (28x28 px per image token), reasoning in the
  dialect's field when thinking is on, and streams SSE when asked;
* it misbehaves on request: ``server.script([...])`` queues one fault per request (see
  :func:`FakeProvider.script` for the vocabulary), or the header ``X-Fake-Fault`` sets one.

Every request is recorded in ``server.requests`` for the tests to inspect.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake.audio import AUDIO_DIALECTS, answer, read_request
from tests.fake.dialects import (
    DIALECTS,
    Reject,
    check_request,
    error_payload,
    message_shape,
    thinking_on,
    usage_shape,
    user_items,
)
from tests.fake.embeddings import EMBEDDING_DIALECTS, embeddings_answer
from tests.fake.model import answer_content


@dataclass
class Recorded:
    """One request as received."""

    path: str
    headers: dict[str, str]
    body: Any
    fault: str = "ok"

    @property
    def images(self) -> list[str]:
        return [
            item["image_url"]["url"]
            for item in user_items(self.body)
            if item.get("type") == "image_url"
        ]


class FakeProvider:
    """A fake chat-completions server for one dialect; a context manager."""

    def __init__(
        self,
        dialect: str = "zai",
        *,
        api_key: str = "fake-key-0123456789",
        model: str | None = None,
        max_images: int | None = -1,
        cached_tokens: int = 0,
        hang_s: float = 5.0,
        latency_s: float = 0.0,
        trickle_s: float = 1.0,
        audio_model: str | None = None,
    ) -> None:
        base = DIALECTS[dialect]
        self.dialect = base
        self.model = model or base.model
        self.audio_dialect = AUDIO_DIALECTS[dialect]
        self.audio_model = audio_model or self.audio_dialect.model
        """The speech-to-text model ``…/audio/transcriptions`` serves."""
        self.embedding_dialect = dialect if dialect in EMBEDDING_DIALECTS else "vllm"
        """Which ``embeddings`` service this server imitates (:mod:`tests.fake.embeddings`)."""
        self.embedding_model: str | None = None
        """The embedding model served; None is the dialect's."""
        self.max_images = base.max_images if max_images == -1 else max_images
        self.api_key = api_key
        self.cached_tokens = cached_tokens
        self.hang_s = hang_s
        """How long ``hang`` waits, and how long ``keepalive`` and ``trickle`` go on at most."""
        self.trickle_s = trickle_s
        """Seconds between two keep-alive comments (``keepalive``) or two bytes (``trickle``)."""
        self.latency_s = latency_s
        """Seconds every answer takes, like a real model thinking (pipeline tests, benchmarks)."""
        self.active = 0
        self.max_active = 0
        """Most requests being answered at the same moment: what a concurrency limit bounds."""
        self.requests: list[Recorded] = []
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, faults: Sequence[str]) -> None:
        """Queue one behaviour per coming request, then back to normal. Vocabulary:

        ``ok``; ``STATUS[:CODE][:retry_after=S]`` (e.g. ``429:1302:retry_after=1``, ``401:1001``,
        ``500``); ``hang`` (answer after ``hang_s``); ``think`` (``<think>`` in content);
        ``box`` (box tokens); ``prose``; ``fence``; ``mmss`` (times as ``mm:ss`` strings);
        ``truncate`` (cut JSON, ``finish_reason: length``: the last event is cut in half,
        whatever ``max_tokens`` says); ``length`` (the answer ends where the request's
        ``max_tokens`` runs out, at the fake's 4 characters a token, with ``finish_reason:
        length``; a request with room enough gets it whole); ``keepalive`` (200, then an SSE
        comment ``: OPENROUTER PROCESSING`` every ``trickle_s``, and never an answer, for up to
        ``hang_s``); ``trickle`` (the answer, JSON or SSE, one byte every ``trickle_s``);
        ``sensitive``; ``refuse`` (prose, no JSON); ``malformed`` (200
        with a non-JSON body); ``drop`` (a stream that stops before it finishes);
        ``invent_citation`` (a Q&A answer that also cites a number not in the evidence);
        ``decline`` (a Q&A answer saying the evidence does not answer); ``echo_key_html``
        (200 with an HTML page quoting the request's ``Authorization`` header, the bare key and
        the key percent-encoded, like a misconfigured gateway's debug page); ``echo_key`` (a
        normal answer whose text quotes the header: in the first event's description, the
        consolidation or Q&A answer; streamed 7 characters a chunk, so the key is split);
        ``bad_chunk`` (a stream that sends a non-JSON chunk after the content). Faults
        may be combined with ``+``: ``think+box+prose``.
        """
        with self._lock:
            self._faults.extend(faults)

    def _next_fault(self, header: str | None) -> str:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
        return header or "ok"

    # -- the handler -------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._serve(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        audio = h.path.endswith("/audio/transcriptions")
        try:
            body = None if audio else json.loads(raw)
        except ValueError:
            body = None
        fault = self._next_fault(h.headers.get("X-Fake-Fault"))
        record = Recorded(h.path, dict(h.headers.items()), body, fault)
        with self._lock:
            self.requests.append(record)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.latency_s:
                self._stopping.wait(self.latency_s)
            if audio:
                self._serve_audio(h, raw, fault, record)
            elif h.path.endswith("/embeddings"):
                self._serve_embeddings(h, body, fault)
            else:
                self._serve_checked(h, body, fault)
        finally:
            with self._lock:
                self.active -= 1

    def _serve_checked(self, h: BaseHTTPRequestHandler, body: Any, fault: str) -> None:
        try:
            if not h.path.endswith("/chat/completions"):
                raise Reject(404, None, f"no route {h.path}")
            check_request(
                self.dialect,
                h.headers,
                body,
                model=self.model,
                api_key=self.api_key,
                max_images=self.max_images,
            )
            self._apply_status_fault(fault)
            if "hang" in fault.split("+"):
                self._stopping.wait(self.hang_s)
            if "keepalive" in fault.split("+"):
                self._keepalive(h)
                return
            if "malformed" in fault.split("+"):
                self._send(h, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            auth = h.headers.get("Authorization") or ""
            if "echo_key_html" in fault.split("+"):
                self._send(h, 200, _echo_page(auth).encode(), "text/html")
                return
            reply = self._answer(body, fault, auth=auth)
        except Reject as rej:
            self._send_error(h, rej)
            return
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            self._send_error(h, Reject(500, None, f"fake provider crashed: {exc!r}"))
            return
        if body.get("stream"):
            self._stream(h, reply, body, fault)
        elif "trickle" in fault.split("+"):
            self._trickle(h, json.dumps(self._completion(reply)).encode())
        else:
            self._send(h, 200, json.dumps(self._completion(reply)).encode(), "application/json")

    def _serve_audio(
        self, h: BaseHTTPRequestHandler, raw: bytes, fault: str, record: Recorded
    ) -> None:
        """``audio/transcriptions``: checked and answered by :mod:`tests.fake.audio`; the
        recorded body is the request's fields plus what the file was (name, type, bytes,
        seconds)."""
        flags = set(fault.split("+"))
        try:
            req = read_request(
                self.audio_dialect, h.headers, raw, model=self.audio_model, api_key=self.api_key
            )
            record.body = {
                **req.fields,
                "file": {
                    "filename": req.filename,
                    "content_type": req.content_type,
                    "bytes": len(req.wav),
                    "duration_s": req.duration_s,
                },
            }
            self._apply_status_fault(fault)
            if "hang" in flags:
                self._stopping.wait(self.hang_s)
            if "malformed" in flags:
                self._send(h, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            auth = h.headers.get("Authorization") or ""
            if "echo_key_html" in flags:
                self._send(h, 200, _echo_page(auth).encode(), "text/html")
                return
            extra = f"(the request said Authorization: {auth})" if "echo_key" in flags else ""
            data = answer(self.audio_dialect, req, model=self.audio_model, extra_text=extra)
        except Reject as rej:
            self._send_error(h, rej)
            return
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            self._send_error(h, Reject(500, None, f"fake provider crashed: {exc!r}"))
            return
        payload = json.dumps(data).encode()
        if "trickle" in flags:
            self._trickle(h, payload)
        else:
            self._send(h, 200, payload, "application/json")

    def _serve_embeddings(self, h: BaseHTTPRequestHandler, body: Any, fault: str) -> None:
        """``embeddings``: checked and answered by :mod:`tests.fake.embeddings`."""
        flags = set(fault.split("+"))
        try:
            dialect = EMBEDDING_DIALECTS[self.embedding_dialect]
            self._apply_status_fault(fault)
            if "malformed" in flags:
                self._send(h, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            data = embeddings_answer(
                dialect, h.headers, body, model=self.embedding_model or dialect.model,
                api_key=self.api_key, faults=flags,
            )  # fmt: skip
        except Reject as rej:
            self._send_error(h, rej)
            return
        self._send(h, 200, json.dumps(data).encode(), "application/json")

    # -- checks ------------------------------------------------------------------------------

    @staticmethod
    def _apply_status_fault(fault: str) -> None:
        head = fault.split("+")[0]
        match = re.fullmatch(r"(\d{3})(?::(\d+))?(?::retry_after=([^:]+))?", head)
        if match:
            status, code, retry_after = match.groups()
            raise Reject(int(status), code, f"scripted failure {head}", retry_after)

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], fault: str, *, auth: str = "") -> dict[str, Any]:
        """The model's answer (:mod:`tests.fake.model`) with the faults of ``fault`` applied
        and the usage counted."""
        flags = set(fault.split("+"))
        content = answer_content(body, flags)
        text, data = content.text, content.data
        seen = content.perceived.seen
        image_tokens, text_chars = content.perceived.image_tokens, content.perceived.text_chars
        if "echo_key" in flags:
            quoted = f" (the request said Authorization: {auth})"
            if data is not None and data.get("events"):
                data["events"][0]["description"] += quoted
            elif data is not None:
                data["answer"] += quoted
            text = json.dumps(data) if data is not None else text + quoted
        finish = "stop"
        if "truncate" in flags and data is not None and seen:
            last = json.dumps(data["events"][-1])
            cut = text.index(last) + len(last) // 2
            text, finish = text[:cut], "length"
        budget_chars = 4 * int(body.get("max_tokens") or 0)
        if "length" in flags and budget_chars and len(text) > budget_chars:
            text, finish = text[:budget_chars], "length"
        if "fence" in flags:
            text = f"```json\n{text}\n```"
        if "box" in flags:
            text = f"<|begin_of_box|>{text}<|end_of_box|>"
        if "prose" in flags:
            text = f"Here is the analysis of the frames:\n{text}\nLet me know if you need more."
        reasoning = ""
        if thinking_on(self.dialect, body):
            colours = ", ".join(s.colour for s in seen) or "no frames"
            reasoning = f"I look at each frame in order. I see: {colours}. Events follow."
        if "think" in flags:
            text = f"<think>{reasoning or 'Let me look.'}</think>\n{text}"
            reasoning = ""
        if "refuse" in flags:
            text = "I'm sorry, I can't analyse these frames."
        if "sensitive" in flags:
            text, finish = text[: len(text) // 3], "sensitive"
        completion_tokens = math.ceil((len(text) + len(reasoning)) / 4)
        prompt_tokens = image_tokens + math.ceil(text_chars / 4)
        return {
            "content": text,
            "reasoning": reasoning,
            "finish_reason": finish,
            "usage": self._usage(prompt_tokens, completion_tokens, math.ceil(len(reasoning) / 4)),
            "drop": "drop" in flags,
            "bad_chunk": "bad_chunk" in flags,
            "chunk_chars": 7 if "echo_key" in flags else 40,
            "request_id": body.get("request_id"),
        }

    def _usage(self, prompt: int, completion: int, reasoning: int) -> dict[str, Any]:
        return usage_shape(self.dialect, prompt, completion, reasoning, self.cached_tokens)

    def _message(self, reply: dict[str, Any]) -> dict[str, Any]:
        return message_shape(self.dialect, reply["content"], reply["reasoning"])

    def _completion(self, reply: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": self._message(reply),
                    "finish_reason": reply["finish_reason"],
                }
            ],
            "usage": reply["usage"],
        }
        if self.dialect.usage_style == "zai" and reply["request_id"]:
            out["request_id"] = reply["request_id"]
        return out

    def _chunks(self, reply: dict[str, Any], body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        base = {"id": "fake-stream", "created": int(time.time()), "model": self.model}
        field_name = self.dialect.reasoning_field
        text, reasoning = reply["content"], reply["reasoning"]
        for i in range(0, len(reasoning), 24):
            delta = {"role": "assistant", field_name: reasoning[i : i + 24]}
            yield {**base, "choices": [{"index": 0, "delta": delta}]}
        step = reply["chunk_chars"]
        for i in range(0, len(text), step):
            delta = {"role": "assistant", "content": text[i : i + step]}
            if self.dialect.usage_style == "zai":
                delta["reasoning_content"] = ""  # as recorded from api.z.ai
            yield {**base, "choices": [{"index": 0, "delta": delta}]}
        if reply["drop"]:
            return
        final_choice = {"index": 0, "finish_reason": reply["finish_reason"], "delta": {}}
        wants_usage = not self.dialect.stream_usage_needs_option or (
            body.get("stream_options", {}).get("include_usage") is True
        )
        if self.dialect.stream_usage_needs_option:
            yield {**base, "choices": [final_choice]}
            if wants_usage:  # vLLM: a last chunk with empty choices carries the usage
                yield {**base, "choices": [], "usage": reply["usage"]}
        else:
            yield {**base, "choices": [final_choice], "usage": reply["usage"]}

    def _stream(
        self, h: BaseHTTPRequestHandler, reply: dict[str, Any], body: dict[str, Any], fault: str
    ) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        events: list[bytes] = []
        if self.dialect.name == "openrouter":
            events.append(b": OPENROUTER PROCESSING\n\n")  # keep-alive comment
        for chunk in self._chunks(reply, body):
            if reply["bad_chunk"] and chunk["choices"] and chunk["choices"][0].get("finish_reason"):
                events.append(b"data: <html>upstream error</html>\n\n")
            events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if not reply["drop"]:
            events.append(b"data: [DONE]\n\n")
        try:
            if "trickle" in fault.split("+"):
                self._dribble(h, b"".join(events))
            else:
                for event in events:
                    h.wfile.write(event)
                    h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    def _keepalive(self, h: BaseHTTPRequestHandler) -> None:
        """200 and SSE comments, as OpenRouter sends while the model has not started, forever
        (up to ``hang_s``): only an overall deadline ends this request."""
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        ends_at = time.monotonic() + self.hang_s
        try:
            while time.monotonic() < ends_at and not self._stopping.is_set():
                h.wfile.write(b": OPENROUTER PROCESSING\n\n")
                h.wfile.flush()
                self._stopping.wait(self.trickle_s)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    def _trickle(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        """A whole answer announced by Content-Length, sent one byte every ``trickle_s``."""
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._dribble(h, data)

    def _dribble(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        """Write ``data`` one byte every ``trickle_s`` (up to ``hang_s``, then the rest at
        once): never silent long enough for a read timeout."""
        ends_at = time.monotonic() + self.hang_s
        for i in range(len(data)):
            if time.monotonic() >= ends_at or self._stopping.is_set():
                h.wfile.write(data[i:])
                break
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            self._stopping.wait(self.trickle_s)
        h.wfile.flush()

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _send_error(self, h: BaseHTTPRequestHandler, rej: Reject) -> None:
        payload = error_payload(self.dialect, rej)
        data = json.dumps(payload).encode()
        try:
            h.send_response(rej.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            if rej.retry_after:
                h.send_header("Retry-After", rej.retry_after)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _echo_page(auth: str) -> str:
    """An HTML debug page that gives the request's credentials back in three forms."""
    from urllib.parse import quote

    key = auth.removeprefix("Bearer ")
    return (
        "<html><head><title>Gateway debug</title></head><body><h1>Request received</h1>"
        f"<pre>Authorization: {auth}\nkey={key}\n"
        f"forwarded=https://upstream/?key={quote(key, safe='')}</pre></body></html>"
    )


@dataclass
class FakeProviders:
    """The ``fake_provider`` fixture: start servers by dialect; all stop at teardown."""

    started: list[FakeProvider] = field(default_factory=list)

    def __call__(self, dialect: str = "zai", **kwargs: Any) -> FakeProvider:
        server = FakeProvider(dialect, **kwargs).start()
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()

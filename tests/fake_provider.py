"""A loopback HTTP server that speaks GLM-4.5V's provider dialects, for end-to-end tests.

``FakeProvider("zai")`` serves ``POST …/chat/completions`` on 127.0.0.1 (random port) the way the
named provider does, with its expectations written down here independently of the adapter's
profile table (``DIALECTS``; facts from ``shared/reference/glm-4.5v.md``):

* it checks the request as the provider would: ``Authorization: Bearer <key>`` for keyed
  providers, the model id, the image limit, the SHAPE of the thinking switch (Z.AI answers 400
  with code 1210 to ``enable_thinking``), the accepted image encodings (raw base64 or data URL);
* it decodes every JPEG frame with Pillow, reads the ``[t=…s]`` text before it, finds each
  frame's dominant colour (nearest of ``COLOURS_RGB``) and answers from what it saw: one event
  per run of a colour (start = first frame of the run, end = first frame of the next run),
  a character when the moving test pattern is visible, a causal link between consecutive
  events. In video mode (vLLM/SGLang ``video_url``) it decodes the clip at 1 fps and answers in
  integer seconds from the clip start, as GLM-4.5V's processor shows them;
* it returns usage in the dialect's shape (28x28 px per image token), reasoning in the
  dialect's field when thinking is on, and streams SSE when asked;
* it answers questions (a ``Question:`` line, see ``videoidx.qa``) from what it is given: with
  numbered evidence lines, it cites the lines that share a word with the question (all of them
  when the question has no content words, "NOT IN EVIDENCE" when none match); with frames (look
  again), it says which colours it saw when and cites the clip's number;
* it misbehaves on request: ``server.script([...])`` queues one fault per request (see
  :func:`FakeProvider.script` for the vocabulary), or the header ``X-Fake-Fault`` sets one.

Every request is recorded in ``server.requests`` for the tests to inspect.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image

from videoidx.media.synth import COLOURS_RGB

_PALETTE_NAMES = list(COLOURS_RGB)
_PALETTE = np.array([COLOURS_RGB[n] for n in _PALETTE_NAMES], dtype=np.int32)
_TS = re.compile(r"^\s*\[t=(-?\d+(?:\.\d+)?)s\]\s*$")
THINKING_KEYS = (
    "thinking",
    "reasoning",
    "enable_thinking",
    "thinking_budget",
    "chat_template_kwargs",
)


@dataclass(frozen=True)
class Dialect:
    """What one provider expects and how it answers."""

    name: str
    model: str
    key: bool
    """Whether the provider requires ``Authorization: Bearer``."""
    thinking: str
    """Which thinking switch it takes: zai | openrouter | siliconflow | chat_template_kwargs |
    none."""
    thinking_default: bool
    reasoning_field: str
    encodings: frozenset[str]
    """Accepted ``image_url.url`` forms: ``raw`` (bare base64) and/or ``data`` (data URL)."""
    max_images: int | None
    video: bool
    usage_style: str
    """zai | openrouter | siliconflow | openai"""
    stream_usage_needs_option: bool = False
    """vLLM/SGLang only send usage in a stream when ``stream_options.include_usage`` is set."""


DIALECTS: dict[str, Dialect] = {
    "zai": Dialect(
        "zai", "glm-4.5v", True, "zai", True, "reasoning_content",
        frozenset({"raw", "data"}), 50, False, "zai",
    ),
    "zai_cn": Dialect(
        "zai_cn", "glm-4.5v", True, "zai", True, "reasoning_content",
        frozenset({"raw", "data"}), 50, False, "zai",
    ),
    "openrouter": Dialect(
        "openrouter", "z-ai/glm-4.5v", True, "openrouter", True, "reasoning",
        frozenset({"data"}), 50, False, "openrouter",
    ),
    "siliconflow": Dialect(
        "siliconflow", "zai-org/GLM-4.5V", True, "siliconflow", True, "reasoning_content",
        frozenset({"raw", "data"}), None, False, "siliconflow",
    ),
    "vllm": Dialect(
        "vllm", "glm-4.5v", False, "chat_template_kwargs", True, "reasoning",
        frozenset({"data"}), None, True, "openai", stream_usage_needs_option=True,
    ),
    "sglang": Dialect(
        "sglang", "glm-4.5v", False, "chat_template_kwargs", True, "reasoning_content",
        frozenset({"data"}), None, True, "openai", stream_usage_needs_option=True,
    ),
    "openai": Dialect(
        "openai", "qwen2.5-vl-7b", False, "none", False, "reasoning_content",
        frozenset({"data"}), None, False, "openai",
    ),
}  # fmt: skip


class _Reject(Exception):
    def __init__(
        self, status: int, code: str | None, message: str, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


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
            for item in _user_items(self.body)
            if item.get("type") == "image_url"
        ]


def _user_items(body: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for msg in body.get("messages", []) if isinstance(body, dict) else []:
        if isinstance(msg, dict) and isinstance(msg.get("content"), list):
            items += [i for i in msg["content"] if isinstance(i, dict)]
    return items


@dataclass
class Seen:
    """One frame as the fake 'model' perceived it."""

    time_s: float
    colour: str
    pattern: bool
    box: tuple[int, int, int, int]
    """Where the non-dominant pixels are, 0-1000 scale (the test pattern's extent)."""


def perceive(img: Image.Image, time_s: float) -> Seen:
    """Dominant palette colour of a frame, whether the test pattern shows, and its box."""
    rgb = np.asarray(img.convert("RGB").resize((64, 48)), dtype=np.int32)
    px = rgb.reshape(-1, 3)
    nearest = ((px[:, None, :] - _PALETTE[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(_PALETTE))
    dominant = int(counts.argmax())
    other = (nearest != dominant).reshape(rgb.shape[:2])
    pattern = bool(other.mean() > 0.05)
    if pattern:
        ys, xs = np.nonzero(other)
        box = (
            int(xs.min() * 1000 / 64),
            int(ys.min() * 1000 / 48),
            int((xs.max() + 1) * 1000 / 64),
            int((ys.max() + 1) * 1000 / 48),
        )
    else:
        box = (0, 0, 1000, 1000)
    return Seen(time_s, _PALETTE_NAMES[dominant], pattern, box)


def analysis_from(seen: Sequence[Seen], *, mmss: bool = False, grounding: bool = False) -> dict:
    """The answer a perfect annotator would give for these frames."""
    runs: list[list[Seen]] = []
    for s in sorted(seen, key=lambda s: s.time_s):
        if runs and runs[-1][0].colour == s.colour:
            runs[-1].append(s)
        else:
            runs.append([s])
    pattern_frames = [s for s in seen if s.pattern]

    def t(v: float) -> Any:
        return f"{int(v // 60):02d}:{v % 60:04.1f}" if mmss else round(v, 3)

    events = []
    for i, run in enumerate(runs):
        end = runs[i + 1][0].time_s if i + 1 < len(runs) else run[-1].time_s
        event: dict[str, Any] = {
            "id": f"e{i + 1}",
            "start_s": t(run[0].time_s),
            "end_s": t(end),
            "label": f"{run[0].colour} screen",
            "description": f"the screen is {run[0].colour} in {len(run)} frame(s)",
            "characters": ["c1"] if any(s.pattern for s in run) else [],
            "objects": ["test pattern"] if any(s.pattern for s in run) else [],
            "location": "synthetic studio",
            "on_screen_text": "",
            "confidence": 0.9,
        }
        if grounding and event["characters"]:
            event["boxes"] = {"c1": list(next(s.box for s in run if s.pattern))}
        events.append(event)
    characters = []
    if pattern_frames:
        characters.append(
            {
                "id": "c1",
                "name": "moving test pattern",
                "appearance": "colour bars and a moving circle",
                "first_seen_s": t(pattern_frames[0].time_s),
            }
        )
    links = [
        {
            "cause": f"e{i}",
            "effect": f"e{i + 1}",
            "relation": "precedes",
            "explanation": f"{runs[i - 1][0].colour} is cut to {runs[i][0].colour}",
        }
        for i in range(1, len(runs))
    ]
    return {
        "events": events,
        "characters": characters,
        "causal_links": links,
        "summary": "Colours in order: " + ", ".join(r[0].colour for r in runs) + ".",
    }


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
    ) -> None:
        base = DIALECTS[dialect]
        self.dialect = base
        self.model = model or base.model
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
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fault = self._next_fault(h.headers.get("X-Fake-Fault"))
        with self._lock:
            self.requests.append(Recorded(h.path, dict(h.headers.items()), body, fault))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.latency_s:
                self._stopping.wait(self.latency_s)
            self._serve_checked(h, body, fault)
        finally:
            with self._lock:
                self.active -= 1

    def _serve_checked(self, h: BaseHTTPRequestHandler, body: Any, fault: str) -> None:
        try:
            if not h.path.endswith("/chat/completions"):
                raise _Reject(404, None, f"no route {h.path}")
            self._check(h, body)
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
        except _Reject as rej:
            self._send_error(h, rej)
            return
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            self._send_error(h, _Reject(500, None, f"fake provider crashed: {exc!r}"))
            return
        if body.get("stream"):
            self._stream(h, reply, body, fault)
        elif "trickle" in fault.split("+"):
            self._trickle(h, json.dumps(self._completion(reply)).encode())
        else:
            self._send(h, 200, json.dumps(self._completion(reply)).encode(), "application/json")

    # -- checks ------------------------------------------------------------------------------

    def _check(self, h: BaseHTTPRequestHandler, body: Any) -> None:
        d = self.dialect
        zai = d.usage_style == "zai"
        if d.key or (self.api_key and h.headers.get("Authorization")):
            auth = h.headers.get("Authorization")
            if not auth:
                raise _Reject(401, "1001" if zai else None, "no Authorization header received")
            if auth != f"Bearer {self.api_key}":
                # Real providers echo the bad key back ("Incorrect API key provided: sk-…").
                token = auth.removeprefix("Bearer ")
                raise _Reject(401, "1000" if zai else None, f"authentication failed: {token}")
        if not isinstance(body, dict):
            raise _Reject(400, "1214" if zai else None, "body is not a JSON object")
        if body.get("model") != self.model:
            if zai:
                raise _Reject(400, "1211", f"model {body.get('model')!r} does not exist")
            raise _Reject(404, None, f"The model `{body.get('model')}` does not exist.")
        self._check_thinking(body)
        images = [i for i in _user_items(body) if i.get("type") == "image_url"]
        if self.max_images is not None and len(images) > self.max_images:
            raise _Reject(400, "1210" if zai else None, f"at most {self.max_images} images")
        for item in images:
            url = item.get("image_url", {}).get("url", "")
            kind = "data" if url.startswith("data:image/") else "raw"
            if kind not in d.encodings:
                raise _Reject(400, "1210" if zai else None, f"{kind} image encoding not accepted")
        if any(i.get("type") == "video_url" for i in _user_items(body)) and not d.video:
            raise _Reject(400, "1210" if zai else None, "video_url not supported for this model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise _Reject(400, "1214" if zai else None, "messages must be a non-empty list")

    def _check_thinking(self, body: dict[str, Any]) -> None:
        style = self.dialect.thinking
        allowed = {
            "zai": {"thinking"},
            "openrouter": {"reasoning"},
            "siliconflow": {"enable_thinking", "thinking_budget"},
            "chat_template_kwargs": {"chat_template_kwargs"},
            "none": set(),
        }[style]
        code = "1210" if self.dialect.usage_style == "zai" else None
        for key in THINKING_KEYS:
            if key in body and key not in allowed:
                raise _Reject(400, code, f"parameter {key!r} is not supported here")
        if style == "zai" and "thinking" in body:
            t = body["thinking"]
            if not isinstance(t, dict) or t.get("type") not in ("enabled", "disabled"):
                raise _Reject(400, code, "thinking.type must be enabled or disabled")
        if style == "openrouter" and "reasoning" in body:
            r = body["reasoning"]
            if not isinstance(r, dict) or not isinstance(r.get("enabled", True), bool):
                raise _Reject(400, None, "reasoning must be an object with a boolean enabled")
        if style == "siliconflow":
            if "enable_thinking" in body and not isinstance(body["enable_thinking"], bool):
                raise _Reject(400, None, "enable_thinking must be a boolean")
            budget = body.get("thinking_budget")
            if budget is not None and not (isinstance(budget, int) and 128 <= budget <= 32768):
                raise _Reject(400, None, "thinking_budget must be an integer in 128..32768")
        if style == "chat_template_kwargs" and "chat_template_kwargs" in body:
            k = body["chat_template_kwargs"]
            if not isinstance(k, dict) or not isinstance(k.get("enable_thinking", True), bool):
                raise _Reject(400, None, "chat_template_kwargs.enable_thinking must be a bool")

    def thinking_on(self, body: dict[str, Any]) -> bool:
        """Whether the request asked for thinking, read the dialect's way."""
        style = self.dialect.thinking
        if style == "zai":
            return body.get("thinking", {}).get("type", "enabled") == "enabled"
        if style == "openrouter":
            return bool(body.get("reasoning", {}).get("enabled", True))
        if style == "siliconflow":
            return bool(body.get("enable_thinking", True))
        if style == "chat_template_kwargs":
            return bool(body.get("chat_template_kwargs", {}).get("enable_thinking", True))
        return False

    @staticmethod
    def _apply_status_fault(fault: str) -> None:
        head = fault.split("+")[0]
        match = re.fullmatch(r"(\d{3})(?::(\d+))?(?::retry_after=([^:]+))?", head)
        if match:
            status, code, retry_after = match.groups()
            raise _Reject(int(status), code, f"scripted failure {head}", retry_after)

    # -- answering ---------------------------------------------------------------------------

    def _perceive_request(self, body: dict[str, Any]) -> tuple[list[Seen], int, int]:
        """Frames (or video) -> what was seen, plus image tokens and text characters."""
        seen: list[Seen] = []
        image_tokens, text_chars = 0, 0
        last_ts: float | None = None
        for item in _user_items(body):
            kind = item.get("type")
            if kind == "text":
                text_chars += len(item.get("text", ""))
                match = _TS.match(item.get("text", ""))
                last_ts = float(match.group(1)) if match else None
            elif kind == "image_url":
                if last_ts is None:
                    raise _Reject(400, None, "fake: an image without its [t=...s] text before it")
                url = item["image_url"]["url"]
                data = base64.b64decode(url.split(",", 1)[1] if url.startswith("data:") else url)
                with Image.open(io.BytesIO(data)) as img:
                    if img.format != "JPEG":
                        raise _Reject(400, None, "fake: frames must be JPEG")
                    seen.append(perceive(img, last_ts))
                    w, h = img.size
                image_tokens += math.ceil(w / 28) * math.ceil(h / 28) + 2
                last_ts = None
            elif kind == "video_url":
                frames, tokens = _decode_video(item["video_url"]["url"])
                seen += frames
                image_tokens += tokens
        for msg in body.get("messages", []):
            if isinstance(msg.get("content"), str):
                text_chars += len(msg["content"])
        return seen, image_tokens, text_chars

    def _answer(self, body: dict[str, Any], fault: str, *, auth: str = "") -> dict[str, Any]:
        flags = set(fault.split("+"))
        seen, image_tokens, text_chars = self._perceive_request(body)
        question = _question(body)
        data: Any = None
        if question is not None and seen:  # look again: a question about these frames
            cited = re.search(r"cited as \[(\d+)\]", _user_text(body))
            text = look_answer(seen, int(cited.group(1)) if cited else 1)
        elif question is not None:  # Q&A over numbered evidence
            text = qa_answer(question, _evidence(body), invent="invent_citation" in flags)
            if "decline" in flags:
                text = "NOT IN EVIDENCE: the evidence does not say."
        elif seen:
            grounding = "bounding box" in json.dumps(body.get("messages", []))
            data = analysis_from(seen, mmss="mmss" in flags, grounding=grounding)
            text = json.dumps(data)
        else:  # a text-only request (consolidation)
            data = {"answer": "fake answer", "groups": [], "links": []}
            text = json.dumps(data)
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
        if self.thinking_on(body):
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
        cached = min(self.cached_tokens, prompt)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        style = self.dialect.usage_style
        if style == "zai":
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        elif style == "openrouter":
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
            usage["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
            usage["cost"] = round((prompt * 0.5 + completion * 1.5) / 1e6, 10)
            usage["cost_details"] = {"upstream_inference_cost": None}
        elif style == "siliconflow":
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
            usage["prompt_cache_hit_tokens"] = cached
            usage["prompt_cache_miss_tokens"] = prompt - cached
        return usage

    def _message(self, reply: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply["content"]}
        if reply["reasoning"]:
            message[self.dialect.reasoning_field] = reply["reasoning"]
            if self.dialect.name == "openrouter":
                message["reasoning_details"] = [
                    {"type": "reasoning.text", "text": reply["reasoning"], "index": 0}
                ]
        return message

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

    def _send_error(self, h: BaseHTTPRequestHandler, rej: _Reject) -> None:
        if self.dialect.usage_style == "zai":
            payload: dict[str, Any] = {
                "error": {"code": rej.code or str(rej.status), "message": rej.message}
            }
        elif self.dialect.usage_style == "siliconflow":
            payload = {"code": int(rej.code or rej.status), "message": rej.message, "data": None}
        else:
            payload = {"error": {"message": rej.message, "code": int(rej.code or rej.status)}}
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


_QUESTION = re.compile(r"^Question:\s*(.+)$", re.MULTILINE)
_EVIDENCE = re.compile(r"^\[(\d+)\]\s+(.+)$", re.MULTILINE)
_QA_STOPWORDS = frozenset(
    {
        "the", "what", "when", "why", "how", "did", "does", "happen", "happened", "happens",
        "between", "after", "before", "and", "first", "appear", "appears", "who", "where",
        "which", "was", "were", "are", "there", "this", "that", "with", "from", "video",
    }
)  # fmt: skip


def _user_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for msg in body.get("messages", []):
        if msg.get("role") != "user":
            continue
        if isinstance(msg.get("content"), str):
            parts.append(msg["content"])
        else:
            parts += [i.get("text", "") for i in msg.get("content") or [] if isinstance(i, dict)]
    return "\n".join(parts)


def _question(body: dict[str, Any]) -> str | None:
    match = _QUESTION.search(_user_text(body))
    return match.group(1).strip() if match else None


_EVIDENCE_BLOCK = re.compile(r'<data label="evidence">\n(.*?)\n</data>', re.DOTALL)
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# [n] "title" m:ss-m:ss "label": "description" (see videoidx.qa.answer.evidence_line)
_EVIDENCE_FIELDS = re.compile(rf"^({_QUOTED}) (\S+) ({_QUOTED})(?:: ({_QUOTED}))?$")


def _evidence(body: dict[str, Any]) -> dict[int, str]:
    """Evidence number -> ``m:ss-m:ss label: description``, read from the evidence data block
    the way a model reads it (the quoted fields decoded; the first line per number)."""
    block = _EVIDENCE_BLOCK.search(_user_text(body))
    lines: dict[int, str] = {}
    for match in _EVIDENCE.finditer(block.group(1) if block else ""):
        fields = _EVIDENCE_FIELDS.match(match.group(2))
        text = match.group(2)
        if fields:
            _title, times, label, description = fields.groups()
            text = f"{times} {json.loads(label)}" + (
                f": {json.loads(description)}" if description else ""
            )
        lines.setdefault(int(match.group(1)), text)
    return lines


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w for w in words if len(w) >= 3 and w not in _QA_STOPWORDS}


def qa_answer(question: str, evidence: dict[int, str], *, invent: bool = False) -> str:
    """Cite the evidence lines sharing a word with the question; decline when none do."""
    asked = _content_words(question)
    if asked:
        cited = [n for n, line in evidence.items() if asked & _content_words(line)]
    else:
        cited = list(evidence)
    if not cited:
        return f"NOT IN EVIDENCE: nothing shown mentions {', '.join(sorted(asked))}."
    text = "From the evidence: " + "; ".join(f"{evidence[n]} [{n}]" for n in cited) + "."
    if invent:
        text += f" It is also shown in [{max(evidence) + 7}]."
    return text


def look_answer(seen: Sequence[Seen], n: int) -> str:
    """What the frames show: each colour and when it starts, citing the clip as ``[n]``."""
    runs: list[Seen] = []
    for s in sorted(seen, key=lambda s: s.time_s):
        if not runs or runs[-1].colour != s.colour:
            runs.append(s)
    told = ", then ".join(f"{s.colour} from {s.time_s:.1f} s" for s in runs)
    return f"In these frames the screen is {told} [{n}]."


def _decode_video(url: str) -> tuple[list[Seen], int]:
    """A ``data:video/mp4;base64`` clip at 1 fps, timed in integer seconds from its start."""
    import decord

    if not url.startswith("data:video/"):
        raise _Reject(400, None, "fake: only data:video/...;base64 URLs are supported")
    data = base64.b64decode(url.split(",", 1)[1])
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(data)
        tmp.flush()
        vr = decord.VideoReader(tmp.name)
        fps = vr.get_avg_fps()
        duration = len(vr) / fps
        seconds = list(range(int(duration) + (0 if duration == int(duration) else 1)))
        indices = [min(int(s * fps), len(vr) - 1) for s in seconds]
        batch = vr.get_batch(indices).asnumpy()
    seen, tokens = [], 0
    for s, frame in zip(seconds, batch, strict=True):
        img = Image.fromarray(frame)
        seen.append(perceive(img, float(s)))
        tokens += math.ceil(img.width / 28) * math.ceil(img.height / 28)
    return seen, tokens


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

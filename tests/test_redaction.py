"""A provider that echoes the API key back never gets it into the store, the export, logs or errors.

The redactor is tested on the forms a key comes back in (as is, after ``Bearer``, percent-,
JSON- or HTML-escaped, split across stream chunks); the chat client on bodies of every shape
(HTML with 200, JSON content, JSON errors, SSE); and the whole run end to end: ``videoidx index``
(plain and streamed), ``export`` and ``ask`` against the fake provider echoing the
``Authorization`` header, after which no piece of the key is in any row of the DuckDB file, the
JSON export, stdout, stderr or a log record.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from indexers.glm.client import ChatClient, UnreadableReplyError
from indexers.glm.profiles import PROFILES
from indexers.glm.redact import MASK, Redactor
from tests.fake_provider import FakeProvider
from videoidx.errors import ProviderError

KEY = "vx-SECRET/echo+Key=8f3a9c1d2e7b"
WINDOW = 6
"""A leak is any run of this many characters of the key: a stream can split the key into
pieces, and each piece must be blanked too, not only the whole."""
CLIP_FLAGS = {
    "VIDEOIDX_CLIP_TARGET_S": "3",
    "VIDEOIDX_CLIP_MIN_S": "2",
    "VIDEOIDX_CLIP_MAX_S": "4",
    "VIDEOIDX_FRAME_MAX_GAP_S": "1",
}


def leaks(text: str) -> list[str]:
    """Pieces of the key (in any echoed form) found in ``text``."""
    forms = {KEY, urllib.parse.quote(KEY, safe=""), urllib.parse.quote_plus(KEY)}
    found = []
    for form in forms:
        found += [form[i : i + WINDOW] for i in range(len(form) - WINDOW + 1)]
    return sorted({piece for piece in found if piece.lower() in text.lower()})


# -- the redactor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "echoed",
    [
        f"Authorization: Bearer {KEY}",
        f"<pre>key={KEY}</pre>",
        f"https://up/?key={urllib.parse.quote(KEY, safe='')}",
        f"https://up/?key={urllib.parse.quote(KEY, safe='').lower()}",
        f"q={urllib.parse.quote_plus(KEY)}",
        json.dumps({"error": KEY}).replace("/", "\\/"),
    ],
)
def test_every_echoed_form_of_the_key_is_blanked(echoed: str) -> None:
    out = Redactor([KEY])(echoed)
    assert MASK in out and not leaks(out)


def test_a_key_split_across_pieces_is_blanked_in_every_piece() -> None:
    text = f'{{"description": "seen Bearer {KEY} here"}}'
    for size in (1, 3, 7, 40):
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        out = Redactor([KEY]).spread(pieces)
        assert len(out) == len(pieces)
        assert "".join(out) == text.replace(KEY, MASK)
        assert not any(leaks(p) for p in out)


def test_a_redactor_hides_nothing_without_a_key_and_shows_nothing_in_its_repr() -> None:
    assert Redactor([None, ""])(f"Bearer {KEY}") == f"Bearer {KEY}"
    assert Redactor(["abc"])("abc") == "abc"  # too short to be a key: text stays intact
    assert KEY not in repr(Redactor([KEY]))


# -- the chat client, on every shape of body -------------------------------------------------


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> ChatClient:
    return ChatClient(
        PROFILES["zai"], api_key=KEY, max_retries=0, transport=httpx.MockTransport(handler)
    )


def _echo(request: httpx.Request) -> str:
    return request.headers["Authorization"]


def _completion(content: str, **extra: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, "reasoning_content": content}
    return {"choices": [{"message": message, "finish_reason": "stop"}], "model": content, **extra}


def _sse(chunks: list[str]) -> bytes:
    return "".join(f"data: {c}\n\n" for c in chunks).encode()


def _deltas(text: str, size: int) -> list[str]:
    return [
        json.dumps({"choices": [{"index": 0, "delta": {"content": text[i : i + size]}}]})
        for i in range(0, len(text), size)
    ]


BODIES: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "html-200": lambda r: httpx.Response(200, text=f"<html><pre>{_echo(r)}</pre></html>"),
    "text-200-key-first": lambda r: httpx.Response(200, text=f"{KEY} is not JSON"),
    "json-error-200": lambda r: httpx.Response(200, json={"error": {"message": _echo(r)}}),
    "json-error-code": lambda r: httpx.Response(400, json={"error": {"code": KEY, "message": "x"}}),
    "html-401": lambda r: httpx.Response(401, text=f"<h1>bad key {_echo(r)}</h1>"),
    "html-500": lambda r: httpx.Response(500, text=f"<h1>upstream {_echo(r)}</h1>"),
    "stream-split-then-garbage": lambda r: httpx.Response(
        200,
        content=_sse([*_deltas(f"the header was {_echo(r)} ok", 5), "<html>oops</html>"]),
        headers={"content-type": "text/event-stream"},
    ),
    "stream-error-chunk": lambda r: httpx.Response(
        200,
        content=_sse([json.dumps({"error": {"message": _echo(r), "code": "500"}})]),
        headers={"content-type": "text/event-stream"},
    ),
}


@pytest.mark.parametrize("body", sorted(BODIES))
def test_a_failing_reply_keeps_no_key_in_its_error_or_raw_reply(
    body: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = body.startswith("stream")
    with pytest.raises(ProviderError) as failed:
        _client(BODIES[body]).complete(
            {"model": "glm-4.5v", "messages": [], "stream": stream}, what="clip 0"
        )
    exc = failed.value
    assert not leaks(str(exc)), str(exc)
    assert not leaks(getattr(exc, "raw_reply", "")), exc
    assert not leaks(repr(exc.__dict__))
    assert not leaks(caplog.text)
    if isinstance(exc, UnreadableReplyError) and exc.raw_reply:
        assert MASK in exc.raw_reply  # the body is kept, only the key is gone


def test_an_answer_quoting_the_key_comes_out_clean_however_it_was_escaped() -> None:
    # JSON may spell any character as \\uXXXX: the key only appears once the body is parsed.
    body = json.dumps(_completion("said " + KEY)).replace("vx-", "\\u0076x-")
    assert KEY not in body
    reply = _client(lambda r: httpx.Response(200, text=body)).complete(
        {"model": "m", "messages": []}, what="x"
    )
    assert reply.content == f"said {MASK}"
    assert not leaks(reply.reasoning + reply.model)


def test_a_streamed_answer_with_a_split_key_comes_out_whole_and_clean() -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        text = f"I was sent {_echo(r)}."
        last = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        return httpx.Response(200, content=_sse([*_deltas(text, 3), last, "[DONE]"]))

    reply = _client(handler).complete({"model": "m", "messages": [], "stream": True}, what="x")
    assert reply.content == f"I was sent Bearer {MASK}."


# -- end to end: the CLI, a real DuckDB file, the export, Q&A, stderr and logs -----------------


def _all_rows(db: Path) -> str:
    """Every row of every table in the store, as text."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return "\n".join(
            repr(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall()
        )
    finally:
        con.close()


def test_a_provider_echoing_the_key_leaves_no_trace_of_it(
    colour_video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from videoidx.cli import main

    caplog.set_level(logging.DEBUG)
    caplog.errors_expected = True  # type: ignore[attr-defined]  # failed clips may log errors
    db = tmp_path / "echo.duckdb"
    with FakeProvider("zai", api_key=KEY) as server:
        env = {
            "ZAI_API_KEY": KEY,
            "VIDEOIDX_CONFIG": os.devnull,
            "VIDEOIDX_DB_PATH": str(db),
            "VIDEOIDX_INDEXER": "glm",
            "VIDEOIDX_PROVIDER": "zai",
            "VIDEOIDX_BASE_URL": server.base_url,
            "VIDEOIDX_CONCURRENCY": "1",
            "VIDEOIDX_MAX_RETRIES": "0",
            **CLIP_FLAGS,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        # Run 1, plain replies: an HTML page quoting the credentials, then an answer that quotes
        # them in an event; two clips fail, the others are done.
        server.script(["echo_key_html", "echo_key", "echo_key_html", "echo_key"])
        assert main(["index", str(colour_video)]) == 1
        # Run 2, streamed (7 characters a chunk): the failed clips are sent again; one stream
        # breaks after the key went by in pieces, one answer quotes it and completes.
        monkeypatch.setenv("VIDEOIDX_STREAM", "1")
        server.script(["echo_key+bad_chunk", "echo_key"])
        assert main(["index", str(colour_video)]) == 1
        server.script(["echo_key"])
        assert main(["ask", "what happened between 0:00 and 0:12?", "--json"]) == 0
        with duckdb.connect(str(db), read_only=True) as con:
            (video_id,) = con.execute("SELECT video_id FROM videos").fetchone() or ("",)
        export = tmp_path / "export.json"
        assert main(["export", video_id, "--out", str(export)]) == 0
        sent = [r.headers.get("Authorization") for r in server.requests]
        assert sent and set(sent) == {f"Bearer {KEY}"}  # the key did go out, and came back
        assert any(r.fault == "echo_key+bad_chunk" for r in server.requests)

    rows = _all_rows(db)
    out = capsys.readouterr()
    places = {
        "store rows": rows,
        "export": export.read_text(),
        "stdout": out.out,
        "stderr": out.err,
        "log records": "\n".join(r.getMessage() for r in caplog.records),
    }
    assert {where: leaks(text) for where, text in places.items()} == {w: [] for w in places}
    assert MASK in rows  # the echoed text is stored, with the key blanked

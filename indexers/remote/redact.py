"""Blank API keys out of whatever a provider sends back, before it can be stored, logged or raised.

A server can echo the ``Authorization`` header anywhere: in an HTML error page answered with 200,
in a JSON error message, in the model's own content, split across the deltas of an SSE stream,
percent- or JSON-escaped. Every remote client (chat completions, transcriptions; see
:mod:`indexers.remote.http`) passes every piece of provider text through one :class:`Redactor`
before it leaves the client (reply content, reasoning and model name, transcripts, the raw reply
kept for the store, error messages, log lines), so nothing downstream (the store, the JSON export,
Q&A logs, stderr) ever holds a key, whatever the body looked like.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter secrets are not blanked: they would mangle ordinary text and protect nothing."""


def _forms(secret: str) -> set[str]:
    """The ways a server may write ``secret`` back: as is, percent-, JSON- or HTML-escaped."""
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.replace("/", "\\/"),  # JSON's optional escape of "/"
        html.escape(secret),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


class Redactor:
    """Replaces every occurrence of some secrets (in any of their echoed forms) with ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                forms |= _forms(secret)
        # Longest first, so a form that contains another is blanked whole. Case-insensitive,
        # because percent-escapes come back as %2f as often as %2F.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in ordered), re.IGNORECASE) if forms else None
        )

    def __repr__(self) -> str:
        return "Redactor(...)"  # never show what it hides

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def spread(self, pieces: Sequence[str]) -> list[str]:
        """``pieces`` with every secret in their concatenation blanked, also one split across
        several pieces (the deltas of a stream): the piece where it starts gets the mask, the
        rest of it is removed from the pieces that held it."""
        joined = "".join(pieces)
        if self._pattern is None:
            return list(pieces)
        hidden = [False] * len(joined)
        starts: set[int] = set()
        for match in self._pattern.finditer(joined):
            starts.add(match.start())
            hidden[match.start() : match.end()] = [True] * (match.end() - match.start())
        if not starts:
            return list(pieces)
        out: list[str] = []
        pos = 0
        for piece in pieces:
            chars: list[str] = []
            for i in range(pos, pos + len(piece)):
                if i in starts:
                    chars.append(MASK)
                elif not hidden[i]:
                    chars.append(joined[i])
            out.append("".join(chars))
            pos += len(piece)
        return out

    def sse_payloads(self, payloads: Sequence[str], fields: Sequence[str]) -> str:
        """The ``data:`` payloads of a stream, joined by newlines, with secrets blanked, also
        those split across the ``delta`` text of several chunks. A chunk whose delta text changed
        is written again as JSON (same content, secret blanked); the others stay as received."""
        if self._pattern is None:
            return "\n".join(payloads)
        chunks: list[Any] = []
        for payload in payloads:
            try:
                chunks.append(json.loads(payload))
            except ValueError:
                chunks.append(None)
        changed: set[int] = set()
        for name in dict.fromkeys(fields):
            deltas: list[tuple[int, dict[str, Any]]] = []
            for n, chunk in enumerate(chunks):
                choices = chunk.get("choices") if isinstance(chunk, dict) else None
                for choice in choices if isinstance(choices, list) else []:
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict) and isinstance(delta.get(name), str):
                        deltas.append((n, delta))
            before = [d[name] for _, d in deltas]
            for (n, delta), old, new in zip(deltas, before, self.spread(before), strict=True):
                if new != old:
                    delta[name] = new
                    changed.add(n)
        lines = [
            json.dumps(chunks[n], ensure_ascii=False) if n in changed else payload
            for n, payload in enumerate(payloads)
        ]
        return self("\n".join(lines))

"""The search tokenizer, shared by indexing and querying so both see the same terms.

Unicode-aware: text is case-folded (``Straße`` -> ``strasse``), split on anything that is not a
letter or digit, and digits are kept (scores, jersey numbers and years are what people search
for). Accents are kept as written. No stemming and no stop words: BM25's idf already makes
very common words cheap, and a stop list would make "the who" unsearchable. Scripts written
without spaces (Chinese, Japanese) come out as one term per run of characters, which is the
honest limit of a dictionary-free tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# \w is unicode-aware in Python 3; underscores are split too so "on_screen" finds "screen".
_TOKEN_RE = re.compile(r"[^\W_]+")

MAX_TERM_CHARS = 64
"""Longer runs (base64 blobs, URLs glued together) are cut, so one event cannot bloat the index."""

MAX_QUERY_TERMS = 32
"""A query keeps its first distinct terms up to this many; a pasted essay still answers fast."""


def tokenize(text: str) -> list[str]:
    """All terms of ``text`` in order, with repeats."""
    return [t[:MAX_TERM_CHARS] for t in _TOKEN_RE.findall(text.casefold())]


def event_text(parts: Iterable[str]) -> str:
    """Join an event's searchable fields (label, description, characters, objects, ...)."""
    return " ".join(p for p in parts if p)


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order, capped at :data:`MAX_QUERY_TERMS`."""
    seen: dict[str, None] = {}
    for term in tokenize(query[: MAX_QUERY_TERMS * 200]):
        seen.setdefault(term, None)
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)

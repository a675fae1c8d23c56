"""The search tokenizer, shared by indexing and querying so both see the same terms.

Steps, in order:

1. **Fold**: case-folded (``Straße`` -> ``strasse``), then accents removed: NFKD splits ``é``
   into ``e`` and a combining accent, the accent marks (the Unicode "combining diacritical
   marks" blocks) are dropped and the rest recomposed (NFC), so ``café`` finds ``cafe`` and
   Korean syllables stay whole. Marks that are letters' vowels in other scripts (Devanagari,
   Arabic) are outside those blocks and kept.
2. **Split** on anything that is not a letter or digit; digits are kept (scores, jersey numbers
   and years are what people search for). Scripts written without spaces (Chinese, Japanese)
   come out as one term per run of characters, the honest limit of a dictionary-free tokenizer.
3. **Stem** with the Snowball English stemmer (PyStemmer), so ``stops``, ``stopped`` and
   ``stop`` are one term.

Languages: one stemmer serves the whole store, because the index and every query must agree and
a store mixes videos (and queries) in many languages. English is the default model output and
the commonest speech here. Text in another language is still found by its exact (folded) words:
the English rules rarely change a German or French word beyond a final ``s``, and they change it
the same way in the query. What other languages lose is their own inflections (German
``Häuser`` does not meet ``Haus``). Changing the stemmer means rebuilding the index (a
migration), which is why it is not a setting.

No stop words: BM25's idf already makes very common words cheap, and a stop list would make
"the who" unsearchable.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import Stemmer

TOKENIZER_ID = "snowball-english/nfkd-fold/1"
"""Names the terms this module makes; a change here needs a migration that rebuilds the index."""

# \w is unicode-aware in Python 3; underscores are split too so "on_screen" finds "screen".
_TOKEN_RE = re.compile(r"[^\W_]+")

# Combining Diacritical Marks (and Extended, Supplement, for Symbols, Half Marks): the accents
# NFKD splits off Latin, Greek and Cyrillic letters.
_ACCENTS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

MAX_TERM_CHARS = 64
"""Longer runs (base64 blobs, URLs glued together) are cut, so one event cannot bloat the index."""

MAX_QUERY_TERMS = 32
"""A query keeps its first distinct terms up to this many; a pasted essay still answers fast."""

STEM_CACHE_WORDS = 200_000
"""Words whose stems are kept (about 30 MB at most)."""

_STEMS: dict[str, str] = {}

# ASCII letters and digits lowered, everything else a space (underscores too: see _TOKEN_RE).
_ASCII_FOLD_SPLIT = {i: (chr(i).lower() if chr(i).isalnum() else " ") for i in range(128)}

# A PyStemmer object keeps a cache and is not safe to share between threads (the page, the
# pipeline's writer and Ray workers search and index at once): one per thread.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        # No cache of its own: :func:`tokenize` keeps one for all threads.
        stemmer = _local.stemmer = Stemmer.Stemmer("english", 0)
    return stemmer


def fold(text: str) -> str:
    """``text`` case-folded with its accents removed (see the module docstring)."""
    if text.isascii():  # the common case, and nothing to decompose: 3x faster
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _ACCENTS_RE.sub("", decomposed))


def words(text: str) -> list[str]:
    """The folded words of ``text`` in order, with repeats, not stemmed (for stop-word lists
    and for showing which words matched)."""
    if text.isascii():
        # The same split as the regex for ASCII ([^\W_] is [A-Za-z0-9] there), 3x faster: one
        # C pass lowers and blanks the separators, one splits. Bulk ingest is mostly this.
        found = text.translate(_ASCII_FOLD_SPLIT).split()
        if any(len(w) > MAX_TERM_CHARS for w in found):
            return [w[:MAX_TERM_CHARS] for w in found]
        return found
    return [t[:MAX_TERM_CHARS] for t in _TOKEN_RE.findall(fold(text))]


def tokenize(text: str) -> list[str]:
    """All index terms of ``text`` in order, with repeats: folded, split and stemmed."""
    return stems(words(text))


def stems(folded: Sequence[str]) -> list[str]:
    """The index term of each folded word (as :func:`words` gives them), in order.

    Bulk ingest calls this once per batch with the batch's distinct words, so each word is
    stemmed (or looked up) once however often it occurs.
    """
    if not folded:
        return []
    # Stems of words seen before come from one shared dict (a lookup is a tenth of a Snowball
    # run); a word's stem never changes, so threads may share it. Cleared when full.
    cache = _STEMS
    if len(cache) > STEM_CACHE_WORDS:
        cache.clear()
    out = list(map(cache.get, folded))
    if None in out:
        stemmer = _stemmer()
        for i, term in enumerate(out):
            if term is None:  # a word may repeat: the first time stems it for the rest
                word = folded[i]
                found = cache.get(word)
                if found is None:
                    found = cache[word] = stemmer.stemWord(word)
                out[i] = found
    return out  # type: ignore[return-value]  # no None is left


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

"""The fake provider's ``embeddings``: checked like a real service and answered with vectors
derived from the text sent, so search over them means something.

A text's vector is a hashed bag of its words: each lower-cased word adds +1 or -1 (by a second
hash) at one of ``dims`` places, then the row is scaled to length 1. Texts that share words are
close; texts that share none are nearly orthogonal. Deterministic across runs (blake2b, not
Python's salted ``hash``).

Per request: a Bearer key when the server has one, a ``model`` equal to the server's, ``input`` a
string or a list of at most ``max_inputs`` strings, ``dimensions`` (when sent) one of the sizes
the model takes. Faults (``FakeProvider.script``): status ones as for chat, and ``wrong_count``
(one row too few), ``wrong_dims`` (rows one number short), ``malformed`` (an HTML page).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.fake.dialects import Reject


@dataclass(frozen=True)
class EmbeddingDialect:
    model: str
    dims: int
    dims_choices: tuple[int, ...] = ()
    max_inputs: int = 64
    takes_dimensions: bool = True


EMBEDDING_DIALECTS = {
    "zai": EmbeddingDialect("embedding-3", 2048, (256, 512, 1024, 2048), 64),
    "siliconflow": EmbeddingDialect("BAAI/bge-m3", 1024, (), 32, takes_dimensions=False),
    "openrouter": EmbeddingDialect("openai/text-embedding-3-small", 1536, (), 64),
    "vllm": EmbeddingDialect("intfloat/e5-small", 384, (), 256, takes_dimensions=False),
}


def text_vector(text: str, dims: int) -> np.ndarray:
    """The hashed bag of words of ``text`` (see the module docstring)."""
    v = np.zeros(dims, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        h = hashlib.blake2b(word.encode(), digest_size=8).digest()
        v[int.from_bytes(h[:4], "little") % dims] += 1.0 if h[4] & 1 else -1.0
    n = np.linalg.norm(v)
    return v / n if n else v


def embeddings_answer(
    d: EmbeddingDialect,
    headers: Mapping[str, str],
    body: Any,
    *,
    model: str,
    api_key: str,
    faults: set[str],
) -> dict[str, Any]:
    """The reply to one ``embeddings`` request, or Reject."""
    if api_key and headers.get("Authorization") != f"Bearer {api_key}":
        raise Reject(401, None, "a wrong or missing Authorization header")
    if not isinstance(body, dict):
        raise Reject(400, None, "the body is not a JSON object")
    if body.get("model") != model:
        raise Reject(400, None, f"model {body.get('model')!r} does not exist; this one is {model}")
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise Reject(400, None, "input must be a string or a list of strings")
    if len(texts) > d.max_inputs:
        raise Reject(400, None, f"at most {d.max_inputs} inputs per request, got {len(texts)}")
    dims = d.dims
    if "dimensions" in body:
        if not d.takes_dimensions:
            raise Reject(400, None, "this model does not take dimensions")
        dims = body["dimensions"]
        if not isinstance(dims, int) or (d.dims_choices and dims not in d.dims_choices):
            raise Reject(400, None, f"dimensions must be one of {d.dims_choices}")
    rows = [text_vector(t, dims) for t in texts]
    if "wrong_count" in faults:
        rows = rows[:-1]
    if "wrong_dims" in faults:
        rows = [r[:-1] for r in rows]
    tokens = sum(len(t.split()) for t in texts)
    return {
        "object": "list",
        "model": model,
        # Rows in reverse order with their index, as servers may send them: readers must sort.
        "data": [
            {"object": "embedding", "index": i, "embedding": r.tolist()}
            for i, r in reversed(list(enumerate(rows)))
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

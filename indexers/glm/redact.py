"""Moved to :mod:`indexers.remote.redact` (shared by every remote client); re-exported here."""

from indexers.remote.redact import MASK, MIN_SECRET_CHARS, Redactor

__all__ = ["MASK", "MIN_SECRET_CHARS", "Redactor"]

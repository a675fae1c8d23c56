"""Moved to :mod:`indexers.remote.guard` (shared by every remote client); re-exported here."""

from indexers.remote.guard import WATCH_INTERVAL_S, Reason, RequestAborted, RequestGuard

__all__ = ["WATCH_INTERVAL_S", "Reason", "RequestAborted", "RequestGuard"]

"""The page's job queue is the serving process's one queue: see :mod:`videoidx.service.jobs`.

Kept so page code and tests keep importing ``ui.jobs``; the API (core) cannot import ``ui``.
"""

from videoidx.service.jobs import ACTIVE, Job, JobQueue, JobStatus

__all__ = ["ACTIVE", "Job", "JobQueue", "JobStatus"]

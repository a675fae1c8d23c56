"""The fake provider's public names, kept here because tests and benchmarks import them from
this module. The fake itself lives in :mod:`tests.fake` (dialects, model, server)."""

from tests.fake.dialects import DIALECTS, THINKING_KEYS, Dialect
from tests.fake.model import (
    CAUSE_EFFECT,
    DEFAULT_LOOK,
    PATTERN_LOOKS,
    STORY,
    Seen,
    analysis_from,
    look_answer,
    perceive,
    qa_answer,
)
from tests.fake.server import FakeProvider, FakeProviders, Recorded

__all__ = [
    "CAUSE_EFFECT",
    "DEFAULT_LOOK",
    "DIALECTS",
    "PATTERN_LOOKS",
    "STORY",
    "THINKING_KEYS",
    "Dialect",
    "FakeProvider",
    "FakeProviders",
    "Recorded",
    "Seen",
    "analysis_from",
    "look_answer",
    "perceive",
    "qa_answer",
]

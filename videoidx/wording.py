"""How counts read for people: ``1 clip``, ``2 clips``, ``0 videos``.

One helper so that no message prints "1 clips"; the CLI and the progress bar use it.
"""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "clip")`` -> ``"1 clip"``; ``count(3, "clip")`` -> ``"3 clips"``;
    ``count(2, "citation", "citations")`` for nouns whose plural is not ``noun + "s"``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def of_total(done: int, total: int, noun: str, plural: str | None = None) -> str:
    """``"1/1 clip"``, ``"2/5 clips"``: the noun agrees with the total."""
    return f"{done}/{count(total, noun, plural)}"

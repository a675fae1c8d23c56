"""One small name -> class registry, shared by indexers, transcribers, text readers and embedders.

Each kind of adapter keeps a :class:`Registry` of its own (``REGISTRY``, ``TRANSCRIBERS``, ...);
they all behave the same way:

* :meth:`Registry.register` checks the class is of the kind's base class (TypeError otherwise)
  and refuses reserved names (``auto``, ``off``, ...: setting values that are not engines);
* :meth:`Registry.get` returns the class or raises :class:`~videoidx.errors.ConfigError` listing
  the names known (and the reserved ones a user may also type);
* :meth:`Registry.load_plugins` adds the classes installed packages declare in the kind's
  entry-point group; a plugin that fails to load, or whose name is taken, is skipped with a
  warning (a broken plugin must not break videoidx, and cannot replace a built-in).

A registry is a :class:`dict` (``name in TRANSCRIBERS``, ``sorted(REGISTRY)``, ``REGISTRY[name]``
keep working), so code written against the plain dicts it replaced needs no change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from videoidx.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Registry(dict[str, type[T]], Generic[T]):
    """Names to adapter classes of one kind (see the module docstring)."""

    def __init__(
        self,
        kind: str,
        base: Any,
        *,
        plugin_group: str,
        reserved: Iterable[str] = (),
        normalise: Callable[[str], str] = str,
    ) -> None:
        super().__init__()
        self.kind = kind
        """What one entry is called in messages ("indexer", "transcriber", ...)."""
        self.base: type = base
        """The class every entry derives from (may be abstract, hence not ``type[T]``)."""
        self.plugin_group = plugin_group
        self.reserved = tuple(reserved)
        """Setting values that are not entries (``auto``, ``none``); listed in errors."""
        self._normalise = normalise

    def register(self, name: str, cls: type[T], *, caller: str = "register") -> None:
        """Make ``cls`` available under ``name``."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(
                f"{caller}({name!r}, ...) takes {_article(self.base.__name__)} subclass"
            )
        if name in self.reserved:
            raise ValueError(f"{name!r} is a reserved {self.kind} value")
        self[name] = cls

    def get_class(self, name: str, *, setting: str | None = None) -> type[T]:
        """The class registered as ``name``; ConfigError listing the known names otherwise."""
        try:
            return self[self._normalise(name)]
        except KeyError:
            known = ", ".join([*sorted(self), *self.reserved]) or "(none)"
            what = setting or self.kind
            raise ConfigError(f"unknown {what} {name!r}; choose one of: {known}") from None

    def load_plugins(self, label: str | None = None) -> None:
        """Register what installed packages declare in :attr:`plugin_group`."""
        label = label or f"{self.kind} plugin"
        for ep in entry_points(group=self.plugin_group):
            if ep.name in self:
                log.warning("%s %s (%s) skipped: the name is taken", label, ep.name, ep.value)
                continue
            try:
                self.register(ep.name, ep.load())
            except Exception as exc:  # a broken plugin must not break videoidx
                log.warning("%s %s (%s) skipped: %s", label, ep.name, ep.value, exc)


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"

"""What can be chosen: the registered indexers and their providers, for the page and the CLI.

The page must offer the same choices the settings accept without importing ``indexers`` itself
(``ui/`` sees only the public API), so this module is the one place that reads the registry. It
reads only what each indexer class declares (:mod:`indexers.base`): its display name, whether it
needs a key or the network, whether it costs money, what it can do, and the providers it offers.
No adapter is named here, so an indexer added with ``register()`` or a plugin is listed like
the built-in ones. Key status is reported as set or missing by variable name; the key itself
is never read into anything returned here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from videoidx.errors import ConfigError
from videoidx.settings import ProviderSettings, Settings


@dataclass(frozen=True, slots=True)
class IndexerChoice:
    """One registered indexer as a person choosing it needs to see it."""

    name: str
    display_name: str
    label: str
    """What a list of choices shows: the display name, then ``(provider below)`` for one that
    offers providers, or what it does not need, e.g. ``(no key, free)``."""
    needs_key: bool
    needs_network: bool
    priced: bool
    finds_characters: bool
    finds_links: bool
    can_complete_text: bool
    can_look: bool
    offers_providers: bool
    """True when it is configured by provider, model and base URL (see ``provider_choices``)."""


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """One provider of an indexer as a person choosing it needs to see it."""

    name: str
    model: str
    base_url: str
    key_env: str | None
    key_set: bool
    """True when the key variable is set (or the provider needs no key)."""
    price_input_usd_per_mtok: float | None
    price_output_usd_per_mtok: float | None
    indexer: str = ""
    """The indexer that offers it."""
    estimated_by_default: bool = False
    """Priced by a dry run that names no provider."""


def check_ready(settings: Settings) -> None:
    """Raise what the chosen indexer raises before any work (a missing API key, naming its
    variable), so a page or a notebook can refuse a job up front with the indexer's own words."""
    from indexers import create_indexer

    indexer = create_indexer(settings)
    try:
        indexer.check_ready()
    finally:
        indexer.close()


def indexer_choices() -> list[IndexerChoice]:
    """Every registered indexer: the default first, then by name."""
    from indexers import REGISTRY

    default = ProviderSettings().indexer
    out = []
    for name in sorted(REGISTRY, key=lambda n: (n != default, n)):
        cls = REGISTRY[name]
        display = cls.display_name or name
        offers = bool(cls.provider_options())
        needs_key = cls.needs_key or any(
            o.key_env is not None and o.key_required for o in cls.provider_options()
        )
        out.append(
            IndexerChoice(
                name=name,
                display_name=display,
                label=_label(display, offers=offers, needs_key=needs_key, priced=cls.priced),
                needs_key=needs_key,
                needs_network=cls.needs_network,
                priced=cls.priced,
                finds_characters=cls.finds_characters,
                finds_links=cls.finds_links,
                can_complete_text=cls.can_complete_text,
                can_look=cls.can_look,
                offers_providers=offers,
            )
        )
    return out


def _label(display: str, *, offers: bool, needs_key: bool, priced: bool) -> str:
    if offers:
        return f"{display} (provider below)"
    notes = [] if needs_key else ["no key"]
    notes += [] if priced else ["free"]
    return f"{display} ({', '.join(notes)})" if notes else display


def indexer_choice(name: str) -> IndexerChoice:
    """The registered indexer ``name``; ConfigError naming the known ones otherwise."""
    for choice in indexer_choices():
        if choice.name == name:
            return choice
    from indexers import indexer_class

    indexer_class(name)  # raises the registry's own "unknown indexer" error
    raise AssertionError(name)  # pragma: no cover - indexer_class raised


def default_estimates(settings: Settings) -> list[str]:
    """The providers a dry run prices when none is named: the configured one when its indexer
    offers providers, then every provider that is ``estimated_by_default``."""
    names = [p.name for p in provider_choices() if p.estimated_by_default]
    if indexer_choice(settings.provider.indexer).offers_providers:
        names.insert(0, settings.provider.provider)
    return list(dict.fromkeys(names))


def indexer_names() -> list[str]:
    """The registered indexers, the default first."""
    return [c.name for c in indexer_choices()]


def offline_indexer() -> str:
    """An indexer that needs no key, no network and no money (the default when it is one)."""
    for choice in indexer_choices():
        if not (choice.needs_key or choice.needs_network or choice.priced):
            return choice.name
    raise ConfigError("no offline indexer is registered; name one with --indexer")


def provider_choices(
    env: Mapping[str, str] | None = None, *, indexer: str | None = None
) -> list[ProviderChoice]:
    """The providers of every registered indexer (or of ``indexer`` only), with their default
    model and whether their key is configured."""
    from indexers import REGISTRY, indexer_class

    env = os.environ if env is None else env
    names = [indexer] if indexer is not None else list(REGISTRY)
    out: list[ProviderChoice] = []
    for name in names:
        for o in indexer_class(name).provider_options():
            needs_key = o.key_env is not None and o.key_required
            out.append(
                ProviderChoice(
                    name=o.name,
                    model=o.model,
                    base_url=o.base_url,
                    key_env=o.key_env,
                    key_set=not needs_key or bool(env.get(o.key_env or "", "").strip()),
                    price_input_usd_per_mtok=o.price_input_usd_per_mtok,
                    price_output_usd_per_mtok=o.price_output_usd_per_mtok,
                    indexer=name,
                    estimated_by_default=o.estimated_by_default,
                )
            )
    return out

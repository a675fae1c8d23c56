"""What can be chosen: indexer names and provider profiles, for the web page and the CLI help.

The page must offer the same choices the settings accept without importing ``indexers`` itself
(``ui/`` sees only the public API), so this module is the one place that reads the registry and
the provider profiles. Key status is reported as set or missing by variable name; the key itself
is never read into anything returned here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from videoidx.settings import Settings


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """One provider profile as a person choosing it needs to see it."""

    name: str
    model: str
    base_url: str
    key_env: str | None
    key_set: bool
    """True when the key variable is set (or the provider needs no key)."""
    price_input_usd_per_mtok: float | None
    price_output_usd_per_mtok: float | None


def check_ready(settings: Settings) -> None:
    """Raise what the chosen indexer raises before any work (a missing API key, naming its
    variable), so a page or a notebook can refuse a job up front with the indexer's own words."""
    from indexers import create_indexer

    indexer = create_indexer(settings)
    try:
        indexer.check_ready()
    finally:
        indexer.close()


def indexer_names() -> list[str]:
    """The registered indexers, the offline default first."""
    from indexers import REGISTRY

    names = sorted(REGISTRY)
    return sorted(names, key=lambda n: n != "local")


def provider_choices(env: Mapping[str, str] | None = None) -> list[ProviderChoice]:
    """Every provider profile with its default model and whether its key is configured."""
    from indexers.glm.profiles import PROFILES

    env = os.environ if env is None else env
    out: list[ProviderChoice] = []
    for name, p in PROFILES.items():
        needs_key = p.key_env is not None and p.key_required
        key_set = not needs_key or bool(env.get(p.key_env or "", "").strip())
        out.append(
            ProviderChoice(
                name=name,
                model=p.model,
                base_url=p.base_url,
                key_env=p.key_env,
                key_set=key_set,
                price_input_usd_per_mtok=p.price_input_usd_per_mtok,
                price_output_usd_per_mtok=p.price_output_usd_per_mtok,
            )
        )
    return out

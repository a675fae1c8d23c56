"""The key-destination rule (:mod:`indexers.remote.trust`) for the GLM provider profiles.

A key read from the environment goes only to the chosen profile's own ``https`` endpoint or to a
base URL the operator allowed (``allowed_base_urls``); see :mod:`indexers.remote.trust` for the
rule and why. This module applies it to :data:`~indexers.glm.profiles.PROFILES`.
"""

from __future__ import annotations

from indexers.glm.profiles import PROFILES, ProviderProfile
from indexers.remote import trust
from videoidx.settings import ProviderSettings


def _builtin_url(settings: ProviderSettings) -> str | None:
    builtin = PROFILES.get(settings.provider)
    return builtin.base_url if builtin else None


def key_destinations(settings: ProviderSettings) -> tuple[str, ...]:
    """The base URLs that may receive the chosen provider's key under these settings."""
    return trust.destinations(_builtin_url(settings), settings.allowed_base_urls)


def key_may_go_to(base_url: str, settings: ProviderSettings) -> bool:
    """Whether a request to ``base_url`` may carry the chosen provider's API key."""
    return trust.url_allowed(base_url, key_destinations(settings))


def check_key_destination(profile: ProviderProfile, settings: ProviderSettings, var: str) -> None:
    """Raise KeyDestinationError unless ``profile.base_url`` may receive the key held in ``var``."""
    trust.check_key_destination(
        name=profile.name,
        base_url=profile.base_url,
        var=var,
        builtin_base_url=_builtin_url(settings),
        allowed_base_urls=settings.allowed_base_urls,
    )

"""The one API-key lookup of the remote calls that take a service profile (speech, embeddings).

A key lives only in an environment variable (never in settings, the store or logs). It is read
when the first request is about to be made, checked against where it would go
(:func:`~indexers.remote.trust.check_key_destination`), and its absence is a
:class:`~videoidx.errors.MissingKeyError` that names the variable and the setting that names
another, so every adapter says the same thing the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from indexers.remote import trust
from videoidx.errors import MissingKeyError


@dataclass(frozen=True)
class KeyPlace:
    """Where one profile's key comes from and may go."""

    setting: str
    """The setting that chose the profile, as messages name it (``transcribe_provider``)."""
    profile: str
    base_url: str
    var: str | None
    """The environment variable; None for a server that takes no key."""
    required: bool
    builtin_base_url: str | None
    """The profile's own endpoint (None for one with no fixed endpoint)."""
    allowed_base_urls: str | None
    base_url_setting: str
    """How the operator names a base URL for this profile (``transcribe_base_url, ...``)."""
    key_env_setting: str
    """The setting that names another variable (``transcribe_api_key_env (VIDEOIDX_...)``)."""


def lookup_key(place: KeyPlace, env: Mapping[str, str] | None = None) -> str | None:
    """The key from ``place.var``; MissingKeyError when required and unset, KeyDestinationError
    when the base URL may not receive it, None when the server takes none."""
    if place.var is None:
        return None
    key = ((os.environ if env is None else env).get(place.var) or "").strip()
    if key:
        trust.check_key_destination(
            name=place.profile,
            base_url=place.base_url,
            var=place.var,
            builtin_base_url=place.builtin_base_url,
            allowed_base_urls=place.allowed_base_urls,
            base_url_setting=place.base_url_setting,
        )
        return key
    if place.required:
        raise MissingKeyError(
            f"{place.setting} {place.profile!r} needs an API key: set the environment variable "
            f"{place.var} (export {place.var}=...), or name another variable with "
            f"{place.key_env_setting}"
        )
    return None

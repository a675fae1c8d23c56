"""Where the server's API keys may go: the provider's own endpoint, or a URL the operator allowed.

Whoever can choose a base URL (a page visitor, a script calling the Python API, a future HTTP
API) must not be able to make the server POST its ``Authorization: Bearer <key>`` to an address
of theirs. So a key read from the environment is only ever attached to a request whose base URL is

* the built-in endpoint of the chosen provider, when that is a public ``https`` endpoint (Z.AI,
  OpenRouter, SiliconFlow). The loopback defaults of the self-hosted profiles are placeholders
  nobody configured, and any local process could listen there;
* or a base URL the operator allowed: the ``allowed_base_urls`` setting, which
  :func:`videoidx.settings.resolve_settings` extends with the ``base_url`` given at start-up (a
  CLI user's ``--base-url`` is the operator's). A base URL set afterwards with
  ``Settings.replace`` (the page's visitor choices) is checked against that list, never added.

Anything else is refused with :class:`~videoidx.errors.KeyDestinationError` before a byte is
sent, rather than sent without the key: silently dropping a key the operator set would turn into
confusing 401s, and refusing tells the visitor and the operator exactly what to change. Requests
that carry no key (vLLM, SGLang, an ``openai`` server without ``OPENAI_API_KEY``) may go to any
URL. URLs are compared as httpx will request them (scheme, host, port, user info and path, after
normalisation), so ``https://API.z.ai:443/api/paas/v4/`` is the Z.AI endpoint and
``https://api.z.ai@evil.example/...`` is not.
"""

from __future__ import annotations

import httpx

from indexers.glm.profiles import PROFILES, ProviderProfile
from videoidx.errors import KeyDestinationError
from videoidx.settings import ProviderSettings, base_url_list

_Target = tuple[str, str, int | None, bytes, bytes, str]


def _target(base_url: str) -> _Target | None:
    """What a request to ``base_url`` really reaches, as httpx parses it; None if unparseable."""
    try:
        url = httpx.URL(base_url.strip().rstrip("/") + "/chat/completions")
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    return (url.scheme, url.host, url.port, url.userinfo, url.raw_path, url.fragment)


def key_destinations(settings: ProviderSettings) -> tuple[str, ...]:
    """The base URLs that may receive the chosen provider's key under these settings."""
    builtin = PROFILES.get(settings.provider)
    own = (builtin.base_url,) if builtin and builtin.base_url.startswith("https://") else ()
    return own + base_url_list(settings.allowed_base_urls)


def key_may_go_to(base_url: str, settings: ProviderSettings) -> bool:
    """Whether a request to ``base_url`` may carry the chosen provider's API key."""
    target = _target(base_url)
    return target is not None and any(target == _target(u) for u in key_destinations(settings))


def check_key_destination(profile: ProviderProfile, settings: ProviderSettings, var: str) -> None:
    """Raise KeyDestinationError unless ``profile.base_url`` may receive the key held in ``var``."""
    if key_may_go_to(profile.base_url, settings):
        return
    builtin = PROFILES.get(settings.provider)
    own = (
        f"Its own endpoint is {builtin.base_url}: leave the base URL empty to use it, or "
        if builtin and builtin.base_url.startswith("https://")
        else ""
    )
    ask = "ask" if own else "Ask"
    raise KeyDestinationError(
        f"provider {profile.name!r} would send its API key ({var}) to {profile.base_url}, a base "
        f"URL the server's operator has not allowed, so nothing was sent. {own}{ask} the "
        "operator to allow it: add it to the allowed_base_urls setting "
        "(VIDEOIDX_ALLOWED_BASE_URLS, comma-separated, or the config file), or start videoidx "
        "with it as the base URL (--base-url, VIDEOIDX_BASE_URL)."
    )

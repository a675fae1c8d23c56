"""Where the server's API keys may go: the provider's own endpoint, or a URL the operator allowed.

Whoever can choose a base URL (a page visitor, a script calling the Python API, a future HTTP
API) must not be able to make the server POST its ``Authorization: Bearer <key>`` to an address
of theirs. So a key read from the environment is only ever attached to a request whose base URL is

* the built-in endpoint of the chosen provider profile, when that is a public ``https`` endpoint
  (Z.AI, OpenRouter, SiliconFlow). The loopback defaults of the self-hosted profiles are
  placeholders nobody configured, and any local process could listen there;
* or a base URL the operator allowed: the ``allowed_base_urls`` setting, which
  :func:`videoidx.settings.resolve_settings` extends with the base URLs given at start-up
  (``base_url``, ``transcribe_base_url``: a CLI user's flag is the operator's). A base URL set
  afterwards with ``Settings.replace`` (the page's visitor choices) is checked against that list,
  never added.

Anything else is refused with :class:`~videoidx.errors.KeyDestinationError` before a byte is
sent, rather than sent without the key: silently dropping a key the operator set would turn into
confusing 401s, and refusing tells the visitor and the operator exactly what to change. Requests
that carry no key (vLLM, SGLang, an ``openai`` server without ``OPENAI_API_KEY``) may go to any
URL. URLs are compared as httpx will request them (scheme, host, port, user info and path, after
normalisation), so ``https://API.z.ai:443/api/paas/v4/`` is the Z.AI endpoint and
``https://api.z.ai@evil.example/...`` is not.

The rule is the same for every kind of remote call (chat completions, transcriptions, embeddings):
any profile with a built-in base URL and a key variable uses :func:`check_key_destination`.
"""

from __future__ import annotations

import httpx

from videoidx.errors import KeyDestinationError
from videoidx.settings import base_url_list

_Target = tuple[str, str, int | None, bytes, bytes, str]


def _target(base_url: str) -> _Target | None:
    """What a request under ``base_url`` really reaches, as httpx parses it; None if unparseable."""
    try:
        # Any path below the base URL compares the same way; this one stands for all of them.
        url = httpx.URL(base_url.strip().rstrip("/") + "/chat/completions")
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    return (url.scheme, url.host, url.port, url.userinfo, url.raw_path, url.fragment)


def own_endpoint(builtin_base_url: str | None) -> tuple[str, ...]:
    """The profile's built-in base URL when it is a public ``https`` endpoint, else nothing."""
    if builtin_base_url and builtin_base_url.startswith("https://"):
        return (builtin_base_url,)
    return ()


def destinations(builtin_base_url: str | None, allowed_base_urls: str | None) -> tuple[str, ...]:
    """The base URLs that may receive the key of a profile whose built-in URL is given."""
    return own_endpoint(builtin_base_url) + base_url_list(allowed_base_urls)


def url_allowed(base_url: str, allowed: tuple[str, ...]) -> bool:
    """Whether a request to ``base_url`` reaches one of the ``allowed`` base URLs."""
    target = _target(base_url)
    return target is not None and any(target == _target(u) for u in allowed)


def check_key_destination(
    *,
    name: str,
    base_url: str,
    var: str,
    builtin_base_url: str | None,
    allowed_base_urls: str | None,
    base_url_setting: str = "--base-url, VIDEOIDX_BASE_URL",
) -> None:
    """Raise KeyDestinationError unless ``base_url`` may receive the key held in ``var``.

    ``name`` is the provider profile, ``builtin_base_url`` its own endpoint (None for a profile
    that has none), ``base_url_setting`` how the operator names a base URL at start-up.
    """
    if url_allowed(base_url, destinations(builtin_base_url, allowed_base_urls)):
        return
    own = (
        f"Its own endpoint is {builtin_base_url}: leave the base URL empty to use it, or "
        if own_endpoint(builtin_base_url)
        else ""
    )
    ask = "ask" if own else "Ask"
    raise KeyDestinationError(
        f"provider {name!r} would send its API key ({var}) to {base_url}, a base "
        f"URL the server's operator has not allowed, so nothing was sent. {own}{ask} the "
        "operator to allow it: add it to the allowed_base_urls setting "
        "(VIDEOIDX_ALLOWED_BASE_URLS, comma-separated, or the config file), or start videoidx "
        f"with it as the base URL ({base_url_setting})."
    )

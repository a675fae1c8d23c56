"""One service profile's key and connection: what the remote transcriber and embedder share.

Both call an OpenAI-compatible service chosen by a profile (a name, a base URL, the variable
that holds its key, a model). Both read the key the same way (:func:`~indexers.remote.keys.
lookup_key`: only from the environment, only to a destination the operator allows) and open one
:class:`~indexers.remote.http.RemoteHttp` on first use, shared by their threads. A
:class:`ServiceLink` is that part, once; the adapter keeps what is its own (request bodies,
replies, prices). The settings a person changes are named by :class:`ServiceNames`, so each
adapter's messages point at its own settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from indexers.remote.errors import Endpoint
from indexers.remote.http import RemoteHttp
from indexers.remote.keys import KeyPlace, lookup_key
from videoidx.settings import ProviderSettings


class ServiceProfile(Protocol):
    """What a link needs of a profile (the speech and embedding profiles both have it)."""

    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def key_env(self) -> str | None: ...
    @property
    def key_required(self) -> bool: ...
    @property
    def model(self) -> str: ...


@dataclass(frozen=True)
class ServiceNames:
    """How messages name one kind of service's settings."""

    profile: str
    """The setting that chooses the profile (``embedder``)."""
    model: str
    """The setting that names the model (``embed_model``)."""
    base_url: str
    """The setting that names the base URL (``embed_base_url``)."""
    base_url_env: str
    """Its environment variable (``VIDEOIDX_EMBED_BASE_URL``)."""
    key_env: str
    """The setting that names another key variable, with its own variable in brackets."""


class ServiceLink:
    """The key and the lazily opened connection of one profile; safe to share between threads."""

    def __init__(
        self,
        profile: ServiceProfile,
        names: ServiceNames,
        provider: ProviderSettings,
        *,
        builtin_base_url: str | None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.names = names
        self._provider = provider
        self._place = KeyPlace(
            setting=names.profile,
            profile=profile.name,
            base_url=profile.base_url,
            var=profile.key_env,
            required=profile.key_required,
            builtin_base_url=builtin_base_url,
            allowed_base_urls=provider.allowed_base_urls,
            base_url_setting=f"{names.base_url}, {names.base_url_env}",
            key_env_setting=names.key_env,
        )
        self._transport = transport
        self._sleep = sleep
        self._env = env
        self._http: RemoteHttp | None = None
        self._lock = threading.Lock()

    def api_key(self) -> str | None:
        """The key from the profile's variable; MissingKeyError when required and unset, and
        KeyDestinationError when the base URL may not receive it."""
        return lookup_key(self._place, self._env)

    def worker_env(self) -> dict[str, str]:
        """The key under its variable's name, for a copy of the adapter in another process."""
        key, var = self.api_key(), self.profile.key_env
        return {var: key} if key and var else {}

    def http(self) -> RemoteHttp:
        """The connection, opened (and the key checked) on first use."""
        with self._lock:
            if self._http is None:
                p = self._provider
                extra: dict[str, Any] = {} if self._sleep is None else {"sleep": self._sleep}
                self._http = RemoteHttp(
                    Endpoint(
                        self.profile.name,
                        self.profile.key_env,
                        self.profile.model,
                        check_hint=(
                            f"{self.names.profile}, {self.names.model} "
                            f"({self.profile.model!r}) and {self.names.base_url}"
                        ),
                        base_url_hint=self.names.base_url,
                    ),
                    api_key=self.api_key(),
                    timeout_s=p.timeout_s,
                    deadline_s=p.request_deadline_s,
                    max_retries=p.max_retries,
                    transport=self._transport,
                    **extra,
                )
            return self._http

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

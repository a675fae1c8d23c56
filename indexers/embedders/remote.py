"""``RemoteEmbedder``: an OpenAI-compatible ``embeddings`` endpoint, chosen by profile.

The ``embedder`` setting names the profile (:mod:`indexers.embedders.profiles`). Every request
goes through :class:`~indexers.remote.http.RemoteHttp`, so it gets the other calls' retries
(429, 5xx), deadline, cancel, redaction and error mapping; the key comes from
:func:`~indexers.remote.keys.lookup_key` and goes only where the operator allows.

A reply is read by :func:`reply_vectors` (pure): rows put back in the order of ``index``, and a
reply with the wrong number of rows, rows of mixed sizes or no rows at all is a
:class:`~videoidx.errors.BadReplyError` (not retried; the base class also refuses rows of
another size than the model's, naming ``embed_dimensions``). Cost: the reply's
``usage.cost`` when it sends one, else its ``prompt_tokens`` (or an estimate of four characters
a token) times the profile's price; :meth:`RemoteEmbedder.estimate_usage` prices texts for the
dry run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
import numpy as np

from indexers.embedders.base import CHARS_PER_TOKEN, Embedder
from indexers.embedders.profiles import PROFILES, EmbeddingProfile, resolve_embedding_profile
from indexers.remote.http import RemoteHttp
from indexers.remote.link import ServiceLink, ServiceNames
from videoidx.errors import BadReplyError
from videoidx.settings import Settings
from videoidx.types import Usage

NAMES = ServiceNames(
    profile="embedder",
    model="embed_model",
    base_url="embed_base_url",
    base_url_env="VIDEOIDX_EMBED_BASE_URL",
    key_env="embed_api_key_env (VIDEOIDX_EMBED_API_KEY_ENV)",
)


def reply_vectors(data: Any, count: int, name: str) -> tuple[np.ndarray, int | None]:
    """The ``(count, d)`` vectors of an embeddings reply, in input order, and its prompt
    tokens (None when it gives none); BadReplyError for any other shape."""
    rows = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(rows, list) or not rows:
        raise BadReplyError(f"{name}: the embeddings answer has no data rows")
    ordered: dict[int, list[float]] = {}
    for at, row in enumerate(rows):
        vector = row.get("embedding") if isinstance(row, Mapping) else None
        index = row.get("index", at) if isinstance(row, Mapping) else at
        if not isinstance(vector, list) or not isinstance(index, int):
            raise BadReplyError(f"{name}: embeddings row {at} has no list of numbers")
        ordered[index] = vector
    if sorted(ordered) != list(range(count)):
        raise BadReplyError(
            f"{name}: the embeddings answer has {len(ordered)} rows for {count} texts"
        )
    sizes = {len(v) for v in ordered.values()}
    if len(sizes) != 1:
        raise BadReplyError(f"{name}: the embeddings answer mixes vector sizes {sorted(sizes)}")
    try:
        vectors = np.asarray([ordered[i] for i in range(count)], dtype=np.float32)
    except (TypeError, ValueError):
        raise BadReplyError(f"{name}: the embeddings answer holds non-numbers") from None
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, Mapping) else None
    return vectors, tokens if isinstance(tokens, int) and tokens >= 0 else None


class RemoteEmbedder(Embedder):
    """Embed with the ``embeddings`` endpoint of the profile the ``embedder`` setting names."""

    name: ClassVar[str] = "remote"
    display_name: ClassVar[str] = "Embeddings service"
    needs_network: ClassVar[bool] = True

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings)
        self.profile: EmbeddingProfile = resolve_embedding_profile(settings.embedding)
        p = self.profile
        self.needs_key = p.key_env is not None and p.key_required
        self.priced = p.price_usd_per_mtok > 0
        self.max_inputs_per_request = p.max_inputs
        self._dims = p.dims
        builtin = PROFILES.get(p.name)
        self._link = ServiceLink(
            p,
            NAMES,
            settings.provider,
            builtin_base_url=builtin.base_url if builtin else None,
            transport=transport,
            sleep=sleep,
            env=env,
        )

    def __repr__(self) -> str:
        return f"RemoteEmbedder(provider={self.profile.name!r}, model={self.profile.model!r})"

    @property
    def model_id(self) -> str:
        return self.profile.model

    @property
    def model_key(self) -> str:
        return f"{self.profile.name}:{self.model_id}:{self.dims}"

    @property
    def dims(self) -> int:
        if self._dims is None:
            # A self-hosted model's size is whatever it answers: ask once, with one word.
            got, _ = self._embed_request(["size"])
            self._dims = int(got.shape[1])
        return self._dims

    # -- key and connection ------------------------------------------------------------------

    def api_key(self) -> str | None:
        return self._link.api_key()

    def check_ready(self) -> None:
        """MissingKeyError or KeyDestinationError now rather than at the first batch."""
        self.api_key()

    def _remote(self) -> RemoteHttp:
        return self._link.http()

    def close(self) -> None:
        self._link.close()

    # -- estimates and work ------------------------------------------------------------------

    def estimate_usage_of(self, texts: int, tokens: int) -> Usage:
        per = max(self._per_request(), 1)
        return Usage(
            prompt_tokens=tokens,
            requests=-(-texts // per),
            cost_usd=tokens / 1e6 * self.profile.price_usd_per_mtok,
        )

    def _body(self, texts: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.profile.model, "input": list(texts)}
        if self.profile.sends_dimensions and self.profile.dims is not None:
            body["dimensions"] = self.profile.dims
        body["encoding_format"] = "float"
        return body

    def _embed_request(self, texts: Sequence[str]) -> tuple[np.ndarray, Usage]:
        remote = self._remote()
        url = self.profile.base_url.rstrip("/") + "/embeddings"
        what = f"embeddings of {len(texts)} texts"
        body = self._body(texts)

        def build() -> httpx.Request:
            return remote.request("POST", url, json=body, headers={"Accept": "application/json"})

        def parse(text: str) -> tuple[np.ndarray, int | None, Any]:
            try:
                data = json.loads(text)
            except ValueError:
                raise BadReplyError(
                    f"{self.profile.name}: the answer for {what} is not JSON "
                    f"(starts {text[:80]!r})",
                    status=200,
                ) from None
            if isinstance(data, Mapping) and "error" in data and "data" not in data:
                raise remote.http_error(200, text, {}, what)
            vectors, tokens = reply_vectors(data, len(texts), self.profile.name)
            return vectors, tokens, data

        (vectors, tokens, data), _attempts = remote.send(build, what=what, parse=parse)
        return vectors, self._usage(data, texts, tokens)

    def _usage(self, data: Any, texts: Sequence[str], tokens: int | None) -> Usage:
        if tokens is None:
            tokens = sum(math.ceil(len(t) / CHARS_PER_TOKEN) for t in texts)
        block = data.get("usage") if isinstance(data, Mapping) else None
        cost = block.get("cost") if isinstance(block, Mapping) else None
        if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
            cost_usd = float(cost)
        else:
            cost_usd = tokens / 1e6 * self.profile.price_usd_per_mtok
        return Usage(prompt_tokens=tokens, cost_usd=cost_usd, requests=1)

"""Embedding services as data: one :class:`EmbeddingProfile` per way of reaching one.

Every OpenAI-compatible ``embeddings`` endpoint takes ``{model, input: [texts], dimensions?}``
and answers ``{data: [{index, embedding}], usage: {prompt_tokens}}``; what differs is a field
here (endpoint, default model and size, whether ``dimensions`` is sent, inputs per request,
key variable, price), so the remote embedder branches on fields, never on names. Facts:
``shared/reference/speech-and-search.md``. The ``embed_*`` settings override the endpoint,
model, size, key variable and price. Prices are USD per million input tokens; a figure the
service's own page does not give in USD says so (UNCONFIRMED).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from videoidx.errors import ConfigError
from videoidx.settings import EmbeddingSettings


@dataclass(frozen=True)
class EmbeddingProfile:
    """How to call one embeddings service."""

    name: str
    base_url: str
    """Up to and including the version path; ``/embeddings`` is appended."""
    model: str
    key_env: str | None
    key_required: bool = True
    dims: int | None = None
    """The default vector size; None: learned from the first answer (a self-hosted model)."""
    dims_choices: tuple[int, ...] = ()
    """Sizes the model takes as ``dimensions`` (empty: any, where ``sends_dimensions``)."""
    sends_dimensions: bool = True
    """Whether ``dimensions`` is sent when a size is set (models with a fixed size refuse it)."""
    max_inputs: int = 64
    price_usd_per_mtok: float = 0.0

    def with_overrides(self, e: EmbeddingSettings) -> EmbeddingProfile:
        changes: dict[str, Any] = {}
        if e.embed_base_url:
            changes["base_url"] = e.embed_base_url.rstrip("/")
        if e.embed_model and e.embed_model != self.model:
            # Another model: its size is its own, unless embed_dimensions says it.
            changes |= {"model": e.embed_model, "dims": None, "dims_choices": ()}
        if e.embed_dimensions is not None:
            changes["dims"] = e.embed_dimensions
        if e.embed_api_key_env:
            changes |= {"key_env": e.embed_api_key_env, "key_required": True}
        if e.embed_price_usd_per_mtok is not None:
            changes["price_usd_per_mtok"] = e.embed_price_usd_per_mtok
        return dataclasses.replace(self, **changes)


_ZAI = EmbeddingProfile(
    name="zai",
    base_url="https://api.z.ai/api/paas/v4",
    model="embedding-3",  # UNCONFIRMED on the international endpoint
    key_env="ZAI_API_KEY",
    dims=2048,
    dims_choices=(256, 512, 1024, 2048),
    max_inputs=64,
    price_usd_per_mtok=0.07,  # 0.5 CNY per million tokens on the mainland page (UNCONFIRMED)
)

PROFILES: dict[str, EmbeddingProfile] = {
    "zai": _ZAI,
    "zai_cn": dataclasses.replace(
        _ZAI, name="zai_cn", base_url="https://open.bigmodel.cn/api/paas/v4"
    ),
    "siliconflow": EmbeddingProfile(
        name="siliconflow",
        base_url="https://api.siliconflow.cn/v1",
        model="BAAI/bge-m3",  # or Qwen/Qwen3-Embedding-0.6B, which takes dimensions
        key_env="SILICONFLOW_API_KEY",
        dims=1024,
        sends_dimensions=False,
        max_inputs=32,
        price_usd_per_mtok=0.0,  # listed as free (UNCONFIRMED for every account)
    ),
    "openrouter": EmbeddingProfile(
        name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        model="openai/text-embedding-3-small",
        key_env="OPENROUTER_API_KEY",
        dims=1536,
        max_inputs=64,
        price_usd_per_mtok=0.02,
    ),
    "openai": EmbeddingProfile(
        name="openai",
        base_url="https://api.openai.com/v1",
        model="text-embedding-3-small",
        key_env="OPENAI_API_KEY",
        dims=1536,
        max_inputs=256,
        price_usd_per_mtok=0.02,
    ),
    "vllm": EmbeddingProfile(
        name="vllm",
        base_url="http://localhost:8000/v1",
        model="",
        key_env="VLLM_API_KEY",
        key_required=False,
        max_inputs=256,
    ),
    "sglang": EmbeddingProfile(
        name="sglang",
        base_url="http://localhost:30000/v1",
        model="",
        key_env="SGLANG_API_KEY",
        key_required=False,
        max_inputs=256,
    ),
}


def resolve_embedding_profile(e: EmbeddingSettings) -> EmbeddingProfile:
    """The profile the ``embedder`` setting names, with the ``embed_*`` overrides applied."""
    name = e.embedder.strip().lower()
    try:
        base = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"unknown embedding profile {name!r}; choose one of: {known}") from None
    profile = base.with_overrides(e)
    if not profile.model:
        raise ConfigError(
            f"embedder {profile.name!r} has no default model; set embed_model "
            "(VIDEOIDX_EMBED_MODEL) to the id your server serves"
        )
    if profile.dims_choices and profile.dims not in profile.dims_choices:
        sizes = ", ".join(map(str, profile.dims_choices))
        raise ConfigError(f"{profile.model} takes embed_dimensions of {sizes}; got {profile.dims}")
    if not profile.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"embed_base_url {profile.base_url!r} must start with http:// or https://"
        )
    return profile

"""Provider dialects of GLM-4.5V as data: one :class:`ProviderProfile` per way of reaching it.

Every difference between Z.AI, OpenRouter, SiliconFlow and the self-hosted servers that the
adapter cares about lives in this table (endpoint, model id, key variable, how thinking is
switched, where reasoning comes back, image encoding and limit, video support, prices), so the
request builder, the client and the usage parser branch on fields instead of provider names.
Facts and their sources: ``shared/reference/glm-4.5v.md``. Behaviour the sources leave
UNCONFIRMED is a field here (``reasoning_in_completion``, ``sends_request_id``, ``extra_body``),
so a user can correct it without touching code: add or replace an entry of :data:`PROFILES`, or
override endpoint, model, key variable and prices through the provider settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from videoidx.errors import ConfigError
from videoidx.settings import ProviderSettings

ThinkingStyle = Literal["zai", "openrouter", "siliconflow", "chat_template_kwargs", "none"]
"""How thinking is switched: ``thinking: {type}``, ``reasoning: {enabled}``, ``enable_thinking``
(+ ``thinking_budget``), ``chat_template_kwargs: {enable_thinking}``, or not at all."""

ImageUrlStyle = Literal["data_url", "raw_base64"]


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ProviderProfile:
    """How to call GLM-4.5V (or another OpenAI-compatible vision model) at one provider."""

    name: str
    base_url: str
    """Up to and including the version path; ``/chat/completions`` is appended."""
    model: str
    key_env: str | None
    """Environment variable holding the API key; None for local servers without auth."""
    key_required: bool = True
    """False: send the key when the variable is set, go without auth otherwise."""
    thinking_style: ThinkingStyle = "none"
    thinking_budget: int | None = None
    """Default reasoning budget for providers that take one (SiliconFlow: 128-32768)."""
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    """Message/delta fields that carry the reasoning, read in this order."""
    image_url_style: ImageUrlStyle = "data_url"
    supports_video_url: bool = False
    """Whether a local clip file can be sent as ``video_url`` (as a base64 data URL)."""
    max_images: int | None = None
    max_output_tokens: int | None = None
    """The provider's cap on ``max_tokens``; requests ask for at most this."""
    price_input_usd_per_mtok: float = 0.0
    price_output_usd_per_mtok: float = 0.0
    price_cached_usd_per_mtok: float = 0.0
    reasoning_in_completion: bool = True
    """Whether ``completion_tokens`` already includes reasoning tokens (the OpenAI convention).
    UNCONFIRMED for SiliconFlow, whose ``max_tokens`` excludes the chain of thought."""
    stream_usage_option: bool = False
    """Whether a streamed request asks for usage with ``stream_options: {include_usage}`` (vLLM
    sends no usage without it; Z.AI's spec has no such field, so it is not sent there)."""
    sends_request_id: bool = False
    """Whether the body carries our ``request_id`` (Z.AI echoes it; vLLM accepts it)."""
    extra_body: Mapping[str, Any] = field(default_factory=_frozen)
    """Fields merged into every request body, e.g. vLLM's ``skip_special_tokens: false``."""

    def with_overrides(self, settings: ProviderSettings) -> ProviderProfile:
        """This profile with the endpoint, model, key variable and prices from ``settings``."""
        changes: dict[str, Any] = {}
        if settings.base_url:
            changes["base_url"] = settings.base_url.rstrip("/")
        if settings.model:
            changes["model"] = settings.model
        if settings.api_key_env:
            # A key variable chosen by the user is one the user means to be used.
            changes["key_env"] = settings.api_key_env
            changes["key_required"] = True
        if settings.thinking_budget is not None:
            changes["thinking_budget"] = settings.thinking_budget
        for kind in ("input", "output", "cached"):
            value = getattr(settings, f"price_{kind}_usd_per_mtok")
            if value is not None:
                changes[f"price_{kind}_usd_per_mtok"] = value
        return dataclasses.replace(self, **changes)


_ZAI = ProviderProfile(
    name="zai",
    base_url="https://api.z.ai/api/paas/v4",
    model="glm-4.5v",
    key_env="ZAI_API_KEY",
    thinking_style="zai",
    reasoning_fields=("reasoning_content", "reasoning"),
    # The official SDK strips the data-URL prefix before sending: raw base64 is the canonical form.
    image_url_style="raw_base64",
    # Z.AI documents video_url as a URL only; base64 video is UNCONFIRMED, and we have local files.
    supports_video_url=False,
    max_images=50,
    max_output_tokens=16384,
    price_input_usd_per_mtok=0.6,
    price_output_usd_per_mtok=1.8,
    price_cached_usd_per_mtok=0.11,  # UNCONFIRMED on Z.AI's own page (Vercel/Novita listings)
    sends_request_id=True,
)

PROFILES: dict[str, ProviderProfile] = {
    "zai": _ZAI,
    # Mainland endpoint; keys are region-specific. Prices there are in CNY; these USD figures are
    # the international ones, override them with the price_* settings.
    "zai_cn": dataclasses.replace(
        _ZAI, name="zai_cn", base_url="https://open.bigmodel.cn/api/paas/v4"
    ),
    "openrouter": ProviderProfile(
        name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        model="z-ai/glm-4.5v",
        key_env="OPENROUTER_API_KEY",
        thinking_style="openrouter",
        reasoning_fields=("reasoning", "reasoning_content"),
        image_url_style="data_url",
        supports_video_url=False,  # listings say text+image only (UNCONFIRMED)
        stream_usage_option=True,  # deprecated no-op there, harmless
        max_images=50,  # the upstream is Z.AI's limit
        max_output_tokens=16384,
        # Prices vary by upstream and date; OpenRouter's own usage.cost wins when present.
        price_input_usd_per_mtok=0.6,
        price_output_usd_per_mtok=1.8,
        price_cached_usd_per_mtok=0.11,
    ),
    "siliconflow": ProviderProfile(
        name="siliconflow",
        base_url="https://api.siliconflow.com/v1",
        model="zai-org/GLM-4.5V",
        key_env="SILICONFLOW_API_KEY",
        thinking_style="siliconflow",
        thinking_budget=4096,
        reasoning_fields=("reasoning_content", "reasoning"),
        image_url_style="data_url",
        supports_video_url=False,  # "GLM 系列 … 视频 ❌"
        max_images=50,  # not documented for SiliconFlow; kept at the model's hosted limit
        max_output_tokens=16384,
        price_input_usd_per_mtok=0.14,
        price_output_usd_per_mtok=0.86,
        price_cached_usd_per_mtok=0.14,  # no cache price published: assume none
    ),
    "vllm": ProviderProfile(
        name="vllm",
        base_url="http://127.0.0.1:8000/v1",
        model="glm-4.5v",
        key_env=None,
        thinking_style="chat_template_kwargs",
        # vLLM renamed reasoning_content to reasoning in late 2025 and later dropped the old name.
        reasoning_fields=("reasoning", "reasoning_content"),
        image_url_style="data_url",
        supports_video_url=True,
        stream_usage_option=True,
        sends_request_id=True,
        # Keep <|begin_of_box|> markers; whether vLLM strips them by default is UNCONFIRMED.
        extra_body=_frozen({"skip_special_tokens": False}),
    ),
    "sglang": ProviderProfile(
        name="sglang",
        base_url="http://127.0.0.1:30000/v1",
        model="glm-4.5v",
        key_env=None,
        thinking_style="chat_template_kwargs",
        reasoning_fields=("reasoning_content", "reasoning"),
        image_url_style="data_url",
        supports_video_url=True,
        stream_usage_option=True,
        extra_body=_frozen({"skip_special_tokens": False}),
    ),
    # Any OpenAI-compatible server (a self-hosted Qwen-VL, a gateway): give --base-url and --model.
    "openai": ProviderProfile(
        name="openai",
        base_url="http://127.0.0.1:8000/v1",
        model="",
        key_env="OPENAI_API_KEY",
        key_required=False,
        thinking_style="none",
        reasoning_fields=("reasoning_content", "reasoning"),
        image_url_style="data_url",
        supports_video_url=False,
        stream_usage_option=True,
    ),
}


def resolve_profile(settings: ProviderSettings) -> ProviderProfile:
    """The profile named by ``settings.provider``, with the settings' overrides applied."""
    try:
        base = PROFILES[settings.provider]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(
            f"unknown provider {settings.provider!r}; choose one of: {known}"
        ) from None
    profile = base.with_overrides(settings)
    if not profile.model:
        raise ConfigError(
            f"provider {profile.name!r} has no default model; set one with --model "
            "(or VIDEOIDX_MODEL), e.g. the id your server reports at /v1/models"
        )
    if not profile.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"base URL {profile.base_url!r} for provider {profile.name!r} must start with "
            "http:// or https://"
        )
    return profile

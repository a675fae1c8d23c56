"""Read each dialect's ``usage`` block into a :class:`~videoidx.types.Usage` with its cost.

Shapes seen (``shared/reference/glm-4.5v.md``):

* Z.AI: ``prompt_tokens``, ``completion_tokens``, ``prompt_tokens_details.cached_tokens``.
* OpenRouter: the OpenAI fields plus ``completion_tokens_details.reasoning_tokens`` and its own
  ``cost`` in USD, which is used instead of our price table when present.
* SiliconFlow: the OpenAI fields plus ``prompt_cache_hit_tokens`` / ``prompt_cache_miss_tokens``.
* vLLM / SGLang: the OpenAI fields, sometimes with ``reasoning_tokens``.

Cached prompt tokens are billed at the cached price, the rest at the input price; reasoning
tokens are billed as output (inside ``completion_tokens`` unless the profile says otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexers.glm.profiles import ProviderProfile
from videoidx.types import Usage


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(int(value), 0)
    if isinstance(value, str):
        try:
            return max(int(float(value)), 0)
        except ValueError:
            return 0
    return 0


def _details(block: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = block.get(name)
    return value if isinstance(value, Mapping) else {}


def price_usd(
    profile: ProviderProfile,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> float:
    """Cost of a request from the profile's prices (USD per million tokens)."""
    cached = min(cached_tokens, prompt_tokens)
    billed_output = completion_tokens
    if not profile.reasoning_in_completion:
        billed_output += reasoning_tokens
    return (
        (prompt_tokens - cached) * profile.price_input_usd_per_mtok
        + cached * profile.price_cached_usd_per_mtok
        + billed_output * profile.price_output_usd_per_mtok
    ) / 1_000_000


def parse_usage(block: Any, profile: ProviderProfile) -> Usage:
    """The usage of one request; a missing or odd block gives zero tokens, never an error."""
    if not isinstance(block, Mapping):
        return Usage(requests=1)
    prompt = _int(block.get("prompt_tokens") or block.get("input_tokens"))
    completion = _int(block.get("completion_tokens") or block.get("output_tokens"))
    completion_details = _details(block, "completion_tokens_details")
    reasoning = _int(completion_details.get("reasoning_tokens") or block.get("reasoning_tokens"))
    prompt_details = _details(block, "prompt_tokens_details")
    cached = _int(
        prompt_details.get("cached_tokens")
        or block.get("prompt_cache_hit_tokens")
        or block.get("cached_tokens")
    )
    cost = block.get("cost")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
        cost_usd = float(cost)
    else:
        cost_usd = price_usd(
            profile,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            reasoning_tokens=reasoning,
        )
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
        cached_tokens=cached,
        cost_usd=cost_usd,
        requests=1,
    )

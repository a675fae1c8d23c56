"""How each provider speaks: what it accepts and the shape of what it sends back.

Written down here independently of the adapter's profile table (facts from
``shared/reference/glm-4.5v.md``), so a test catches an adapter that drifts from the provider:

* :func:`check_request` checks a request as the provider would: ``Authorization: Bearer <key>``
  for keyed providers, the model id, the image limit, the SHAPE of the thinking switch (Z.AI
  answers 400 with code 1210 to ``enable_thinking``), the accepted image encodings (raw base64 or
  data URL), ``video_url`` only where the server takes video;
* :func:`thinking_on` reads the thinking switch the dialect's way;
* :func:`usage_shape`, :func:`message_shape` and :func:`error_payload` build the dialect's
  usage object, assistant message (reasoning in the dialect's field) and error body.

Nothing here decides WHAT is answered (that is :mod:`tests.fake.model`) or how it is sent
(:mod:`tests.fake.server`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

THINKING_KEYS = (
    "thinking",
    "reasoning",
    "enable_thinking",
    "thinking_budget",
    "chat_template_kwargs",
)


@dataclass(frozen=True)
class Dialect:
    """What one provider expects and how it answers."""

    name: str
    model: str
    key: bool
    """Whether the provider requires ``Authorization: Bearer``."""
    thinking: str
    """Which thinking switch it takes: zai | openrouter | siliconflow | chat_template_kwargs |
    none."""
    thinking_default: bool
    reasoning_field: str
    encodings: frozenset[str]
    """Accepted ``image_url.url`` forms: ``raw`` (bare base64) and/or ``data`` (data URL)."""
    max_images: int | None
    video: bool
    usage_style: str
    """zai | openrouter | siliconflow | openai"""
    stream_usage_needs_option: bool = False
    """vLLM/SGLang only send usage in a stream when ``stream_options.include_usage`` is set."""


DIALECTS: dict[str, Dialect] = {
    "zai": Dialect(
        "zai", "glm-4.5v", True, "zai", True, "reasoning_content",
        frozenset({"raw", "data"}), 50, False, "zai",
    ),
    "zai_cn": Dialect(
        "zai_cn", "glm-4.5v", True, "zai", True, "reasoning_content",
        frozenset({"raw", "data"}), 50, False, "zai",
    ),
    "openrouter": Dialect(
        "openrouter", "z-ai/glm-4.5v", True, "openrouter", True, "reasoning",
        frozenset({"data"}), 50, False, "openrouter",
    ),
    "siliconflow": Dialect(
        "siliconflow", "zai-org/GLM-4.5V", True, "siliconflow", True, "reasoning_content",
        frozenset({"raw", "data"}), None, False, "siliconflow",
    ),
    "vllm": Dialect(
        "vllm", "glm-4.5v", False, "chat_template_kwargs", True, "reasoning",
        frozenset({"data"}), None, True, "openai", stream_usage_needs_option=True,
    ),
    "sglang": Dialect(
        "sglang", "glm-4.5v", False, "chat_template_kwargs", True, "reasoning_content",
        frozenset({"data"}), None, True, "openai", stream_usage_needs_option=True,
    ),
    "openai": Dialect(
        "openai", "qwen2.5-vl-7b", False, "none", False, "reasoning_content",
        frozenset({"data"}), None, False, "openai",
    ),
}  # fmt: skip


class Headers(Protocol):
    """Request headers, looked up without regard to case (``http.server``'s message)."""

    def get(self, name: str, default: None = None) -> str | None: ...


class Reject(Exception):
    """An error answer: HTTP ``status``, the provider's ``code`` (Z.AI's 1210 etc.), a message."""

    def __init__(
        self, status: int, code: str | None, message: str, retry_after: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


def user_items(body: Any) -> list[dict[str, Any]]:
    """Every content part (text, image_url, video_url) of the request's list-content messages."""
    items: list[dict[str, Any]] = []
    for msg in body.get("messages", []) if isinstance(body, dict) else []:
        if isinstance(msg, dict) and isinstance(msg.get("content"), list):
            items += [i for i in msg["content"] if isinstance(i, dict)]
    return items


def check_request(
    d: Dialect,
    headers: Headers,
    body: Any,
    *,
    model: str,
    api_key: str,
    max_images: int | None,
) -> None:
    """Raise :class:`Reject` the way provider ``d`` refuses a request it does not take."""
    zai = d.usage_style == "zai"
    if d.key or (api_key and headers.get("Authorization")):
        auth = headers.get("Authorization")
        if not auth:
            raise Reject(401, "1001" if zai else None, "no Authorization header received")
        if auth != f"Bearer {api_key}":
            # Real providers echo the bad key back ("Incorrect API key provided: sk-…").
            token = auth.removeprefix("Bearer ")
            raise Reject(401, "1000" if zai else None, f"authentication failed: {token}")
    if not isinstance(body, dict):
        raise Reject(400, "1214" if zai else None, "body is not a JSON object")
    if body.get("model") != model:
        if zai:
            raise Reject(400, "1211", f"model {body.get('model')!r} does not exist")
        raise Reject(404, None, f"The model `{body.get('model')}` does not exist.")
    _check_thinking(d, body)
    images = [i for i in user_items(body) if i.get("type") == "image_url"]
    if max_images is not None and len(images) > max_images:
        raise Reject(400, "1210" if zai else None, f"at most {max_images} images")
    for item in images:
        url = item.get("image_url", {}).get("url", "")
        kind = "data" if url.startswith("data:image/") else "raw"
        if kind not in d.encodings:
            raise Reject(400, "1210" if zai else None, f"{kind} image encoding not accepted")
    if any(i.get("type") == "video_url" for i in user_items(body)) and not d.video:
        raise Reject(400, "1210" if zai else None, "video_url not supported for this model")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise Reject(400, "1214" if zai else None, "messages must be a non-empty list")


def _check_thinking(d: Dialect, body: dict[str, Any]) -> None:
    style = d.thinking
    allowed = {
        "zai": {"thinking"},
        "openrouter": {"reasoning"},
        "siliconflow": {"enable_thinking", "thinking_budget"},
        "chat_template_kwargs": {"chat_template_kwargs"},
        "none": set(),
    }[style]
    code = "1210" if d.usage_style == "zai" else None
    for key in THINKING_KEYS:
        if key in body and key not in allowed:
            raise Reject(400, code, f"parameter {key!r} is not supported here")
    if style == "zai" and "thinking" in body:
        t = body["thinking"]
        if not isinstance(t, dict) or t.get("type") not in ("enabled", "disabled"):
            raise Reject(400, code, "thinking.type must be enabled or disabled")
    if style == "openrouter" and "reasoning" in body:
        r = body["reasoning"]
        if not isinstance(r, dict) or not isinstance(r.get("enabled", True), bool):
            raise Reject(400, None, "reasoning must be an object with a boolean enabled")
    if style == "siliconflow":
        if "enable_thinking" in body and not isinstance(body["enable_thinking"], bool):
            raise Reject(400, None, "enable_thinking must be a boolean")
        budget = body.get("thinking_budget")
        if budget is not None and not (isinstance(budget, int) and 128 <= budget <= 32768):
            raise Reject(400, None, "thinking_budget must be an integer in 128..32768")
    if style == "chat_template_kwargs" and "chat_template_kwargs" in body:
        k = body["chat_template_kwargs"]
        if not isinstance(k, dict) or not isinstance(k.get("enable_thinking", True), bool):
            raise Reject(400, None, "chat_template_kwargs.enable_thinking must be a bool")


def thinking_on(d: Dialect, body: dict[str, Any]) -> bool:
    """Whether the request asked for thinking, read the dialect's way."""
    style = d.thinking
    if style == "zai":
        return body.get("thinking", {}).get("type", "enabled") == "enabled"
    if style == "openrouter":
        return bool(body.get("reasoning", {}).get("enabled", True))
    if style == "siliconflow":
        return bool(body.get("enable_thinking", True))
    if style == "chat_template_kwargs":
        return bool(body.get("chat_template_kwargs", {}).get("enable_thinking", True))
    return False


def usage_shape(
    d: Dialect, prompt: int, completion: int, reasoning: int, cached: int
) -> dict[str, Any]:
    """The ``usage`` object as dialect ``d`` reports it (cached and reasoning tokens, cost)."""
    cached = min(cached, prompt)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    style = d.usage_style
    if style == "zai":
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    elif style == "openrouter":
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        usage["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
        usage["cost"] = round((prompt * 0.5 + completion * 1.5) / 1e6, 10)
        usage["cost_details"] = {"upstream_inference_cost": None}
    elif style == "siliconflow":
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
        usage["prompt_cache_hit_tokens"] = cached
        usage["prompt_cache_miss_tokens"] = prompt - cached
    return usage


def message_shape(d: Dialect, content: str, reasoning: str) -> dict[str, Any]:
    """The assistant message, with any reasoning in the dialect's field."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message[d.reasoning_field] = reasoning
        if d.name == "openrouter":
            message["reasoning_details"] = [
                {"type": "reasoning.text", "text": reasoning, "index": 0}
            ]
    return message


def error_payload(d: Dialect, rej: Reject) -> dict[str, Any]:
    """The body of an error answer in the dialect's shape."""
    if d.usage_style == "zai":
        return {"error": {"code": rej.code or str(rej.status), "message": rej.message}}
    if d.usage_style == "siliconflow":
        return {"code": int(rej.code or rej.status), "message": rej.message, "data": None}
    return {"error": {"message": rej.message, "code": int(rej.code or rej.status)}}

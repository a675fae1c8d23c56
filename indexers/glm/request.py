"""Build the JSON body of a chat-completions request for one provider profile.

Pure functions (apart from reading a clip file in video mode): no network, no settings lookup,
so every dialect's body can be checked in a unit test. Frames go in time order, each preceded
by its absolute timestamp as text (``[t=12.5s]``), which imitates GLM-4.5V's native video
format (a time index after each frame) for providers that take only images.

What is said in the clip (its transcript) and written on screen (OCR lines), when the run read
them, follow the pictures as quoted data (:func:`videoidx.prompting.quote_data`: a transcript
is someone else's words, never instructions), one line per segment with its times in the same
seconds the model answers in (absolute in frames mode, from the clip's start in video mode),
capped at :data:`MAX_HEARD_CHARS` so a talkative clip stays well inside the context.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from indexers.glm.profiles import ProviderProfile
from indexers.glm.prompt import Prompt
from videoidx.prompting import DATA_RULE, Row, quote_data, quote_text
from videoidx.settings import ProviderSettings
from videoidx.types import ClipInput, Frame

CELL_PX = 28
"""GLM-4.5V: ViT patch 14 px, 2x2 merge -> one LLM token per 28x28 px cell."""
IMAGE_WRAP_TOKENS = 2  # <|begin_of_image|> ... <|end_of_image|>
TIMESTAMP_TOKENS = 8  # "[t=123.5s]" as text before each frame
CHARS_PER_TOKEN = 3.5  # rough for English prompt text; only used for estimates
CLOSING_TEXT = "Answer now with the JSON object only."
MAX_HEARD_CHARS = 6000
"""Most characters of transcript and on-screen text sent with one clip (about 1,700 tokens):
a 30 s clip of fast speech is about 500 characters, so this cuts only pathological clips."""
HEARD_INTRO = (
    "What is said in this clip (speech, transcribed) and written on screen (on-screen text, "
    "read by OCR), with their times in seconds as for the frames; use it to name what is said "
    "and shown in the events. It may contain recognition errors."
)

T = TypeVar("T")


def format_time_s(t: float) -> str:
    """``12.5`` -> ``"12.5"``, ``12`` -> ``"12.0"``; two decimals at most, never exponents."""
    text = f"{t:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def timestamp_text(t: float) -> str:
    """The label placed before each frame."""
    return f"[t={format_time_s(t)}s]"


def select_frames(frames: Sequence[T], limit: int | None) -> tuple[T, ...]:
    """At most ``limit`` frames spread evenly over the clip, first and last always kept."""
    if limit is None or len(frames) <= limit:
        return tuple(frames)
    if limit <= 1:
        return (frames[0],) if limit == 1 else ()
    n = len(frames)
    picks = sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})
    return tuple(frames[i] for i in picks)


def image_part(profile: ProviderProfile, jpeg: bytes) -> dict[str, Any]:
    """An ``image_url`` content item in the profile's encoding."""
    b64 = base64.b64encode(jpeg).decode("ascii")
    url = b64 if profile.image_url_style == "raw_base64" else f"data:image/jpeg;base64,{b64}"
    return {"type": "image_url", "image_url": {"url": url}}


def video_part(path: Path) -> dict[str, Any]:
    """A ``video_url`` item carrying the clip file as a base64 data URL (vLLM, SGLang)."""
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{b64}"}}


def thinking_fields(
    profile: ProviderProfile, thinking: bool, budget: int | None = None
) -> dict[str, Any]:
    """The body fields that switch thinking on or off in the profile's dialect.

    The switch is always sent explicitly: most of these providers think by default.
    """
    style = profile.thinking_style
    if style == "zai":
        return {"thinking": {"type": "enabled" if thinking else "disabled"}}
    if style == "openrouter":
        return {"reasoning": {"enabled": thinking}}
    if style == "siliconflow":
        fields: dict[str, Any] = {"enable_thinking": thinking}
        budget = budget if budget is not None else profile.thinking_budget
        if thinking and budget is not None:
            fields["thinking_budget"] = budget
        return fields
    if style == "chat_template_kwargs":
        return {"chat_template_kwargs": {"enable_thinking": thinking}}
    return {}


def uses_video(profile: ProviderProfile, clip: ClipInput, send_video: bool) -> bool:
    """True when this request carries the clip file instead of frames."""
    return send_video and profile.supports_video_url and clip.clip_path is not None


def clip_frames(profile: ProviderProfile, clip: ClipInput) -> tuple[Frame, ...]:
    """The frames that will be sent, within the image limit.

    Burning the time into a frame corner (``burn_timestamps``) is the sampler's job
    (``videoidx.media.sample``), so every indexer sees the same pixels and the cache key covers it.
    """
    return select_frames(sorted(clip.frames, key=lambda f: f.time_s), profile.max_images)


def build_clip_request(
    profile: ProviderProfile,
    clip: ClipInput,
    settings: ProviderSettings,
    prompt: Prompt,
    *,
    request_id: str | None = None,
    stream: bool | None = None,
) -> dict[str, Any]:
    """The request body that asks the model to index ``clip``."""
    video_mode = uses_video(profile, clip, settings.send_video)
    instruction = prompt.render(
        clip_start_s=clip.clip.start_s,
        clip_end_s=clip.clip.end_s,
        video_mode=video_mode,
        grounding=settings.grounding,
    )
    content: list[dict[str, Any]] = [{"type": "text", "text": instruction}]
    if video_mode:
        assert clip.clip_path is not None
        content.append(video_part(clip.clip_path))
    else:
        for frame in clip_frames(profile, clip):
            content.append({"type": "text", "text": timestamp_text(frame.time_s)})
            content.append(image_part(profile, frame.jpeg))
    heard = heard_and_read(clip, offset_s=clip.clip.start_s if video_mode else 0.0)
    if heard:
        content.append({"type": "text", "text": heard})
    content.append({"type": "text", "text": CLOSING_TEXT})
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": content},
    ]
    return _body(profile, messages, settings, settings.thinking, stream, request_id)


def heard_and_read(
    clip: ClipInput, *, offset_s: float = 0.0, max_chars: int = MAX_HEARD_CHARS
) -> str:
    """The clip's transcript and on-screen text as quoted data blocks ("" when it has none),
    times minus ``offset_s``, at most ``max_chars`` of their text (later lines are left out,
    and the block says how many)."""
    rows: dict[str, list[Row]] = {"speech": [], "on screen text": []}
    items = [("speech", s.start_s, s.end_s, s.text) for s in clip.speech]
    items += [("on screen text", t.start_s, t.end_s, t.text) for t in clip.screen_text or ()]
    budget, left_out = max_chars, 0
    for label, start_s, end_s, text in sorted(items, key=lambda i: i[1]):
        text = text.strip()
        if not text:
            continue
        if len(text) > budget:
            left_out += 1
            continue
        budget -= len(text)
        when = f"{start_s - offset_s:.1f}-{end_s - offset_s:.1f}s"
        rows[label].append(Row(f"{when} {quote_text(text)}"))
    blocks = [quote_data(label, lines) for label, lines in rows.items() if lines]
    if not blocks:
        return ""
    more = f"\n({left_out} more lines were left out for length.)" if left_out else ""
    return "\n".join([HEARD_INTRO, DATA_RULE, *blocks]) + more


def build_text_request(
    profile: ProviderProfile,
    messages: Sequence[Mapping[str, Any]],
    settings: ProviderSettings,
    *,
    thinking: bool = False,
    request_id: str | None = None,
    stream: bool | None = None,
) -> dict[str, Any]:
    """A text-only request (consolidation, Q&A) in the profile's dialect."""
    return _body(profile, [dict(m) for m in messages], settings, thinking, stream, request_id)


def _body(
    profile: ProviderProfile,
    messages: list[dict[str, Any]],
    settings: ProviderSettings,
    thinking: bool,
    stream: bool | None,
    request_id: str | None,
) -> dict[str, Any]:
    max_tokens = settings.max_tokens
    if profile.max_output_tokens is not None:
        max_tokens = min(max_tokens, profile.max_output_tokens)
    streaming = settings.stream if stream is None else stream
    body: dict[str, Any] = {
        "model": profile.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": max_tokens,
        "stream": streaming,
    }
    if streaming and profile.stream_usage_option:
        body["stream_options"] = {"include_usage": True}
    if request_id and profile.sends_request_id:
        body["request_id"] = request_id
    body.update(thinking_fields(profile, thinking, settings.thinking_budget))
    for key, value in profile.extra_body.items():
        body.setdefault(key, value)
    return body


def estimate_tokens(frames: Iterable[Frame | tuple[int, int]], *, text_chars: int = 2400) -> int:
    """Prompt tokens a request would cost: one token per 28x28 px cell, plus text.

    ``frames`` are frames or ``(width_px, height_px)`` pairs. Hosted APIs resize server-side by
    their own rules, so this is an estimate for dry runs and cost caps, not a bill.
    """
    total = math.ceil(text_chars / CHARS_PER_TOKEN)
    for item in frames:
        w, h = (item.width_px, item.height_px) if isinstance(item, Frame) else item
        total += math.ceil(w / CELL_PX) * math.ceil(h / CELL_PX)
        total += IMAGE_WRAP_TOKENS + TIMESTAMP_TOKENS
    return total

"""Request bodies per provider profile, token estimates, prompts, profiles and usage blocks."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from indexers.glm.profiles import PROFILES, resolve_profile
from indexers.glm.prompt import PROMPT_VERSION, load_prompt
from indexers.glm.request import (
    build_clip_request,
    build_text_request,
    estimate_tokens,
    select_frames,
    timestamp_text,
)
from indexers.glm.usage import parse_usage
from videoidx.errors import ConfigError
from videoidx.settings import ProviderSettings
from videoidx.types import ClipInput, ClipSpec, Frame, VideoInfo

INFO = VideoInfo(
    "vid", "/v.mp4", "v", 120.0, 25.0, 25.0, 3000, 1280, 720, 0, "h264", True, 0.0, 1000
)


def _jpeg(colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def _clip(n_frames: int = 3, start: float = 30.0, step: float = 2.5, **kw: Any) -> ClipInput:
    frames = tuple(Frame(start + i * step, _jpeg(), 64, 36, frame_index=i) for i in range(n_frames))
    spec = ClipSpec("vid", 1, start, start + n_frames * step)
    return ClipInput(video=INFO, clip=spec, frames=frames, **kw)


def _body(provider: str, *, clip: ClipInput | None = None, **settings: Any) -> dict[str, Any]:
    ps = ProviderSettings(provider=provider, model=settings.pop("model", None), **settings)
    return build_clip_request(
        resolve_profile(ps), clip or _clip(), ps, load_prompt(), request_id="rid-1"
    )


THINKING_TABLE = [
    ("zai", True, {"thinking": {"type": "enabled"}}),
    ("zai", False, {"thinking": {"type": "disabled"}}),
    ("zai_cn", False, {"thinking": {"type": "disabled"}}),
    ("openrouter", True, {"reasoning": {"enabled": True}}),
    ("openrouter", False, {"reasoning": {"enabled": False}}),
    ("siliconflow", True, {"enable_thinking": True, "thinking_budget": 4096}),
    ("siliconflow", False, {"enable_thinking": False}),
    ("vllm", True, {"chat_template_kwargs": {"enable_thinking": True}}),
    ("vllm", False, {"chat_template_kwargs": {"enable_thinking": False}}),
    ("sglang", False, {"chat_template_kwargs": {"enable_thinking": False}}),
    ("openai", True, {}),
]
THINKING_KEYS = {"thinking", "reasoning", "enable_thinking", "thinking_budget"}


@pytest.mark.parametrize(("provider", "thinking", "expected"), THINKING_TABLE)
def test_thinking_switch_shape_per_dialect(
    provider: str, thinking: bool, expected: dict[str, Any]
) -> None:
    body = _body(provider, thinking=thinking, model="m" if provider == "openai" else None)
    sent = {k: v for k, v in body.items() if k in THINKING_KEYS | {"chat_template_kwargs"}}
    assert sent == expected


def test_siliconflow_thinking_budget_setting_overrides_the_profile() -> None:
    body = _body("siliconflow", thinking=True, thinking_budget=1024)
    assert body["thinking_budget"] == 1024


@pytest.mark.parametrize(
    ("provider", "prefix"),
    [("zai", None), ("zai_cn", None), ("openrouter", "data:image/jpeg;base64,"),
     ("siliconflow", "data:image/jpeg;base64,"), ("vllm", "data:image/jpeg;base64,"),
     ("sglang", "data:image/jpeg;base64,")],
)  # fmt: skip
def test_image_encoding_per_dialect(provider: str, prefix: str | None) -> None:
    body = _body(provider)
    urls = [i["image_url"]["url"] for i in body["messages"][1]["content"] if "image_url" in i]
    assert len(urls) == 3
    for url in urls:
        if prefix is None:  # Z.AI: raw base64, the form its SDK sends
            assert not url.startswith("data:")
            payload = url
        else:
            assert url.startswith(prefix)
            payload = url[len(prefix) :]
        assert base64.b64decode(payload)[:2] == b"\xff\xd8"  # a JPEG


def test_each_frame_is_preceded_by_its_absolute_timestamp() -> None:
    content = _body("zai")["messages"][1]["content"]
    kinds = [(i["type"], i.get("text")) for i in content]
    assert kinds[0][0] == "text" and "30.0 s to 37.5 s" in kinds[0][1]  # instructions first
    assert kinds[1:7] == [
        ("text", "[t=30.0s]"), ("image_url", None),
        ("text", "[t=32.5s]"), ("image_url", None),
        ("text", "[t=35.0s]"), ("image_url", None),
    ]  # fmt: skip
    assert kinds[-1][0] == "text"
    assert timestamp_text(1234567.891) == "[t=1234567.89s]"


def test_body_fields_per_profile() -> None:
    zai = _body("zai", max_tokens=40000, temperature=0.1)
    assert zai["model"] == "glm-4.5v"
    assert zai["max_tokens"] == 16384  # GLM-4.5V's output cap on Z.AI
    assert zai["temperature"] == 0.1
    assert zai["request_id"] == "rid-1"
    assert zai["stream"] is False and "stream_options" not in zai
    assert zai["messages"][0] == {"role": "system", "content": load_prompt().system}
    vllm = _body("vllm", stream=True)
    assert vllm["skip_special_tokens"] is False  # keeps <|begin_of_box|>
    assert vllm["stream_options"] == {"include_usage": True}
    assert _body("openrouter")["model"] == "z-ai/glm-4.5v"
    assert "request_id" not in _body("openrouter")
    assert _body("siliconflow")["model"] == "zai-org/GLM-4.5V"


def test_more_frames_than_the_image_limit_are_subsampled_evenly() -> None:
    clip = _clip(n_frames=120, step=0.5)
    body = _body("zai", clip=clip)
    stamps = [
        i["text"] for i in body["messages"][1]["content"] if i.get("text", "").startswith("[t=")
    ]
    assert len(stamps) == 50
    assert stamps[0] == "[t=30.0s]" and stamps[-1] == "[t=89.5s]"
    # vLLM has no limit: all frames go.
    assert (
        len([i for i in _body("vllm", clip=clip)["messages"][1]["content"] if "image_url" in i])
        == 120
    )


def test_select_frames_spreads_evenly_and_keeps_ends() -> None:
    assert select_frames(list(range(10)), 4) == (0, 3, 6, 9)
    assert select_frames(list(range(3)), 50) == (0, 1, 2)
    assert select_frames(list(range(10)), 1) == (0,)
    picks = select_frames(list(range(101)), 50)
    assert len(picks) == 50 and len(set(picks)) == 50


def test_video_mode_sends_the_clip_file_only_where_supported(tmp_path: Path) -> None:
    clip_file = tmp_path / "clip.mp4"
    clip_file.write_bytes(b"\x00\x00\x00\x18ftypmp42 fake")
    clip = _clip(clip_path=clip_file)
    vllm = _body("vllm", clip=clip, send_video=True)
    items = vllm["messages"][1]["content"]
    videos = [i for i in items if i["type"] == "video_url"]
    assert len(videos) == 1 and not [i for i in items if i["type"] == "image_url"]
    assert videos[0]["video_url"]["url"] == "data:video/mp4;base64," + base64.b64encode(
        clip_file.read_bytes()
    ).decode("ascii")
    assert "seconds from the start of the clip" in items[0]["text"]
    assert "0.0 s to 7.5 s" in items[0]["text"]
    # Z.AI documents video_url as URL only: frames are sent instead.
    zai_items = _body("zai", clip=clip, send_video=True)["messages"][1]["content"]
    assert [i for i in zai_items if i["type"] == "image_url"]
    assert not [i for i in zai_items if i["type"] == "video_url"]


def test_text_request_for_consolidation_and_qa() -> None:
    ps = ProviderSettings(provider="openrouter")
    body = build_text_request(
        resolve_profile(ps), [{"role": "user", "content": "Group these."}], ps, thinking=True
    )
    assert body["messages"] == [{"role": "user", "content": "Group these."}]
    assert body["reasoning"] == {"enabled": True}


def test_estimate_tokens_counts_28px_cells() -> None:
    assert estimate_tokens([(448, 252)], text_chars=0) == 16 * 9 + 10
    assert estimate_tokens([(1920, 1080)], text_chars=0) == 69 * 39 + 10  # 2,691 in the table
    frame = Frame(0.0, b"", 448, 448)
    assert estimate_tokens([frame, frame], text_chars=350) == 2 * (256 + 10) + 100


# -- profiles and prompt -----------------------------------------------------------------------


def test_every_issue_profile_exists_with_its_key_variable() -> None:
    keys = {name: p.key_env for name, p in PROFILES.items()}
    assert keys["zai"] == keys["zai_cn"] == "ZAI_API_KEY"
    assert keys["openrouter"] == "OPENROUTER_API_KEY"
    assert keys["siliconflow"] == "SILICONFLOW_API_KEY"
    assert keys["vllm"] is None and keys["sglang"] is None
    assert PROFILES["zai"].max_images == 50
    assert PROFILES["zai_cn"].base_url == "https://open.bigmodel.cn/api/paas/v4"
    assert PROFILES["vllm"].supports_video_url and not PROFILES["openrouter"].supports_video_url


def test_settings_override_profile_fields() -> None:
    ps = ProviderSettings(
        provider="zai",
        base_url="http://127.0.0.1:9/v4/",
        model="glm-4.5v-x",
        api_key_env="MY_KEY",
        price_input_usd_per_mtok=1.0,
        price_output_usd_per_mtok=2.0,
        price_cached_usd_per_mtok=0.5,
    )
    p = resolve_profile(ps)
    assert (p.base_url, p.model, p.key_env) == ("http://127.0.0.1:9/v4", "glm-4.5v-x", "MY_KEY")
    assert (p.price_input_usd_per_mtok, p.price_output_usd_per_mtok) == (1.0, 2.0)
    assert p.price_cached_usd_per_mtok == 0.5
    assert PROFILES["zai"].model == "glm-4.5v"  # the table itself is untouched


def test_profile_errors_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="zai_cn"):
        resolve_profile(ProviderSettings(provider="nope"))
    with pytest.raises(ConfigError, match="--model"):
        resolve_profile(ProviderSettings(provider="openai"))
    with pytest.raises(ConfigError, match="http"):
        resolve_profile(ProviderSettings(provider="vllm", base_url="localhost:8000"))


def test_prompt_versions(tmp_path: Path) -> None:
    assert load_prompt().version == PROMPT_VERSION
    custom = tmp_path / "p.txt"
    custom.write_text('Find goals between $clip_start_s and $clip_end_s. {"events": []}')
    first = load_prompt(str(custom))
    assert first.version.startswith("custom-") and first.version != PROMPT_VERSION
    text = first.render(clip_start_s=10, clip_end_s=20, video_mode=False, grounding=False)
    assert text == 'Find goals between 10.0 and 20.0. {"events": []}'
    custom.write_text("Find fouls.")
    assert load_prompt(str(custom)).version != first.version
    with pytest.raises(ConfigError, match="cannot be read"):
        load_prompt(str(tmp_path / "missing.txt"))


def test_builtin_prompt_states_time_convention_and_grounding_scale() -> None:
    p = load_prompt()
    frames = p.render(clip_start_s=30, clip_end_s=60, video_mode=False, grounding=True)
    assert "[t=12.5s]" in frames and "whole video" in frames and "0-1000" in frames
    assert "$" not in frames
    video = p.render(clip_start_s=30, clip_end_s=60, video_mode=True, grounding=False)
    assert "start of the clip" in video and "0-1000" not in video


# -- usage blocks ------------------------------------------------------------------------------

USAGE_TABLE = [
    (
        "zai",
        {"prompt_tokens": 18342, "completion_tokens": 911, "total_tokens": 19253,
         "prompt_tokens_details": {"cached_tokens": 2000}},
        (18342, 911, 0, 2000, (16342 * 0.6 + 2000 * 0.11 + 911 * 1.8) / 1e6),
    ),
    (
        "openrouter",
        {"prompt_tokens": 194, "completion_tokens": 2, "total_tokens": 196,
         "completion_tokens_details": {"reasoning_tokens": 1},
         "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 100},
         "cost": 0.95, "cost_details": {"upstream_inference_cost": 19}},
        (194, 2, 1, 0, 0.95),  # OpenRouter's own cost wins
    ),
    (
        "siliconflow",
        {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
         "completion_tokens_details": {"reasoning_tokens": 300},
         "prompt_tokens_details": {"cached_tokens": 0},
         "prompt_cache_hit_tokens": 100, "prompt_cache_miss_tokens": 900},
        (1000, 500, 300, 100, (900 * 0.14 + 100 * 0.14 + 500 * 0.86) / 1e6),
    ),
    ("vllm", {"prompt_tokens": 5000, "completion_tokens": 100}, (5000, 100, 0, 0, 0.0)),
    ("zai", None, (0, 0, 0, 0, 0.0)),
    ("zai", {"prompt_tokens": "oops", "completion_tokens": None}, (0, 0, 0, 0, 0.0)),
]  # fmt: skip


@pytest.mark.parametrize(("provider", "block", "expected"), USAGE_TABLE)
def test_usage_per_dialect(provider: str, block: Any, expected: tuple[Any, ...]) -> None:
    usage = parse_usage(block, PROFILES[provider])
    got = (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.reasoning_tokens,
        usage.cached_tokens,
    )
    assert got == expected[:4]
    assert usage.cost_usd == pytest.approx(expected[4])
    assert usage.requests == 1


def test_reasoning_billed_separately_when_the_profile_says_so() -> None:
    import dataclasses

    profile = dataclasses.replace(PROFILES["siliconflow"], reasoning_in_completion=False)
    usage = parse_usage(
        {"prompt_tokens": 0, "completion_tokens": 500,
         "completion_tokens_details": {"reasoning_tokens": 300}},
        profile,
    )  # fmt: skip
    assert usage.cost_usd == pytest.approx(800 * 0.86 / 1e6)

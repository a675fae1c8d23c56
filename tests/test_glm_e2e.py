"""End to end: a video of known colours, GlmIndexer, the fake provider in every dialect.

The fake answers from what it decodes in the frames, so an event time that comes back right
proves the whole chain: frame timestamps in the request, the dialect's switches and encodings,
the reply parser, and the single clip-relative -> absolute conversion.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from indexers.glm import GlmIndexer
from indexers.glm.parse import box_to_px, extract_json_text
from tests.clip_frames import clip_inputs
from tests.conftest import COLOUR_SEGMENTS
from tests.fake_provider import FakeProvider
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.synth import segment_starts_s
from videoidx.settings import Settings
from videoidx.types import ClipAnalysis, ClipInput

STEP_S = 1.0
CLIP_BOUNDS = [(0.0, 6.0), (6.0, 12.0)]
KEY = "e2e-key-0123456789"
KEY_ENV = {v: KEY for v in ("ZAI_API_KEY", "OPENROUTER_API_KEY", "SILICONFLOW_API_KEY")}
PROVIDERS = ["zai", "zai_cn", "openrouter", "siliconflow", "vllm", "sglang", "openai"]
TRUTH = list(
    zip(segment_starts_s(COLOUR_SEGMENTS), [s.colour for s in COLOUR_SEGMENTS], strict=True)
)


def colour_at(t: float) -> str:
    return [colour for start, colour in TRUTH if start <= t + 1e-6][-1]


@pytest.fixture(scope="module")
def clips(colour_video: Path) -> list[ClipInput]:
    return clip_inputs(colour_video, CLIP_BOUNDS, step_s=STEP_S)


def _indexer(server: FakeProvider, provider: str, **settings: Any) -> GlmIndexer:
    # The test is the operator here: it allows the fake server to receive the key.
    s = Settings().replace(
        indexer="glm", provider=provider, base_url=server.base_url, model=server.model,
        allowed_base_urls=server.base_url, **settings,
    )  # fmt: skip
    return GlmIndexer(s, env=KEY_ENV, sleep=lambda _s: None)


def check_against_truth(analyses: list[ClipAnalysis], clips: list[ClipInput]) -> None:
    """Events inside their clips, labelled with the true colour, starting at true boundaries."""
    events = []
    for analysis, clip in zip(analyses, clips, strict=True):
        for e in analysis.events:
            assert clip.clip.start_s <= e.start_s <= e.end_s <= clip.clip.end_s, e
            assert e.label == f"{colour_at(e.start_s)} screen", e
            events.append(e)
    for start, colour in TRUTH:
        starts = [e.start_s for e in events if e.label == f"{colour} screen"]
        assert any(abs(s - start) <= STEP_S for s in starts), (colour, start, starts)


@pytest.mark.parametrize("thinking", [False, True], ids=["no-think", "think"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_dialect_finds_the_colour_boundaries(
    fake_provider: Any, clips: list[ClipInput], provider: str, stream: bool, thinking: bool
) -> None:
    server = fake_provider(provider, api_key=KEY)
    ix = _indexer(server, provider, stream=stream, thinking=thinking)
    analyses = [ix.analyze(c) for c in clips]
    ix.close()
    check_against_truth(analyses, clips)
    assert min(e.start_s for e in analyses[1].events) == 6.0  # absolute, not clip-relative
    for analysis in analyses:
        assert analysis.usage.requests == 1 and analysis.usage.prompt_tokens > 0
        assert analysis.finish_reason == "stop"
        assert analysis.model == server.model
        assert json.loads(extract_json_text(analysis.raw_reply))["events"]
        thinks = thinking and provider != "openai"  # a generic server has no switch
        assert bool(analysis.reasoning) == thinks
        # One causal link between each pair of consecutive events, as the fake saw them.
        assert len(analysis.links) == len(analysis.events) - 1
    paid = sum(a.usage.cost_usd for a in analyses)
    assert (paid > 0) == (provider in {"zai", "zai_cn", "openrouter", "siliconflow"})
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "fault", ["think", "box", "prose", "fence", "mmss", "think+box+prose", "fence+prose"]
)
def test_messy_but_complete_replies_give_the_same_events(
    fake_provider: Any, clips: list[ClipInput], fault: str
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script([fault, fault])
    ix = _indexer(server, "zai")
    check_against_truth([ix.analyze(c) for c in clips], clips)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_truncated_reply_keeps_complete_events(
    fake_provider: Any, clips: list[ClipInput], stream: bool
) -> None:
    server = fake_provider("vllm")
    full = _indexer(server, "vllm", stream=stream).analyze(clips[0])
    server.script(["truncate+box"])
    cut = _indexer(server, "vllm", stream=stream).analyze(clips[0])
    assert cut.finish_reason == "length"
    assert [e.label for e in cut.events] == [e.label for e in full.events][:-1]
    assert cut.raw_reply.startswith("<|begin_of_box|>")


def test_frames_beyond_the_image_limit_are_subsampled(
    fake_provider: Any, colour_video: Path
) -> None:
    (clip,) = clip_inputs(colour_video, [(0.0, 12.0)], step_s=0.2)
    assert len(clip.frames) == 60
    server = fake_provider("zai", api_key=KEY)  # rejects more than 50 images, like Z.AI
    analysis = _indexer(server, "zai").analyze(clip)
    assert len(server.requests[0].images) == 50
    assert [e.label for e in analysis.events] == [f"{c} screen" for _, c in TRUTH]


def test_grounding_boxes_come_back_in_pixels_of_the_original_frame(
    fake_provider: Any, clips: list[ClipInput]
) -> None:
    server = fake_provider("sglang")
    analysis = _indexer(server, "sglang", grounding=True).analyze(clips[1])
    boxed = [a for a in analysis.appearances if a.box_px is not None]
    assert boxed, "the green segment shows the test pattern: a boxed character"
    reply = json.loads(extract_json_text(analysis.raw_reply))
    glm_box = next(e["boxes"]["c1"] for e in reply["events"] if "boxes" in e)
    size = (clips[1].video.width_px, clips[1].video.height_px)
    assert boxed[0].box_px == box_to_px(tuple(glm_box), size)  # type: ignore[arg-type]
    assert analysis.characters[0].name == "moving test pattern"


def _cut(src: Path, start: float, end: float, out: Path) -> Path:
    run_ffmpeg(
        ["-y", "-ss", str(start), "-i", str(src), "-t", str(end - start), "-an", "-c:v",
         "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)],
        what=f"cutting test clip {out.name}",
    )  # fmt: skip
    return out


@pytest.mark.parametrize("provider", ["vllm", "sglang"])
def test_video_url_mode_converts_clip_relative_times(
    fake_provider: Any, clips: list[ClipInput], colour_video: Path, tmp_path: Path, provider: str
) -> None:
    server = fake_provider(provider)
    ix = _indexer(server, provider, send_video=True)
    assert ix.takes_video_url
    with_files = [
        ClipInput(
            video=c.video,
            clip=c.clip,
            frames=c.frames,
            clip_path=_cut(colour_video, c.clip.start_s, c.clip.end_s, tmp_path / f"{i}.mp4"),
        )
        for i, c in enumerate(clips)
    ]
    analyses = [ix.analyze(c) for c in with_files]
    check_against_truth(analyses, with_files)
    sent = server.requests[1].body["messages"][1]["content"]
    assert [i["type"] for i in sent].count("video_url") == 1
    assert not [i for i in sent if i["type"] == "image_url"]
    assert ix.cache_identity() != _indexer(server, provider).cache_identity()

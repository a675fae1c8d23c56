"""One contract, every registered indexer (as PySceneDetect runs one test class per backend).

Each indexer in :data:`indexers.REGISTRY` (plus the minimal ``echo`` one a plugin would write)
is built the way the pipeline builds it, ``create_indexer(settings)``, and must:

* give absolute times inside its clip (events, appearances, first sightings), with links that
  join events of the same analysis;
* invent no characters or links when it declares it cannot find them (``finds_characters``,
  ``finds_links``: the offline indexer recognises nobody);
* keep its cache identity across instances built from the same settings, and change it when a
  setting that changes its answer changes;
* pass ``check_ready`` when it can run, and name the missing key variable when it cannot;
* estimate a non-negative usage, zero cost when it is not ``priced``;
* do what its other capabilities promise (text completion, looking at frames).

The GLM adapter runs against the loopback fake provider. A new adapter must add a case here:
``test_every_registered_indexer_has_a_case`` fails until it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from indexers import REGISTRY, Indexer, create_indexer, register
from tests.clip_frames import clip_inputs
from tests.echo_indexer import EchoIndexer
from videoidx.errors import ConfigError
from videoidx.settings import Settings
from videoidx.types import ClipAnalysis, ClipInput

KEY = "contract-key-0123456789"
CLIP_BOUNDS = [(0.0, 6.0), (6.0, 12.0)]


@dataclass(frozen=True)
class Case:
    """How to run one indexer here: its settings, and settings that must change its identity."""

    settings: Callable[[Any], dict[str, Any]]
    """Flat settings for ``Settings.replace``, given the fake provider factory."""
    changes: list[dict[str, Any]] = field(default_factory=list)


def _glm_settings(fake_provider: Any) -> dict[str, Any]:
    server = fake_provider("zai", api_key=KEY)
    # The test is the operator: it allows the fake server to receive the key.
    return {
        "provider": "zai",
        "base_url": server.base_url,
        "model": server.model,
        "allowed_base_urls": server.base_url,
    }


CASES: dict[str, Case] = {
    "local": Case(
        lambda _fake: {},
        changes=[{"local_sample_fps": 2.0}, {"local_loud_db": 20.0}, {"local_silence_db": -40.0}],
    ),
    "glm": Case(
        _glm_settings,
        changes=[{"model": "another-model"}, {"thinking": True}, {"grounding": True}],
    ),
    "echo": Case(lambda _fake: {}),
}


@pytest.fixture(scope="module", autouse=True)
def _echo_registered() -> Iterator[None]:
    """The minimal third indexer, registered as a plugin would be, for this module only."""
    register("echo", EchoIndexer)
    yield
    REGISTRY.pop("echo", None)


def test_every_registered_indexer_has_a_case() -> None:
    assert set(REGISTRY) <= set(CASES), f"add a contract case for {set(REGISTRY) - set(CASES)}"


@pytest.fixture(scope="module")
def clips(colour_video: Path) -> list[ClipInput]:
    return clip_inputs(colour_video, CLIP_BOUNDS, step_s=1.0)


@pytest.fixture(params=sorted(CASES))
def built(
    request: pytest.FixtureRequest, fake_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Indexer, Settings, Case]]:
    name = request.param
    if name not in REGISTRY:
        pytest.skip(f"indexer {name!r} is not registered here (an optional dependency is missing)")
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    case = CASES[name]
    settings = Settings().replace(indexer=name, **case.settings(fake_provider))
    indexer = create_indexer(settings)
    yield indexer, settings, case
    indexer.close()


def _check_inside(analysis: ClipAnalysis, clip: ClipInput) -> None:
    lo, hi = clip.clip.start_s, clip.clip.end_s
    for e in analysis.events:
        assert lo <= e.start_s <= e.end_s <= hi, (e, lo, hi)
    for a in analysis.appearances:
        assert lo <= a.start_s <= a.end_s <= hi, (a, lo, hi)
    for c in analysis.characters:
        assert c.first_seen_s is None or lo <= c.first_seen_s <= hi, (c, lo, hi)
    keys = {e.key for e in analysis.events}
    for link in analysis.links:
        assert {link.cause_key, link.effect_key} <= keys and link.cause_key != link.effect_key
    characters = {c.key for c in analysis.characters}
    for e in analysis.events:
        assert set(e.characters) <= characters, e


class TestIndexerContract:
    def test_declares_itself(self, built: tuple[Indexer, Settings, Case]) -> None:
        indexer, settings, _ = built
        cls = type(indexer)
        assert REGISTRY[settings.provider.indexer] is cls and indexer.name
        assert cls.display_name and indexer.model_id and indexer.prompt_version
        assert indexer.max_images_per_request is None or indexer.max_images_per_request > 0
        assert cls.priced or not any(
            o.price_input_usd_per_mtok or o.price_output_usd_per_mtok
            for o in cls.provider_options()
        ), "an indexer with priced providers must declare priced"

    def test_times_are_absolute_and_inside_the_clip(
        self, built: tuple[Indexer, Settings, Case], clips: list[ClipInput]
    ) -> None:
        indexer, _, _ = built
        analyses = [indexer.analyze(c) for c in clips]
        for analysis, clip in zip(analyses, clips, strict=True):
            assert analysis.events, f"{indexer.name} found nothing in clip {clip.clip.index}"
            _check_inside(analysis, clip)
        # The second clip starts at 6 s: clip-relative times would start near 0.
        assert min(e.start_s for e in analyses[1].events) >= 6.0

    def test_invents_no_characters_or_links_it_cannot_know(
        self, built: tuple[Indexer, Settings, Case], clips: list[ClipInput]
    ) -> None:
        indexer, _, _ = built
        for clip in clips:
            analysis = indexer.analyze(clip)
            if not indexer.finds_characters:
                assert analysis.characters == [] and analysis.appearances == []
                assert all(not e.characters for e in analysis.events)
            if not indexer.finds_links:
                assert analysis.links == []

    def test_cache_identity_is_stable_and_follows_the_settings(
        self, built: tuple[Indexer, Settings, Case]
    ) -> None:
        indexer, settings, case = built
        again = create_indexer(settings)
        try:
            assert again.cache_identity() == indexer.cache_identity()
        finally:
            again.close()
        for change in case.changes:
            other = create_indexer(settings.replace(**change))
            try:
                assert other.cache_identity() != indexer.cache_identity(), change
            finally:
                other.close()

    def test_check_ready_passes_or_names_the_missing_key(
        self, built: tuple[Indexer, Settings, Case], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        indexer, settings, _ = built
        indexer.check_ready()  # everything it needs is here
        if not indexer.needs_key:
            return
        (option,) = [
            o for o in type(indexer).provider_options() if o.name == settings.provider.provider
        ]
        assert option.key_env
        monkeypatch.delenv(option.key_env)
        keyless = create_indexer(settings)
        with pytest.raises(ConfigError, match=option.key_env):
            keyless.check_ready()

    def test_estimates_are_never_negative_and_free_is_free(
        self, built: tuple[Indexer, Settings, Case]
    ) -> None:
        indexer, _, _ = built
        for frames in (0, 1, 12, 200):
            usage = indexer.estimate_usage([(448, 252)] * frames, 25.0)
            assert usage.prompt_tokens >= 0 and usage.completion_tokens >= 0
            assert usage.cost_usd >= 0.0
            if not indexer.priced:
                assert usage.cost_usd == 0.0

    def test_declared_text_and_look_capabilities_work(
        self, built: tuple[Indexer, Settings, Case], clips: list[ClipInput]
    ) -> None:
        indexer, _, _ = built
        question = [{"role": "user", "content": "Question: what colour is it?\n[1] red screen"}]
        if indexer.can_complete_text:
            text, usage = indexer.complete_text(question)
            assert isinstance(text, str) and text.strip() and usage.completion_tokens >= 0
        else:
            with pytest.raises(NotImplementedError):
                indexer.complete_text(question)
        frames = clips[0].frames[:3]
        if indexer.can_look:
            text, _ = indexer.look(
                frames, "Question: what colour is it?", system="Answer from the frames."
            )
            assert isinstance(text, str) and text.strip()
        else:
            with pytest.raises(NotImplementedError):
                indexer.look(frames, "Question: what colour?", system="Answer.")

    def test_a_stored_reply_reads_back_as_it_was_read(
        self, built: tuple[Indexer, Settings, Case], clips: list[ClipInput]
    ) -> None:
        indexer, _, _ = built
        if not indexer.can_reread:
            with pytest.raises(NotImplementedError):
                indexer.reread("{}", clips[0])
            return
        for clip in clips:
            fresh = indexer.analyze(clip)
            again = indexer.reread(fresh.raw_reply, clip, finish_reason=fresh.finish_reason)
            assert again.events == fresh.events and again.links == fresh.links
            assert again.characters == fresh.characters
            _check_inside(again, clip)


def test_a_capability_without_its_method_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="can_look"):

        class _Blind(EchoIndexer):  # defining it is the test
            can_look = True


def test_register_takes_only_indexer_classes() -> None:
    with pytest.raises(TypeError, match="Indexer subclass"):
        register("nonsense", lambda settings: EchoIndexer(settings))  # type: ignore[arg-type]
    assert "nonsense" not in REGISTRY

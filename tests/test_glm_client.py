"""Retries, error mapping, keys and streaming of the GLM adapter, against the fake provider."""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexers import create_indexer
from indexers.glm import GlmIndexer
from indexers.glm.client import ChatClient, UnreadableReplyError, parse_retry_after
from indexers.glm.profiles import PROFILES
from tests.clip_frames import clip_inputs
from tests.fake_provider import FakeProvider
from videoidx.errors import (
    AuthError,
    BadReplyError,
    ContentFilteredError,
    MissingKeyError,
    ProviderError,
    ProviderUnavailableError,
    QuotaError,
    RateLimitError,
)
from videoidx.settings import Settings
from videoidx.types import ClipInput

KEY = "sk-secret-abcdef1234567890"
KEY_VARS = {"ZAI_API_KEY", "OPENROUTER_API_KEY", "SILICONFLOW_API_KEY"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ClipInput:
    from videoidx.media.synth import Segment, make_video

    path = make_video(
        tmp_path_factory.mktemp("glmclient") / "rb.mp4",
        [Segment("red", 2.0), Segment("blue", 2.0)],
        audio=False,
    )
    return clip_inputs(Path(path), [(0.0, 4.0)], step_s=1.0)[0]


def _indexer(
    server: FakeProvider,
    provider: str = "zai",
    *,
    sleeps: list[float] | None = None,
    env: dict[str, str] | None = None,
    **settings: Any,
) -> GlmIndexer:
    # The test is the operator here: it allows the fake server to receive the key.
    s = Settings().replace(
        indexer="glm", provider=provider, base_url=server.base_url, model=server.model,
        allowed_base_urls=server.base_url, **settings,
    )  # fmt: skip
    return GlmIndexer(
        s,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        env={v: KEY for v in KEY_VARS} if env is None else env,
    )


def test_registered_as_glm() -> None:
    ix = create_indexer(Settings().replace(indexer="glm", provider="vllm"))
    assert isinstance(ix, GlmIndexer)
    assert (ix.needs_network, ix.needs_key, ix.max_images_per_request) == (True, False, None)
    zai = create_indexer(Settings().replace(indexer="glm", provider="zai"))
    assert (zai.needs_key, zai.max_images_per_request, zai.model_id) == (True, 50, "glm-4.5v")


def test_retry_after_is_honoured_for_each_rate_limit_code(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["429:1302:retry_after=2", "429:1303:retry_after=1", "429:1305:retry_after=3"])
    sleeps: list[float] = []
    analysis = _indexer(server, sleeps=sleeps).analyze(clip)
    assert sleeps == [2.0, 1.0, 3.0]
    assert len(server.requests) == 4
    assert [e.label for e in analysis.events] == ["red screen", "blue screen"]


def test_server_errors_back_off_with_jitter_then_succeed(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("openrouter", api_key=KEY)
    server.script(["500", "503", "429"])
    sleeps: list[float] = []
    analysis = _indexer(server, "openrouter", sleeps=sleeps).analyze(clip)
    assert len(server.requests) == 4 and len(analysis.events) == 2
    # Full jitter: each wait lies in [0, base * 2**attempt] with base 1 s.
    assert len(sleeps) == 3
    assert all(0 <= s <= 2**i for i, s in enumerate(sleeps))


def test_retries_are_bounded(fake_provider: Any, clip: ClipInput) -> None:
    server = fake_provider("siliconflow", api_key=KEY)
    server.script(["500"] * 6)
    with pytest.raises(ProviderUnavailableError, match="Gave up after 3 attempts") as info:
        _indexer(server, "siliconflow", max_retries=2).analyze(clip)
    assert len(server.requests) == 3
    assert "siliconflow" in str(info.value) and "clip 0" in str(info.value)
    assert info.value.status == 500


def test_a_retry_after_longer_than_we_wait_gives_up_at_once(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["429:1302:retry_after=3600"])
    with pytest.raises(RateLimitError, match="3600 s"):
        _indexer(server).analyze(clip)
    assert len(server.requests) == 1


NOT_RETRIED = [
    ("401:1001", AuthError, "ZAI_API_KEY"),
    ("401:1002", AuthError, "ZAI_API_KEY"),
    ("429:1113", QuotaError, "arrears"),
    ("429:1304", QuotaError, "daily"),
    ("400:1301", ContentFilteredError, "sensitive"),
    ("sensitive", ContentFilteredError, "sensitive"),
    ("400:1214", ProviderError, "--model"),
]


@pytest.mark.parametrize(("fault", "error", "hint"), NOT_RETRIED)
def test_non_retryable_errors_make_exactly_one_request(
    fake_provider: Any, clip: ClipInput, fault: str, error: type[Exception], hint: str
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script([fault])
    sleeps: list[float] = []
    with pytest.raises(error) as info:
        _indexer(server, sleeps=sleeps).analyze(clip)
    assert type(info.value) is error  # not a retryable subclass
    assert len(server.requests) == 1 and sleeps == []
    message = str(info.value)
    assert "zai" in message and "clip 0" in message and hint in message
    code = fault.split(":")[1] if ":" in fault else "sensitive"
    assert info.value.code == code
    if fault != "sensitive":
        assert "not retried" in message.lower()


def test_hang_past_the_timeout_is_retried_then_reported(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("vllm", hang_s=3.0)
    server.script(["hang", "ok"])
    assert len(_indexer(server, "vllm", timeout_s=0.5).analyze(clip).events) == 2
    server.script(["hang", "hang"])
    with pytest.raises(ProviderUnavailableError, match=r"within 0\.5 s"):
        _indexer(server, "vllm", timeout_s=0.5, max_retries=1).analyze(clip)
    assert len(server.requests) == 4


def test_malformed_body_fails_the_clip_with_the_body_kept(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["malformed"])
    with pytest.raises(BadReplyError) as info:
        _indexer(server).analyze(clip)
    assert isinstance(info.value, UnreadableReplyError)
    assert "<html>" in info.value.raw_reply
    assert len(server.requests) == 1


def test_reply_without_json_fails_with_raw_reply_and_usage(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["refuse"])
    with pytest.raises(UnreadableReplyError) as info:
        _indexer(server).analyze(clip)
    assert info.value.raw_reply == "I'm sorry, I can't analyse these frames."
    assert info.value.usage.prompt_tokens > 0


@pytest.mark.parametrize("provider", ["zai", "vllm", "openrouter"])
def test_stream_cut_short_is_retried(fake_provider: Any, clip: ClipInput, provider: str) -> None:
    server = fake_provider(provider, api_key=KEY)
    server.script(["drop", "429:1302:retry_after=0"])
    sleeps: list[float] = []
    analysis = _indexer(server, provider, sleeps=sleeps, stream=True).analyze(clip)
    assert len(server.requests) == 3 and len(analysis.events) == 2
    assert analysis.usage.prompt_tokens > 0  # usage from the last chunk


def test_missing_key_names_the_variable_and_sends_nothing(
    fake_provider: Any, clip: ClipInput
) -> None:
    server = fake_provider("zai", api_key=KEY)
    ix = _indexer(server, env={})
    assert ix.estimate_usage([(224, 168)], 4.0).prompt_tokens > 0  # dry runs need no key
    with pytest.raises(MissingKeyError, match="ZAI_API_KEY"):
        ix.analyze(clip)
    with pytest.raises(MissingKeyError, match="MY_GLM_KEY"):
        _indexer(server, env={}, api_key_env="MY_GLM_KEY").check_ready()
    assert server.requests == []
    ok = _indexer(server, env={"MY_GLM_KEY": KEY}, api_key_env="MY_GLM_KEY").analyze(clip)
    assert len(ok.events) == 2
    assert server.requests[-1].headers["Authorization"] == f"Bearer {KEY}"


def test_optional_key_of_the_openai_profile(fake_provider: Any, clip: ClipInput) -> None:
    server = fake_provider("openai", api_key=KEY)
    _indexer(server, "openai", env={}).analyze(clip)
    assert "Authorization" not in server.requests[-1].headers
    _indexer(server, "openai", env={"OPENAI_API_KEY": KEY}).analyze(clip)
    assert server.requests[-1].headers["Authorization"] == f"Bearer {KEY}"


def test_api_key_never_appears_in_errors_or_reprs(fake_provider: Any, clip: ClipInput) -> None:
    server = fake_provider("openrouter", api_key="the-right-key")
    ix = _indexer(server, "openrouter")
    with pytest.raises(AuthError) as info:
        ix.analyze(clip)
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    text = f"{info.value} {info.value!r} {ix!r} {ix._get_client()!r}"
    assert KEY not in text
    assert "***" in str(info.value)  # the server echoed the key; we redacted it
    assert "OPENROUTER_API_KEY" in str(info.value)


def test_wrong_thinking_shape_is_rejected_like_zai_does(
    fake_provider: Any, clip: ClipInput
) -> None:
    # A SiliconFlow-shaped request sent to a Z.AI endpoint: Z.AI answers 400, code 1210.
    server = fake_provider("zai", api_key=KEY, model="zai-org/GLM-4.5V")
    with pytest.raises(ProviderError) as info:
        _indexer(server, "siliconflow").analyze(clip)
    assert (info.value.status, info.value.code) == (400, "1210")
    assert "enable_thinking" in str(info.value)


def test_complete_text_strips_thinking_and_box(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["think+box"])
    text, usage = _indexer(server).complete_text([{"role": "user", "content": "Group these."}])
    assert text.startswith("{") and "<" not in text
    assert usage.requests == 1 and usage.completion_tokens > 0
    assert server.requests[-1].body["thinking"] == {"type": "disabled"}


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    http_date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(http_date, now=now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_http_date_drives_the_wait() -> None:
    # Narrow unit test of the client loop: the fake server's script cannot carry a date.
    replies = iter(
        [
            httpx.Response(
                503,
                headers={"Retry-After": email.utils.formatdate(4_000_000_000, usegmt=True)},
                json={"error": {"code": "1305", "message": "overloaded"}},
            ),
        ]
    )
    client = ChatClient(
        PROFILES["zai"],
        api_key=KEY,
        max_retries=3,
        transport=httpx.MockTransport(lambda request: next(replies)),
        max_retry_after_s=10**10,
        sleep=lambda s: (_ for _ in ()).throw(RuntimeError(f"slept {s:.0f}")),
    )
    with pytest.raises(RuntimeError, match=r"slept \d{5,}"):
        client.complete({"model": "glm-4.5v", "messages": []}, what="a test")


@pytest.mark.parametrize("provider", ["zai", "sglang"])
def test_sensitive_finish_in_a_stream_is_not_retried(
    fake_provider: Any, clip: ClipInput, provider: str
) -> None:
    server = fake_provider(provider, api_key=KEY)
    server.script(["sensitive"])
    with pytest.raises(ContentFilteredError, match="sensitive"):
        _indexer(server, provider, stream=True).analyze(clip)
    assert len(server.requests) == 1


def test_estimate_usage_prices_the_frames_that_would_be_sent(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    ix = _indexer(server, env={})
    est = ix.estimate_usage([(448, 252)] * 60, 30.0)  # 60 frames, but Z.AI takes 50
    text_tokens = est.prompt_tokens - 50 * (16 * 9 + 10)
    assert 0 < text_tokens < 1500
    assert est.completion_tokens > 0
    expected = (est.prompt_tokens * 0.6 + est.completion_tokens * 1.8) / 1e6
    assert est.cost_usd == pytest.approx(expected)
    thinking = _indexer(server, env={}, thinking=True).estimate_usage([(448, 252)], 30.0)
    assert thinking.completion_tokens > ix.estimate_usage([(448, 252)], 30.0).completion_tokens
    assert server.requests == []

"""Remote transcription (``indexers.transcribers.remote``) against the fake provider's speech.

The audio is made here: tones at known times in silence. The fake decodes each WAV it is sent
and "transcribes" every tone as ``tone <Hz> hertz`` with its times in that file
(``tests.fake.audio``), so each test knows the true transcript at absolute times, and the fake
refuses what the real service refuses (content type, missing fields, over-limit pieces).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
import pytest

from indexers.transcribers import TRANSCRIBERS, create_transcriber
from indexers.transcribers.remote import RemoteTranscriber
from tests.fake_provider import FakeProvider
from videoidx.errors import (
    CancelledError,
    KeyDestinationError,
    MissingKeyError,
    ProviderError,
    ProviderUnavailableError,
)
from videoidx.settings import Settings

KEY = "sk-speech-secret-0123456789"
RATE = 16_000
START_S = 100.0
"""Where the span starts in the video: every time checked is absolute."""
TONES = ((2.0, 3.0, 440), (21.0, 22.0, 660), (31.5, 32.5, 880), (60.0, 61.0, 550))
"""(start, end, Hz) within the span; 70 s in all, so 30 s pieces must be cut, at silences."""


def tones(spec: tuple[tuple[float, float, int], ...] = TONES, total_s: float = 70.0) -> np.ndarray:
    t = np.arange(int(total_s * RATE)) / RATE
    out = np.zeros_like(t, dtype=np.float32)
    for a, b, hz in spec:
        mask = (t >= a) & (t < b)
        out[mask] = 0.3 * np.sin(2 * np.pi * hz * t[mask])
    return out


def transcriber(
    server: FakeProvider,
    provider: str,
    *,
    sleeps: list[float] | None = None,
    env: dict[str, str] | None = None,
    **settings: Any,
) -> RemoteTranscriber:
    # The test is the operator: it allows the fake server to receive the key.
    s = Settings().replace(
        transcriber="remote", transcribe_provider=provider, transcribe_base_url=server.base_url,
        transcribe_model=server.audio_model, allowed_base_urls=server.base_url, **settings,
    )  # fmt: skip
    if env is None:
        env = {v: KEY for v in ("ZAI_API_KEY", "OPENROUTER_API_KEY", "SILICONFLOW_API_KEY")}
    return RemoteTranscriber(
        s, sleep=(sleeps.append if sleeps is not None else lambda _s: None), env=env
    )


def _found(transcript: Any) -> list[tuple[str, float, float]]:
    return [(s.text.strip(), s.start_s, s.end_s) for s in transcript.segments]


def test_registered_and_declares_the_profile() -> None:
    assert TRANSCRIBERS["remote"] is RemoteTranscriber
    zai = create_transcriber(Settings().replace(transcriber="remote", transcribe_provider="zai"))
    assert isinstance(zai, RemoteTranscriber)
    assert (zai.gives_times, zai.needs_key, zai.needs_network, zai.priced) == (
        False,
        True,
        True,
        True,
    )
    assert zai.max_seconds_per_request == 30.0 and zai.max_bytes_per_request == 25 * 2**20
    vllm = create_transcriber(Settings().replace(transcriber="remote", transcribe_provider="vllm"))
    assert vllm is not None and (vllm.gives_times, vllm.needs_key, vllm.priced) == (
        True,
        False,
        False,
    )
    assert "provider=vllm" in vllm.cache_identity() and "model=" in vllm.cache_identity()


def test_vllm_verbose_json_segments_land_at_absolute_times(fake_provider: Any) -> None:
    server = fake_provider("vllm")
    t = transcriber(server, "vllm").transcribe(tones(), START_S)
    found = _found(t)
    assert [f[0] for f in found] == [f"tone {hz} hertz" for _a, _b, hz in TONES]
    for (_text, a, b), (ta, tb, _hz) in zip(found, TONES, strict=True):
        assert a == pytest.approx(START_S + ta, abs=0.11)
        assert b == pytest.approx(START_S + tb, abs=0.11)
    bodies = [r.body for r in server.requests]
    assert all(b["response_format"] == "verbose_json" for b in bodies)
    assert all(b["file"]["content_type"] == "audio/wav" for b in bodies)
    # 70 s in pieces of at most 30 s, cut in silences (no tone was split: each heard once).
    assert len(bodies) == 3 and all(b["file"]["duration_s"] <= 30.0 for b in bodies)
    assert "Authorization" not in server.requests[0].headers  # no key: none sent
    assert t.audio_s == pytest.approx(70.0) and t.usage.requests == 3 and t.usage.cost_usd == 0


def test_openai_words_come_back_with_their_times(fake_provider: Any) -> None:
    server = fake_provider("openai")
    t = transcriber(server, "openai").transcribe(tones(TONES[:1], 5.0), START_S)
    (seg,) = t.segments
    assert [w.text for w in seg.words] == ["tone", "440", "hertz"]
    assert seg.words[0].start_s == pytest.approx(102.0, abs=0.11)
    assert seg.words[-1].end_s == pytest.approx(103.0, abs=0.11)
    assert server.requests[0].body["timestamp_granularities[]"] == ["segment", "word"]


def test_openrouter_takes_json_input_audio_and_reports_its_cost(fake_provider: Any) -> None:
    server = fake_provider("openrouter", api_key=KEY)
    t = transcriber(server, "openrouter").transcribe(tones(TONES[:2], 25.0), START_S)
    assert [f[0] for f in _found(t)] == ["tone 440 hertz", "tone 660 hertz"]
    body = server.requests[0].body
    assert body["response_format"] == "verbose_json"
    assert body["timestamp_granularities"] == ["segment"]
    assert body["file"]["filename"] == "audio.wav"
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    # The reply's own usage.cost wins over the price table.
    assert t.usage.cost_usd == pytest.approx(25.0 / 60 * 0.006, rel=1e-3)


def test_zai_gets_pieces_of_at_most_30_s_and_its_text_is_timed_by_the_piece(
    fake_provider: Any,
) -> None:
    server = fake_provider("zai", api_key=KEY)
    tr = transcriber(server, "zai")
    t = tr.transcribe(tones(), START_S)
    durations = [r.body["file"]["duration_s"] for r in server.requests]
    assert all(d <= 30.0 for d in durations) and len(durations) == 3
    assert all("response_format" not in r.body for r in server.requests)
    # Text only: each piece's text spans where that piece has sound.
    texts = [f[0] for f in _found(t)]
    assert texts == ["tone 440 hertz tone 660 hertz", "tone 880 hertz", "tone 550 hertz"]
    (a0, b0), (a1, b1), (a2, b2) = [(s.start_s, s.end_s) for s in t.segments]
    assert (a0, b0) == (pytest.approx(102.0, abs=0.11), pytest.approx(122.0, abs=0.11))
    assert (a1, b1) == (pytest.approx(131.5, abs=0.11), pytest.approx(132.5, abs=0.11))
    assert (a2, b2) == (pytest.approx(160.0, abs=0.11), pytest.approx(161.0, abs=0.11))
    assert all(not s.words for s in t.segments)
    # Priced per minute of audio sent (the silent stretches are sent too: they are inside pieces).
    assert t.usage.requests == 3
    assert t.usage.cost_usd == pytest.approx(70.0 / 60 * tr.profile.price_usd_per_min)


def test_zai_refuses_a_piece_over_30_s_and_that_is_not_retried(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    tr = transcriber(server, "zai")
    tr.max_seconds_per_request = 40.0  # as an adapter that ignored the limit would send
    with pytest.raises(ProviderError, match="HTTP 400, code 1214") as err:
        tr.transcribe(tones(TONES[:1], 35.0), START_S)
    assert "longer than 30 seconds" in str(err.value) and not err.value.retryable
    assert len(server.requests) == 1


def test_siliconflow_text_only(fake_provider: Any) -> None:
    server = fake_provider("siliconflow", api_key=KEY)
    t = transcriber(server, "siliconflow").transcribe(tones(TONES[:1], 10.0), START_S)
    assert _found(t) == [
        ("tone 440 hertz", pytest.approx(102.0, abs=0.11), pytest.approx(103.0, abs=0.11))
    ]
    assert server.requests[0].body["model"] == "FunAudioLLM/SenseVoiceSmall"


def test_a_service_refuses_the_wrong_shape(fake_provider: Any) -> None:
    """OpenRouter takes JSON: a multipart upload is refused (400), not retried."""
    server = fake_provider("openrouter", api_key=KEY)
    tr = transcriber(server, "openrouter")
    tr.profile = dataclasses.replace(tr.profile, shape="multipart")
    with pytest.raises(ProviderError, match="expected a JSON body"):
        tr.transcribe(tones(TONES[:1], 5.0), START_S)
    assert len(server.requests) == 1


def test_silence_is_not_sent(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    t = transcriber(server, "zai").transcribe(np.zeros(60 * RATE, dtype=np.float32), START_S)
    assert t.segments == [] and server.requests == [] and t.usage.cost_usd == 0


def test_an_echoed_key_is_blanked_in_the_transcript(fake_provider: Any) -> None:
    server = fake_provider("openai", api_key=KEY)
    server.script(["echo_key"])
    tr = transcriber(server, "openai", env={"OPENAI_API_KEY": KEY})
    t = tr.transcribe(tones(TONES[:1], 5.0), START_S)
    text = " ".join(s.text for s in t.segments)
    assert "the request said Authorization: Bearer ***" in text
    assert KEY not in text and KEY not in repr(t)


def test_rate_limits_are_retried_after_the_servers_wait(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    server.script(["429:1302:retry_after=2", "503"])
    sleeps: list[float] = []
    t = transcriber(server, "zai", sleeps=sleeps).transcribe(tones(TONES[:1], 5.0), START_S)
    assert sleeps[0] == 2.0 and len(sleeps) == 2
    assert len(server.requests) == 3 and [f[0] for f in _found(t)] == ["tone 440 hertz"]
    assert t.usage.requests == 1  # billed once: the failed attempts cost nothing


def test_a_request_that_never_finishes_ends_at_the_deadline(fake_provider: Any) -> None:
    server = fake_provider("vllm", hang_s=5.0, trickle_s=0.2)
    server.script(["trickle"])
    tr = transcriber(server, "vllm", request_deadline_s=0.6, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError, match="request deadline"):
        tr.transcribe(tones(TONES[:1], 5.0), START_S)
    assert time.monotonic() - started < 3.0


def test_cancel_stops_a_request_in_flight(fake_provider: Any) -> None:
    server = fake_provider("vllm", hang_s=10.0)
    server.script(["hang"])
    tr = transcriber(server, "vllm")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        tr.transcribe(tones(TONES[:1], 5.0), START_S, cancel=cancel)
    assert time.monotonic() - started < 2.0


def test_the_key_goes_only_where_the_operator_allowed(fake_provider: Any) -> None:
    server = fake_provider("zai", api_key=KEY)
    # A visitor's choice (Settings.replace), not the operator's list: refused before sending.
    s = Settings().replace(
        transcriber="remote", transcribe_provider="zai", transcribe_base_url=server.base_url
    )
    tr = RemoteTranscriber(s, env={"ZAI_API_KEY": KEY})
    with pytest.raises(KeyDestinationError, match="allowed_base_urls") as refused:
        tr.transcribe(tones(TONES[:1], 5.0), START_S)
    assert "transcribe_base_url" in str(refused.value) and server.requests == []
    # The built-in https endpoint of the profile may receive it without being listed.
    own = RemoteTranscriber(
        Settings().replace(transcriber="remote", transcribe_provider="zai"),
        env={"ZAI_API_KEY": KEY},
    )
    assert own.api_key() == KEY


def test_the_operators_transcribe_base_url_is_allowed_at_start_up(fake_provider: Any) -> None:
    from videoidx.settings import resolve_settings

    server = fake_provider("zai", api_key=KEY)
    s = resolve_settings({"transcriber": "remote", "transcribe_base_url": server.base_url}, env={})
    assert server.base_url in (s.provider.allowed_base_urls or "")
    t = RemoteTranscriber(s, env={"ZAI_API_KEY": KEY}).transcribe(tones(TONES[:1], 5.0), 0.0)
    assert [f[0] for f in _found(t)] == ["tone 440 hertz"]


def test_a_missing_key_is_said_before_any_work() -> None:
    tr = RemoteTranscriber(
        Settings().replace(transcriber="remote", transcribe_provider="siliconflow"), env={}
    )
    with pytest.raises(MissingKeyError, match="SILICONFLOW_API_KEY"):
        tr.check_ready()


def test_the_dry_run_estimate_prices_the_minutes() -> None:
    zai = RemoteTranscriber(Settings().replace(transcriber="remote", transcribe_provider="zai"))
    usage = zai.estimate_usage(90.0)
    assert usage.requests == 3 and usage.cost_usd == pytest.approx(
        1.5 * zai.profile.price_usd_per_min
    )
    priced = RemoteTranscriber(
        Settings().replace(
            transcriber="remote", transcribe_provider="vllm", transcribe_price_usd_per_min=0.01
        )
    )
    assert priced.priced and priced.estimate_usage(120.0).cost_usd == pytest.approx(0.02)

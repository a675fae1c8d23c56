"""Remote embedders against the fake provider over loopback HTTP: request shapes per profile,
splitting at the service's input limit, order, cost, retries and refusals, keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexers import embedder_status, open_embedder
from indexers.embedders.remote import RemoteEmbedder, reply_vectors
from tests.fake.embeddings import text_vector
from tests.fake_provider import FakeProvider
from tests.storefix import start, video_info
from videoidx.errors import (
    AuthError,
    BadReplyError,
    ConfigError,
    KeyDestinationError,
    MissingKeyError,
)
from videoidx.pipeline.embed import embed_missing
from videoidx.settings import resolve_settings
from videoidx.store import Store, search
from videoidx.types import ClipAnalysis, ClipSpec, Event

KEY = "embed-key-0123456789"
TEXTS = [f"event number {i} where a {c} car waits" for i, c in enumerate(["red", "blue"] * 75)]


@pytest.fixture
def server() -> Iterator[FakeProvider]:
    with FakeProvider("zai", api_key=KEY) as s:
        yield s


def embedder(server: FakeProvider, profile: str = "zai", **flat: Any) -> RemoteEmbedder:
    settings = resolve_settings(
        {"embedder": profile, "embed_base_url": server.base_url, "max_retries": 2,
         "allowed_base_urls": server.base_url, **flat},
        env={}, config_path="/dev/null",
    )  # fmt: skip
    return RemoteEmbedder(settings, env={"ZAI_API_KEY": KEY}, sleep=lambda _s: None)


def bodies(server: FakeProvider) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.path.endswith("/embeddings")]


def test_zai_splits_at_64_inputs_keeps_order_and_prices_tokens(server: FakeProvider) -> None:
    emb = embedder(server)
    got = emb.embed(TEXTS)
    assert got.vectors.shape == (150, 2048) and got.vectors.dtype == np.float32
    expected = np.stack([text_vector(t, 2048) for t in TEXTS]).astype(np.float32)
    assert np.allclose(got.vectors, expected, atol=1e-6)  # in input order, normalised
    sent = bodies(server)
    assert [len(b["input"]) for b in sent] == [64, 64, 22]
    assert {(b["model"], b["dimensions"]) for b in sent} == {("embedding-3", 2048)}
    tokens = sum(len(t.split()) for t in TEXTS)
    assert got.usage.requests == 3 and got.usage.prompt_tokens == tokens
    assert got.usage.cost_usd == pytest.approx(tokens / 1e6 * 0.07)
    # The dry-run estimate: the same requests, tokens from the characters.
    estimate = emb.estimate_usage(TEXTS)
    assert estimate.requests == 3 and estimate.cost_usd > 0
    assert emb.model_key == "zai:embedding-3:2048"


def test_dimensions_setting_is_sent_and_names_the_vectors(server: FakeProvider) -> None:
    emb = embedder(server, embed_dimensions=256)
    assert emb.embed(["a red car"]).vectors.shape == (1, 256)
    assert bodies(server)[-1]["dimensions"] == 256
    assert emb.model_key == "zai:embedding-3:256"
    with pytest.raises(ConfigError, match="256, 512, 1024, 2048"):
        embedder(server, embed_dimensions=300)


def test_siliconflow_sends_no_dimensions_and_32_inputs_a_request() -> None:
    with FakeProvider("siliconflow", api_key=KEY) as server:
        settings = resolve_settings(
            {"embedder": "siliconflow", "embed_base_url": server.base_url,
             "allowed_base_urls": server.base_url},
            env={}, config_path="/dev/null",
        )  # fmt: skip
        emb = RemoteEmbedder(settings, env={"SILICONFLOW_API_KEY": KEY})
        assert emb.embed(TEXTS[:40]).vectors.shape == (40, 1024)
        sent = bodies(server)
        assert [len(b["input"]) for b in sent] == [32, 8]
        assert all("dimensions" not in b and b["model"] == "BAAI/bge-m3" for b in sent)


def test_a_self_hosted_model_tells_its_size_and_needs_no_key() -> None:
    with FakeProvider("vllm", api_key="") as server:
        server.embedding_model = "intfloat/e5-small"
        settings = resolve_settings(
            {"embedder": "vllm", "embed_base_url": server.base_url,
             "embed_model": "intfloat/e5-small"},
            env={}, config_path="/dev/null",
        )  # fmt: skip
        emb = RemoteEmbedder(settings, env={})
        assert emb.dims == 384 and emb.model_key == "vllm:intfloat/e5-small:384"
        assert emb.embed(["x y"]).vectors.shape == (1, 384)


def test_429_and_500_are_retried_refusals_are_not(server: FakeProvider) -> None:
    emb = embedder(server)
    server.script(["429:1302", "500"])
    assert emb.embed(["a red car"]).vectors.shape == (1, 2048)
    assert len(bodies(server)) == 3
    server.script(["401:1001"])
    with pytest.raises(AuthError):
        emb.embed(["a red car"])
    assert KEY not in str(server.requests[-1].body)


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ("wrong_count", "1 rows for 2 texts"),
        ("wrong_dims", "2047 numbers, expected 2048; set embed_dimensions"),
        ("malformed", "not JSON"),
    ],
)
def test_a_wrong_answer_is_a_bad_reply(server: FakeProvider, fault: str, match: str) -> None:
    emb = embedder(server)
    server.script([fault])
    with pytest.raises(BadReplyError, match=match):
        emb.embed(["a red car", "a blue bus"])


def test_keys_missing_or_going_elsewhere_are_refused(server: FakeProvider) -> None:
    settings = resolve_settings(
        {"embedder": "zai", "embed_base_url": server.base_url,
         "allowed_base_urls": server.base_url},
        env={}, config_path="/dev/null",
    )  # fmt: skip
    with pytest.raises(MissingKeyError, match=r"ZAI_API_KEY.*embed_api_key_env"):
        RemoteEmbedder(settings, env={}).check_ready()
    elsewhere = settings.replace(allowed_base_urls=None)
    with pytest.raises(KeyDestinationError):
        RemoteEmbedder(elsewhere, env={"ZAI_API_KEY": KEY}).check_ready()


def test_the_setting_names_a_profile() -> None:
    settings = resolve_settings({"embedder": "openrouter"}, env={}, config_path="/dev/null")
    assert embedder_status(settings).engine == "remote"
    built = open_embedder(settings)
    assert isinstance(built, RemoteEmbedder) and built.profile.name == "openrouter"
    with pytest.raises(ConfigError, match="unknown embedder 'nope'"):
        embedder_status(settings.replace(embedder="nope"))
    assert not embedder_status(settings.replace(embedder="none")).on


def test_reply_rows_come_back_in_input_order() -> None:
    data = {"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0]}]}
    vectors, tokens = reply_vectors(data, 2, "x")
    assert vectors.tolist() == [[1.0, 0.0], [0.0, 1.0]] and tokens is None
    with pytest.raises(BadReplyError, match="mixes vector sizes"):
        reply_vectors({"data": [{"index": 0, "embedding": [1.0]},
                                {"index": 1, "embedding": [1.0, 2.0]}]}, 2, "x")  # fmt: skip


def test_a_library_embedded_remotely_is_searched_with_its_model(
    server: FakeProvider, tmp_path: Path
) -> None:
    emb = embedder(server, embed_dimensions=512)
    with Store.open(tmp_path / "remote.duckdb") as store:
        store.upsert_video(video_info("v1"))
        rows = [("park", "a red car waits at the light"), ("rain", "umbrellas open downtown")]
        events = [Event(f"e{i}", 5.0 * i, 5.0 * i + 2, lab, d) for i, (lab, d) in enumerate(rows)]
        store.write_clip(
            start(store, "v1"), ClipSpec("v1", 0, 0.0, 10.0), "k", ClipAnalysis(events=events)
        )
        report = embed_missing(store, emb)
        assert report.docs == 2 and report.usage.requests == 1 and report.usage.cost_usd > 0
        hits = search(store, "umbrellas", mode="semantic", embedder=emb)
        assert hits[0].label == "rain"

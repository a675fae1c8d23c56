"""Replies cut off at the token limit are never stored as finished clips.

The fake provider really cuts its JSON: ``length`` ends the answer where the request's
``max_tokens`` runs out (so more room really helps), ``truncate`` cuts the last event in half
whatever the budget. Each test checks that the stored reply is not valid JSON, so a test whose
reply was never cut cannot pass by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from indexers.glm import GlmIndexer
from tests.clip_frames import clip_inputs
from tests.conftest import ROOT
from tests.fake_provider import FakeProvider
from tests.test_pipeline import CLIP_FLAGS, KEY, clip_calls, glm, glm_settings
from videoidx.pipeline.run import index_video
from videoidx.settings import Settings
from videoidx.store import Store


def clip_rows(db: Path) -> list[dict[str, Any]]:
    names = ["clip_index", "status", "error", "finish_reason", "raw_reply", "requests", "cost"]
    with Store.open(db) as store:
        rows = store.sql(
            "SELECT clip_index, status, error, finish_reason, raw_reply, requests, cost_usd "
            "FROM clips ORDER BY clip_index"
        )
    return [dict(zip(names, r, strict=True)) for r in rows]


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_cut_off_reply_is_asked_again_with_more_room(colour_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "room.duckdb"
    with FakeProvider("zai") as server:
        server.script(["length"] * 50)  # every answer ends where its max_tokens does
        # 30 tokens (120 characters) cut every clip's answer inside its first event; the
        # second try's 120 tokens hold the longest (about 450 characters).
        settings = glm_settings(server, db, concurrency=1, max_tokens=30)
        result = index_video(colour_video, settings=settings, indexer=glm(settings))
        calls = clip_calls(server)
    assert result.status == "done", result
    assert len(calls) == 2 * result.clips_total
    assert [c.body["max_tokens"] for c in calls] == [30, 120] * result.clips_total
    rows = clip_rows(db)
    assert all(r["status"] == "done" and r["finish_reason"] == "stop" for r in rows), rows
    assert all(is_json(r["raw_reply"]) for r in rows)
    assert all(r["requests"] == 2 for r in rows)  # the cut-off answer is paid and counted
    assert result.usage.requests == len(server.requests)
    assert result.events == result.clips_total  # one colour per 3 s clip, none lost


def test_reply_still_cut_off_is_failed_and_sent_again_next_run(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cut.duckdb"
    with FakeProvider("zai") as server:
        settings = glm_settings(server, db, concurrency=1)
        server.script(["ok", "truncate", "truncate"])  # clip 1: cut, and cut again
        first = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert first.status == "partial", first
        assert first.clips_failed == 1 and first.clips_analysed == first.clips_total - 1
        assert "clip 1" in first.clip_errors[0] and "cut off" in first.clip_errors[0]
        retried = clip_calls(server)[1:3]
        assert retried[1].body["max_tokens"] > retried[0].body["max_tokens"]
        failed = [r for r in clip_rows(db) if r["status"] == "failed"]
        assert [r["clip_index"] for r in failed] == [1]
        assert failed[0]["finish_reason"] == "length" and "cut off" in failed[0]["error"]
        assert not is_json(failed[0]["raw_reply"])  # really cut mid-event
        assert failed[0]["requests"] == 2 and failed[0]["cost"] > 0  # both answers cost
        with Store.open(db) as store:
            assert store.events(first.video_id, start_s=3.0, end_s=5.4) == []  # none kept

        sent_before = len(clip_calls(server))
        second = index_video(colour_video, settings=settings, indexer=glm(settings))
        assert second.status == "done"
        assert len(clip_calls(server)) - sent_before == 1  # the cut-off clip, and only it
        assert all(r["status"] == "done" for r in clip_rows(db))


def _cli_env(server: FakeProvider, db: Path, **settings: Any) -> dict[str, str]:
    flags = {**CLIP_FLAGS, "concurrency": 1, **settings}
    return {
        **os.environ,
        "ZAI_API_KEY": KEY,
        "VIDEOIDX_CONFIG": os.devnull,
        "VIDEOIDX_DB_PATH": str(db),
        "VIDEOIDX_INDEXER": "glm",
        "VIDEOIDX_PROVIDER": "zai",
        "VIDEOIDX_BASE_URL": server.base_url,
        "VIDEOIDX_MODEL": server.model,
        "VIDEOIDX_MAX_RETRIES": "0",
        **{f"VIDEOIDX_{k.upper()}": str(v) for k, v in flags.items()},
    }


def _index(video: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoidx", "index", str(video)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exits_1_on_cut_off_replies_and_the_next_run_sends_them(
    colour_video: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cli.duckdb"
    with FakeProvider("zai") as server:
        server.script(["length"] * 50)
        # 10 tokens, then 40 on the second try: both end inside the first event.
        run = _index(colour_video, _cli_env(server, db, max_tokens=10))
        assert run.returncode == 1, run.stderr
        assert "failed" in run.stdout
        assert "cut off at the token limit" in run.stderr
        rows = clip_rows(db)
        assert rows and all(r["status"] == "failed" for r in rows)
        assert all(r["finish_reason"] == "length" and not is_json(r["raw_reply"]) for r in rows)
        sent = len(clip_calls(server))
        assert sent == 2 * len(rows)

        server.script([])  # and the provider answers in full again
        again = _index(colour_video, _cli_env(server, db))
        assert again.returncode == 0, again.stderr
        assert len(clip_calls(server)) - sent == len(rows)  # every clip is sent again
        assert all(r["status"] == "done" for r in clip_rows(db))


def test_at_the_providers_cap_the_second_try_sends_fewer_frames(
    fake_provider: Any, colour_video: Path
) -> None:
    (clip,) = clip_inputs(colour_video, [(0.0, 6.0)], step_s=1.0)
    server = fake_provider("zai", api_key=KEY)
    settings = Settings().replace(
        indexer="glm",
        provider="zai",
        base_url=server.base_url,
        allowed_base_urls=server.base_url,  # the operator allows the loopback fake
        max_tokens=16384,
    )
    ix = GlmIndexer(settings, env={"ZAI_API_KEY": KEY}, sleep=lambda _s: None)
    server.script(["truncate"])
    cut = ix.analyze(clip)
    assert cut.incomplete and "cut off" in cut.incomplete
    again = ix.analyze_longer(clip)
    assert again is not None and not again.incomplete
    first, second = server.requests
    assert first.body["max_tokens"] == second.body["max_tokens"] == 16384  # Z.AI's cap
    assert len(second.images) == (len(first.images) + 1) // 2


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_truncated_reply_says_it_is_incomplete(
    fake_provider: Any, colour_video: Path, stream: bool
) -> None:
    (clip,) = clip_inputs(colour_video, [(0.0, 6.0)], step_s=1.0)
    server = fake_provider("vllm")
    settings = Settings().replace(
        indexer="glm", provider="vllm", base_url=server.base_url, stream=stream
    )
    ix = GlmIndexer(settings, sleep=lambda _s: None)
    assert ix.analyze(clip).incomplete == ""
    server.script(["truncate"])
    cut = ix.analyze(clip)
    assert not is_json(cut.raw_reply)
    assert "cut off at the token limit" in cut.incomplete and "1 complete event" in cut.incomplete

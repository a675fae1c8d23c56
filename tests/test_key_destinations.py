"""The server's API keys go only to their provider's own endpoint or to a URL the operator allowed.

The rule (``indexers.glm.trust``) is tested where it is decided, and then through every way in:
the Python API (``GlmIndexer``, ``index_video``, ``ask``, Ray's ``worker_env``), the CLI (whose
``--base-url`` is the operator's) and the web page's own HTTP API, where a visitor calls every
endpoint that takes a Base URL with the address of a listener that records what it receives.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexers.glm import GlmIndexer
from indexers.glm.trust import key_destinations, key_may_go_to
from tests.browser import free_port
from tests.fake_provider import FakeProvider
from ui.server import Server, serve
from videoidx import ask, index_video
from videoidx.errors import KeyDestinationError, MissingKeyError
from videoidx.settings import ProviderSettings, Settings, resolve_settings

SERVER_KEYS = {
    "ZAI_API_KEY": "zai-server-secret-0123456789",
    "OPENROUTER_API_KEY": "sk-or-server-secret-0123456789",
    "SILICONFLOW_API_KEY": "sk-sf-server-secret-0123456789",
    "OPENAI_API_KEY": "sk-openai-server-secret-0123456789",
}
KEYED = ["zai", "zai_cn", "openrouter", "siliconflow", "openai"]
CLIP_FLAGS: dict[str, Any] = {"clip_target_s": 6.0, "clip_min_s": 3.0, "clip_max_s": 8.0}


def saw_a_key(listener: FakeProvider) -> list[str]:
    """Every server key that reached the listener, in a header or anywhere in a body."""
    seen = []
    for r in listener.requests:
        text = json.dumps(r.headers) + json.dumps(r.body)
        seen += [var for var, key in SERVER_KEYS.items() if key in text]
    return seen


# -- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "url", "allowed"),
    [
        ("zai", "https://api.z.ai/api/paas/v4", True),
        ("zai", "https://API.Z.AI:443/api/paas/v4/", True),  # the same place, written otherwise
        ("zai_cn", "https://open.bigmodel.cn/api/paas/v4", True),
        ("openrouter", "https://openrouter.ai/api/v1", True),
        ("siliconflow", "https://api.siliconflow.com/v1", True),
        ("zai", "http://api.z.ai/api/paas/v4", False),  # plain http: readable on the way
        ("zai", "https://api.z.ai.evil.example/api/paas/v4", False),
        ("zai", "https://api.z.ai@evil.example/api/paas/v4", False),
        ("zai", "https://api.z.ai\\@evil.example/api/paas/v4", False),
        ("zai", "https://api.z.ai:8443/api/paas/v4", False),
        ("zai", "https://api.z.ai/api/paas/v4/../../../v9", False),
        ("zai", "https://openrouter.ai/api/v1", False),  # another provider's endpoint
        ("openrouter", "https://api.z.ai/api/paas/v4", False),
        ("openai", "http://127.0.0.1:8000/v1", False),  # a placeholder, not a destination
        ("vllm", "http://127.0.0.1:8000/v1", False),
        ("zai", "http://127.0.0.1:9/api/paas/v4", False),
        ("zai", "not a url", False),
    ],
)
def test_a_key_goes_only_to_its_providers_own_https_endpoint(
    provider: str, url: str, allowed: bool
) -> None:
    assert key_may_go_to(url, ProviderSettings(provider=provider)) is allowed


def test_the_operator_allows_more_urls_and_a_visitor_choice_does_not_join_them() -> None:
    operator = resolve_settings(
        {
            "provider": "openai",
            "base_url": "http://gpu-box:8000/v1/",
            "allowed_base_urls": "https://gateway.example/v1, http://127.0.0.1:30000/v1",
        },
        env={},
        config_path=os.devnull,
    )
    trusted = key_destinations(operator.provider)
    assert "http://gpu-box:8000/v1" in trusted  # the start-up base_url joins the list
    assert key_may_go_to("https://gateway.example/v1/", operator.provider)
    assert key_may_go_to("http://127.0.0.1:30000/v1", operator.provider)
    # What the page does with a visitor's fields: the list stays the operator's.
    visitor = operator.replace(provider="zai", base_url="http://127.0.0.1:4444/v1")
    assert visitor.provider.allowed_base_urls == operator.provider.allowed_base_urls
    assert not key_may_go_to("http://127.0.0.1:4444/v1", visitor.provider)
    assert key_may_go_to("http://gpu-box:8000/v1", visitor.provider)


def test_allowed_base_urls_from_env_and_toml_list(tmp_path: Path) -> None:
    env = {"VIDEOIDX_ALLOWED_BASE_URLS": "https://a.example/v1,https://b.example/v1"}
    s = resolve_settings(env=env, config_path=os.devnull)
    assert key_may_go_to("https://b.example/v1", s.provider)
    config = tmp_path / "videoidx.toml"
    config.write_text('[provider]\nallowed_base_urls = ["https://c.example/v1"]\n')
    assert key_may_go_to(
        "https://c.example/v1", resolve_settings(env={}, config_path=config).provider
    )
    with pytest.raises(Exception, match="allowed_base_urls entry 'ftp://x' must start with http"):
        resolve_settings({"allowed_base_urls": "ftp://x"}, env={}, config_path=os.devnull)


# -- the Python API, the CLI and Ray ----------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[FakeProvider]:
    """A server that records what it receives and accepts no server key (an attacker's)."""
    with FakeProvider("zai", api_key="attacker-has-no-key-0000") as server:
        yield server


def visitor_settings(url: str, provider: str = "zai", **flags: Any) -> Settings:
    """Settings as the page builds them: the operator's, with a visitor's choices replaced in."""
    operator = resolve_settings({"indexer": "glm", **flags}, env={}, config_path=os.devnull)
    return operator.replace(provider=provider, base_url=url)


@pytest.mark.parametrize("provider", KEYED)
def test_the_python_api_refuses_a_base_url_nobody_allowed(
    listener: FakeProvider, colour_video: Path, tmp_path: Path, provider: str
) -> None:
    settings = visitor_settings(
        listener.base_url, provider, db_path=str(tmp_path / "x.duckdb"), model="m", **CLIP_FLAGS
    )
    indexer = GlmIndexer(settings, env=SERVER_KEYS)
    with pytest.raises(KeyDestinationError, match="allowed_base_urls") as refused:
        indexer.check_ready()
    assert listener.base_url in str(refused.value)
    with pytest.raises(KeyDestinationError):
        indexer.worker_env()  # nothing to ship to a Ray worker either
    with pytest.raises(KeyDestinationError):
        indexer.complete_text([{"role": "user", "content": "Question: hi"}])
    with pytest.raises(KeyDestinationError):
        index_video(colour_video, settings=settings, indexer=GlmIndexer(settings, env=SERVER_KEYS))
    assert listener.requests == []


def test_ask_refuses_before_sending_and_the_store_keeps_nothing(
    listener: FakeProvider, colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ask.duckdb"
    index_video(colour_video, settings=resolve_settings({"db_path": str(db)}, env={}))
    for var, key in SERVER_KEYS.items():
        monkeypatch.setenv(var, key)
    settings = visitor_settings(listener.base_url, db_path=str(db))
    with pytest.raises(KeyDestinationError):
        ask("what happens?", settings=settings, look_again=True)
    assert listener.requests == []


def test_without_a_key_any_url_works_and_a_missing_key_is_still_reported(
    colour_video: Path, tmp_path: Path
) -> None:
    # Self-hosted servers that need no key (vLLM, SGLang) may sit at any address.
    with FakeProvider("vllm") as vllm:
        s = visitor_settings(
            vllm.base_url, "vllm", db_path=str(tmp_path / "v.duckdb"), **CLIP_FLAGS
        )
        result = index_video(colour_video, settings=s, indexer=GlmIndexer(s, env=SERVER_KEYS))
        assert result.status == "done" and result.events > 0
        assert vllm.requests and not saw_a_key(vllm)
        assert all("Authorization" not in r.headers for r in vllm.requests)
    # The openai profile's key is optional: unset, nothing can leak, so the URL is fine.
    GlmIndexer(visitor_settings("http://127.0.0.1:9/v1", "openai", model="m"), env={}).check_ready()
    with pytest.raises(MissingKeyError):
        GlmIndexer(visitor_settings("http://127.0.0.1:9/v1"), env={}).check_ready()


def test_an_allowed_url_gets_the_key(colour_video: Path, tmp_path: Path) -> None:
    with FakeProvider("openrouter", api_key=SERVER_KEYS["OPENROUTER_API_KEY"]) as gateway:
        s = visitor_settings(
            gateway.base_url, "openrouter", db_path=str(tmp_path / "g.duckdb"),
            allowed_base_urls=gateway.base_url, **CLIP_FLAGS,
        )  # fmt: skip
        result = index_video(colour_video, settings=s, indexer=GlmIndexer(s, env=SERVER_KEYS))
        assert result.status == "done"
        assert {r.headers["Authorization"] for r in gateway.requests} == {
            f"Bearer {SERVER_KEYS['OPENROUTER_API_KEY']}"
        }


def test_a_cli_user_passing_base_url_is_the_operator(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from videoidx.cli import main

    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    monkeypatch.setenv("ZAI_API_KEY", SERVER_KEYS["ZAI_API_KEY"])
    with FakeProvider("zai", api_key=SERVER_KEYS["ZAI_API_KEY"]) as own:
        args = ["index", str(colour_video), "--db", str(tmp_path / "cli.duckdb"),
                "--indexer", "glm", "--provider", "zai", "--base-url", own.base_url]  # fmt: skip
        assert main(args) == 0
        assert own.requests and all(
            r.headers["Authorization"] == f"Bearer {SERVER_KEYS['ZAI_API_KEY']}"
            for r in own.requests
        )


# -- the web page, through its own HTTP API ---------------------------------------------------


@pytest.fixture
def page_server(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, FakeProvider]]:
    """A page whose server holds every provider key, and a gateway its operator allowed."""
    for var, key in SERVER_KEYS.items():
        monkeypatch.setenv(var, key)
    db = tmp_path / "page.duckdb"
    index_video(colour_video, settings=resolve_settings({"db_path": str(db)}, env={}))
    with FakeProvider("zai", api_key=SERVER_KEYS["ZAI_API_KEY"]) as gateway:
        settings = resolve_settings(
            {
                "db_path": str(db),
                "upload_dir": str(tmp_path / "uploads"),
                "port": free_port(),
                "indexer": "local",
                "allowed_base_urls": gateway.base_url,
                **CLIP_FLAGS,
            },
            env={},
            config_path=os.devnull,
        )
        server = serve(settings, block=False, quiet=True)
        try:
            yield server, gateway
        finally:
            server.ctx.jobs.cancel([j.job_id for j in server.ctx.jobs.snapshot()])
            server.ctx.jobs.wait_idle(60)
            server.close()


def _select_library_row(client: Any, video_id: str) -> None:
    """What clicking a library row does, sent as the browser sends it (the row's SelectData),
    so ``on_reindex`` in this session has a video to re-index."""
    dep = next(d for d in client.config["dependencies"] if d.get("api_name") == "on_library_select")
    row = ["colours", "0:12", "indexed", "1", "0", "1", "$0", video_id]
    body = {
        "data": [],
        "fn_index": dep["id"],
        "trigger_id": dep["targets"][0][0],
        "session_hash": client.session_hash,
        "event_data": {"index": [0, 0], "value": row[0], "row_value": row, "selected": True},
    }
    root = client.src.rstrip("/")
    with httpx.Client(timeout=30) as http:
        http.post(f"{root}/gradio_api/queue/join", json=body).raise_for_status()
        with http.stream("GET", f"{root}/gradio_api/queue/data",
                         params={"session_hash": client.session_hash}) as events:  # fmt: skip
            for line in events.iter_lines():
                if '"process_completed"' in line:
                    assert '"success": true' in line.replace('"success":true', '"success": true')
                    return


def _arguments(params: list[dict[str, Any]], values: dict[str, Any]) -> list[Any]:
    missing = [p["label"] for p in params if p["label"] not in values]
    assert not missing, f"a page input this test does not know yet: {missing}; give it a value"
    return [values[p["label"]] for p in params]


def _texts(value: Any) -> str:
    return json.dumps(value, default=str)


@pytest.mark.slow
def test_no_page_endpoint_sends_a_server_key_to_a_visitors_address(
    page_server: tuple[Server, FakeProvider], listener: FakeProvider, colour_video: Path
) -> None:
    from gradio_client import Client, handle_file

    server, _ = page_server
    operator_list = server.ctx.settings.provider.allowed_base_urls
    client = Client(server.url, verbose=False)
    video_id = server.ctx.store.list_videos()[0].video_id
    _select_library_row(client, video_id)
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    takes_url = {
        name: ep["parameters"]
        for name, ep in api.items()
        if any(p["label"] == "Base URL" for p in ep["parameters"])
    }
    # Every action that takes the field is here (a new one is picked up by this test too).
    assert {"/on_estimate", "/on_start", "/on_reindex", "/on_ask"} <= set(takes_url)
    answers: dict[tuple[str, str], str] = {}
    for provider in ["zai", "zai_cn", "openrouter", "siliconflow", "openai", "vllm", "sglang"]:
        values = {
            "Videos to index": [handle_file(str(colour_video))],
            "Or a folder or glob on this server": "",
            "Indexer": "glm",
            "Provider": provider,
            "Model": "m" if provider == "openai" else "",  # openai has no default model
            "Base URL": listener.base_url,
            "Thinking (slower, more tokens)": False,
            "Clip length (s)": 8,
            "Requests at once": 1,
            "Stop at cost (USD, 0 = no cap)": 0,
            "Question": "what happens?",
            "About": "Whole library",
            "Conversation": [],
        }
        for name, params in sorted(takes_url.items()):
            result = client.predict(*_arguments(params, values), api_name=name)
            answers[provider, name] = _texts(result)
    server.ctx.jobs.wait_idle(120)  # jobs a visitor started (vLLM, SGLang: no key) have run
    time.sleep(0.2)
    assert saw_a_key(listener) == []
    # The visitor is told why, and what the operator can do.
    for (provider, name), answer in answers.items():
        if provider in KEYED:
            # The page shows text Markdown-escaped (ui.render.md_text): read it without the escapes.
            plain = answer.replace("\\", "")
            assert "not allowed" in plain and "allowed_base_urls" in plain, (name, answer)
    assert server.ctx.settings.provider.allowed_base_urls == operator_list


@pytest.mark.slow
def test_a_url_the_operator_allowed_works_from_the_page(
    page_server: tuple[Server, FakeProvider],
) -> None:
    from gradio_client import Client

    server, gateway = page_server
    client = Client(server.url, verbose=False)
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/on_ask"]
    values = {
        "Indexer": "glm", "Provider": "zai", "Model": gateway.model, "Base URL": gateway.base_url,
        "Thinking (slower, more tokens)": False, "Clip length (s)": 8, "Requests at once": 1,
        "Stop at cost (USD, 0 = no cap)": 0, "Question": "what happened between 0:00 and 0:12?",
        "About": "Whole library", "Conversation": [],
    }  # fmt: skip
    answer = _texts(client.predict(*_arguments(params["parameters"], values), api_name="/on_ask"))
    assert "not allowed" not in answer and "From the evidence" in answer, answer
    assert gateway.requests
    assert all(
        r.headers["Authorization"] == f"Bearer {SERVER_KEYS['ZAI_API_KEY']}"
        for r in gateway.requests
    )

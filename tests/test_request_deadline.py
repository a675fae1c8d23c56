"""Every request ends: an overall deadline, and a cancel that cuts a request in flight.

The fake provider misbehaves the ways that defeat a per-read timeout: SSE keep-alive comments
and a body trickling byte by byte (never silent for long), and a server that holds back its
headers. Each test bounds the time it allows; before the deadline existed these requests ran
for the fake's whole ``hang_s``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from indexers.glm.client import ChatClient
from indexers.glm.profiles import resolve_profile
from tests.fake_provider import FakeProvider
from videoidx.errors import CancelledError, ProviderUnavailableError
from videoidx.settings import Settings

KEY = "deadline-key-0123456789"
DEADLINE_S = 1.5
HANG_S = 15.0
"""How long the fake keeps misbehaving: far past every bound the tests allow."""


def _client(server: FakeProvider, **kwargs: Any) -> ChatClient:
    settings = Settings().replace(
        indexer="glm", provider="openrouter", base_url=server.base_url, model=server.model
    )
    options: dict[str, Any] = {
        "api_key": KEY,
        "timeout_s": 10.0,
        "deadline_s": DEADLINE_S,
        "max_retries": 0,
        "sleep": lambda _s: None,
        **kwargs,
    }
    return ChatClient(resolve_profile(settings.provider), **options)


def _body(server: FakeProvider, *, stream: bool) -> dict[str, Any]:
    # A text request: the fake answers it without frames.
    return {
        "model": server.model,
        "messages": [{"role": "user", "content": "Group these."}],
        "max_tokens": 100,
        "stream": stream,
    }


@pytest.fixture
def server(fake_provider: Any) -> FakeProvider:
    started: FakeProvider = fake_provider("openrouter", api_key=KEY, hang_s=HANG_S, trickle_s=0.2)
    return started


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("fault", ["keepalive", "trickle", "hang"])
def test_a_request_that_never_finishes_ends_at_the_deadline(
    server: FakeProvider, fault: str, stream: bool
) -> None:
    server.script([fault])
    client = _client(server)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError, match="request deadline") as err:
        client.complete(_body(server, stream=stream), what="a text request")
    elapsed = time.monotonic() - started
    assert DEADLINE_S <= elapsed < DEADLINE_S + 3.0, elapsed  # not the fake's 15 s
    assert err.value.retryable
    assert "request_deadline_s" in str(err.value)


def test_a_deadline_miss_is_retried(server: FakeProvider) -> None:
    server.script(["trickle", "ok"])
    client = _client(server, max_retries=1)
    reply = client.complete(_body(server, stream=False), what="a text request")
    assert reply.attempts == 2 and "fake answer" in reply.content


def test_a_slow_but_finishing_answer_is_not_cut(fake_provider: Any) -> None:
    slow = fake_provider("openrouter", api_key=KEY, latency_s=0.5)
    reply = _client(slow).complete(_body(slow, stream=True), what="a text request")
    assert "fake answer" in reply.content


@pytest.mark.parametrize("fault", ["keepalive", "trickle", "hang"])
def test_cancel_stops_a_request_in_flight(server: FakeProvider, fault: str) -> None:
    server.script([fault])
    client = _client(server, deadline_s=60.0)
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.complete(_body(server, stream=False), what="a text request", cancel=cancel)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    while not server.requests:
        time.sleep(0.01)
    time.sleep(0.5)  # in the middle of the misbehaviour
    cancel.set()
    cancelled_at = time.monotonic()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert time.monotonic() - cancelled_at < 2.0  # the deadline is 60 s away
    assert len(outcome) == 1 and isinstance(outcome[0], CancelledError), outcome
    assert len(server.requests) == 1  # not retried


def test_cancel_also_ends_the_wait_before_a_retry(server: FakeProvider) -> None:
    server.script(["500"])
    client = _client(server, max_retries=3, sleep=None, backoff_base_s=30.0, rng=lambda: 1.0)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        client.complete(_body(server, stream=False), what="a text request", cancel=cancel)
    assert time.monotonic() - started < 2.0
    assert len(server.requests) == 1


def test_request_deadline_is_a_setting() -> None:
    from videoidx.errors import ConfigError

    assert Settings().provider.request_deadline_s == 600.0
    assert Settings().replace(request_deadline_s="5").provider.request_deadline_s == 5.0
    with pytest.raises(ConfigError, match="request_deadline_s"):
        Settings().replace(request_deadline_s=0)

"""Shared fixtures: the real media folder, synthetic videos, and a guard against logged errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from videoidx.media.synth import Segment, make_video

ROOT = Path(__file__).resolve().parent.parent
MEDIA_DIR = ROOT.parent / "shared" / "media"


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """``../shared/media`` beside the repository; tests that need it skip when it is absent."""
    if not (MEDIA_DIR / "media.json").is_file():
        pytest.skip(f"shared media folder not found at {MEDIA_DIR}")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def media_truth(media_dir: Path) -> dict[str, Any]:
    """The upstream ground truth in ``media.json``."""
    data: dict[str, Any] = json.loads((media_dir / "media.json").read_text())
    return data


# Four segments with hard cuts at 3.0, 5.5 and 9.0 s, tones on two of them.
COLOUR_SEGMENTS = (
    Segment("red", 3.0, tone_hz=440),
    Segment("blue", 2.5),
    Segment("green", 3.5, tone_hz=880, pattern=True),
    Segment("yellow", 3.0),
)


@pytest.fixture(scope="session")
def colour_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12 s video of known coloured segments (see ``COLOUR_SEGMENTS``)."""
    path = tmp_path_factory.mktemp("synth") / "colours.mp4"
    return make_video(path, COLOUR_SEGMENTS)


# Two short videos of other colours (other content): a batch of three with ``colour_video``.
SMALL_VIDEOS = {
    "a_sunrise.mp4": (Segment("orange", 2.5, tone_hz=330), Segment("white", 2.5)),
    "b_night.mp4": (Segment("black", 2.0), Segment("purple", 3.0, pattern=True)),
}


@pytest.fixture(scope="session")
def small_videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two 5 s videos alone in one folder (see ``SMALL_VIDEOS``)."""
    folder = tmp_path_factory.mktemp("bulk")
    return [make_video(folder / name, segs) for name, segs in SMALL_VIDEOS.items()]


@pytest.fixture
def three_videos(colour_video: Path, small_videos: list[Path]) -> list[Path]:
    """A batch: the colour video and the two small ones."""
    return [colour_video, *small_videos]


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A test that logs at ERROR has hidden a failure; make it visible (PySceneDetect's habit)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors and not getattr(caplog, "errors_expected", False):
        pytest.fail("logged errors: " + "; ".join(r.getMessage() for r in errors))


@pytest.fixture
def fake_provider() -> Iterator[Any]:
    """Start fake GLM provider servers by dialect: ``server = fake_provider("zai")``."""
    from tests.fake_provider import FakeProviders

    providers = FakeProviders()
    yield providers
    providers.stop_all()

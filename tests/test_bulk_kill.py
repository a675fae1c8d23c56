"""A SIGKILLed ``videoidx index`` leaves no process behind: no media worker, no resource tracker,
no ffmpeg.

``kill -9`` gives the parent no chance to stop its workers, so each worker has to notice by
itself, whatever it is doing at that moment: decoding, waiting to put a clip on a full queue,
waiting for a job, or exiting with unsent clips in its queue's buffer. The test kills a real
batch (several videos, two workers, a slow fake model so the clip queue is full) at many
different moments, and finds the survivors by an environment variable that every descendant
inherits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fake_provider import FakeProvider
from tests.test_pipeline import CLIP_FLAGS, KEY
from videoidx.media.synth import Segment, make_video

MARKER = "VIDEOIDX_TEST_KILL_MARKER"
# Delays after the start (s): while Python starts, while workers spawn, probe, decode, and
# while they wait on the full clip queue behind the slow model.
KILL_DELAYS_S = (0.5, 1.5, 2.5, 3.2, 3.8, 4.4, 5.0, 5.6)
GRACE_S = 3.0


def marked_processes(token: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment carries the marker."""
    needle = f"{MARKER}={token}".encode()
    found: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
            if needle not in environ.split(b"\0"):
                continue
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile, or not ours
        if state != "Z":  # a zombie is dead; only its parent's wait is missing
            found[int(name)] = cmdline.decode(errors="replace").strip()
    return found


def survivors_after(token: str, grace_s: float) -> dict[int, str]:
    deadline = time.monotonic() + grace_s
    while True:
        alive = marked_processes(token)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture(scope="module")
def four_videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("kill")
    # Detailed pictures (the test pattern) make big JPEG frames, so a few queued clips fill
    # the pipe between a worker and the parent, as real footage does.
    colours = ("red", "green", "blue", "yellow")
    return [
        make_video(
            folder / f"v{i}.mp4", [Segment(c, 12.0, pattern=True)], width_px=480, height_px=360
        )
        for i, c in enumerate(colours)
    ]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="walks /proc")
def test_sigkill_at_any_moment_leaves_no_worker_behind(
    four_videos: list[Path], tmp_path: Path
) -> None:
    leftovers: list[str] = []
    with FakeProvider("zai", latency_s=0.3) as server:
        for trial, delay_s in enumerate(KILL_DELAYS_S):
            token = uuid.uuid4().hex
            env = {
                **os.environ,
                MARKER: token,
                "ZAI_API_KEY": KEY,
                "VIDEOIDX_DB_PATH": str(tmp_path / f"kill{trial}.duckdb"),
                "VIDEOIDX_INDEXER": "glm",
                "VIDEOIDX_PROVIDER": "zai",
                "VIDEOIDX_BASE_URL": server.base_url,
                "VIDEOIDX_MODEL": server.model,
                "VIDEOIDX_CONCURRENCY": "1",
                "VIDEOIDX_CONFIG": os.devnull,
                **{f"VIDEOIDX_{k.upper()}": str(v) for k, v in CLIP_FLAGS.items()},
                "VIDEOIDX_FRAME_MAX_GAP_S": "0.25",  # about 13 frames, 100+ KB, per clip
            }
            child = subprocess.Popen(
                [sys.executable, "-m", "videoidx", "index", "--workers", "2"]
                + [str(p) for p in four_videos],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay_s)
            child.send_signal(signal.SIGKILL)
            child.wait()
            alive = survivors_after(token, GRACE_S)
            for pid, cmd in alive.items():
                leftovers.append(f"kill at {delay_s} s: pid {pid} {cmd[:120]}")
                os.kill(pid, signal.SIGKILL)  # clean up, so later trials start clean
    assert not leftovers, "\n".join(leftovers)

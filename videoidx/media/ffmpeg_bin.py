"""Where the ffmpeg binary comes from, and one way to run it.

The ``imageio-ffmpeg`` wheel ships a static ffmpeg (no ffprobe), so a fresh machine needs no
system package. A user who prefers a system build sets the ``ffmpeg_path`` setting
(``VIDEOIDX_FFMPEG_PATH`` or the config file); :func:`ffmpeg_exe` is the one place that turns
settings into the program to run, and it reads them only through the settings resolver.
Every ffmpeg failure becomes an :class:`~videoidx.errors.FFmpegError` that quotes the tail of
ffmpeg's own message, because that tail is what says which stream or option was wrong.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

from videoidx.errors import FFmpegError
from videoidx.settings import MediaSettings, Settings, resolve_settings


@functools.cache
def _bundled_ffmpeg() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise FFmpegError(
            "imageio-ffmpeg is not installed; run `pip install imageio-ffmpeg` "
            "or set VIDEOIDX_FFMPEG_PATH to a system ffmpeg"
        ) from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_exe(settings: Settings | MediaSettings | str | None = None) -> str:
    """The ffmpeg executable to run under ``settings``.

    That is the settings' ``ffmpeg_path`` (a path or a name on ``PATH``), else the bundled
    ffmpeg. With no settings, or settings that leave ``ffmpeg_path`` unset, the resolved
    defaults decide (:func:`~videoidx.settings.resolve_settings`: ``VIDEOIDX_FFMPEG_PATH``, then
    the config file), so code that has no settings at hand runs the ffmpeg the operator chose.
    A string is an ``ffmpeg_path`` value itself (what media functions are handed).
    """
    if isinstance(settings, Settings):
        configured = settings.media.ffmpeg_path
    elif isinstance(settings, MediaSettings):
        configured = settings.ffmpeg_path
    else:
        configured = settings
    if not configured:
        configured = resolve_settings().media.ffmpeg_path
    if configured:
        found = shutil.which(configured)
        if not found:
            raise FFmpegError(
                f"ffmpeg_path {configured!r} is not an executable; fix the ffmpeg_path setting "
                "(VIDEOIDX_FFMPEG_PATH or the config file) or unset it to use the bundled ffmpeg"
            )
        return found
    return _bundled_ffmpeg()


def stderr_tail(stderr: bytes | str, lines: int = 6) -> str:
    """The last few meaningful lines of ffmpeg's stderr, for error messages."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    ffmpeg_path: str | None = None,
    timeout_s: float | None = None,
    input_bytes: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args`` (without the program name); raise FFmpegError on failure.

    ``what`` names the job in the error message, e.g. ``"cutting clip 3 of talk.mp4"``.
    """
    cmd = [ffmpeg_exe(ffmpeg_path), "-hide_banner", "-nostdin", *args]
    if input_bytes is not None:
        cmd.remove("-nostdin")
    try:
        proc = subprocess.run(
            cmd, input=input_bytes, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"{what}: ffmpeg did not finish within {timeout_s} s") from exc
    except OSError as exc:
        raise FFmpegError(f"{what}: cannot start ffmpeg ({exc})") from exc
    if proc.returncode != 0:
        raise FFmpegError(f"{what}: ffmpeg failed: {stderr_tail(proc.stderr)}")
    return proc

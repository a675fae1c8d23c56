"""Settings reach ffmpeg only through the resolver: ``ffmpeg_exe`` is the one way in.

The config file's ``ffmpeg_path`` once counted only where a caller threaded it through by hand;
code with no settings at hand (shot detection, re-reading frames for Q&A) read the environment
variable alone and silently ran the bundled ffmpeg instead.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from videoidx import detect_shots, probe
from videoidx.errors import FFmpegError
from videoidx.media.ffmpeg_bin import _bundled_ffmpeg, ffmpeg_exe
from videoidx.media.scan import read_frames
from videoidx.settings import MediaSettings, Settings


def logging_ffmpeg(folder: Path, name: str = "my-ffmpeg") -> tuple[Path, Path]:
    """A real ffmpeg behind a script that logs every start: (script, log)."""
    log = folder / f"{name}.log"
    script = folder / name
    script.write_text(f'#!/bin/sh\necho started >> "{log}"\nexec "{_bundled_ffmpeg()}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def config_naming(tmp_path: Path, ffmpeg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "videoidx.toml"
    config.write_text(f'[media]\nffmpeg_path = "{ffmpeg}"\n')
    monkeypatch.setenv("VIDEOIDX_CONFIG", str(config))
    monkeypatch.delenv("VIDEOIDX_FFMPEG_PATH", raising=False)


def test_no_settings_means_the_resolved_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIDEOIDX_CONFIG", raising=False)
    monkeypatch.delenv("VIDEOIDX_FFMPEG_PATH", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./videoidx.toml
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert ffmpeg_exe() == _bundled_ffmpeg()
    script, _ = logging_ffmpeg(tmp_path)
    config_naming(tmp_path, script, monkeypatch)
    assert ffmpeg_exe() == str(script)  # the config file counts, not only the variable
    assert ffmpeg_exe(MediaSettings()) == str(script)  # unset in settings: resolved defaults
    other, _ = logging_ffmpeg(tmp_path, "other-ffmpeg")
    monkeypatch.setenv("VIDEOIDX_FFMPEG_PATH", str(other))
    assert ffmpeg_exe() == str(other)  # the environment beats the config file, as everywhere


def test_given_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, _ = logging_ffmpeg(tmp_path)
    other, _ = logging_ffmpeg(tmp_path, "other-ffmpeg")
    monkeypatch.setenv("VIDEOIDX_FFMPEG_PATH", str(other))
    chosen = Settings(media=MediaSettings(ffmpeg_path=str(script)))
    assert ffmpeg_exe(chosen) == str(script)
    assert ffmpeg_exe(chosen.media) == str(script)
    with pytest.raises(FFmpegError, match="ffmpeg_path setting"):
        ffmpeg_exe(MediaSettings(ffmpeg_path=str(tmp_path / "missing")))


def test_code_without_settings_runs_the_configured_ffmpeg(
    colour_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, log = logging_ffmpeg(tmp_path)
    config_naming(tmp_path, script, monkeypatch)
    assert detect_shots(colour_video)
    started = log.read_text().count("started")
    assert started >= 2  # probing and decoding
    info = probe(colour_video)
    read_frames(info, [3])
    assert log.read_text().count("started") > started

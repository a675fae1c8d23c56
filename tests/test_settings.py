"""Settings resolve flag > environment > config file > default, and reject bad input clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoidx.cli import main
from videoidx.errors import ConfigError
from videoidx.settings import FIELDS, Settings, resolve_settings


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = resolve_settings(env={}, config_path=_write(tmp_path, ""))
    assert settings == Settings()


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    config = _write(tmp_path, "[media]\nclip_target_s = 30\nframe_budget = 20\nconcurrency = 3\n")
    env = {"VIDEOIDX_CLIP_TARGET_S": "28", "VIDEOIDX_CONCURRENCY": "5"}
    s = resolve_settings({"concurrency": 7, "model": None}, env=env, config_path=config)
    assert s.pipeline.concurrency == 7  # flag beats env
    assert s.media.clip_target_s == 28.0  # env beats file
    assert s.media.frame_budget == 20  # file beats default
    assert s.provider.model is None  # a None flag means "not given"


def test_booleans_and_optionals_from_env(tmp_path: Path) -> None:
    env = {"VIDEOIDX_THINKING": "yes", "VIDEOIDX_MAX_COST_USD": "", "VIDEOIDX_BASE_URL": ""}
    s = resolve_settings(env=env, config_path=_write(tmp_path, ""))
    assert s.provider.thinking is True
    assert s.pipeline.max_cost_usd is None
    assert s.provider.base_url is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"clip_targt_s": 3}, "unknown setting 'clip_targt_s'"),
        ({"concurrency": "many"}, "must be a int"),
        ({"thinking": "perhaps"}, "must be a bool"),
        ({"clip_min_s": 50}, "clip_min_s <= clip_target_s"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
    ],
)
def test_bad_values_name_the_setting(
    tmp_path: Path, flags: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_settings(flags, env={}, config_path=_write(tmp_path, ""))


def test_broken_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_settings(env={}, config_path=_write(tmp_path, "[media\n"))


def test_field_names_are_unique_and_flat_roundtrips() -> None:
    flat = Settings().flat()
    assert set(flat) == set(FIELDS)
    assert Settings().replace(**flat) == Settings()


def test_config_command_masks_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZAI_API_KEY", "sk-very-secret-value-1234")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "sk-very-secret" not in out
    assert "ZAI_API_KEY" in out and "set (****34)" in out
    assert "clip_target_s" in out


def test_cli_reports_errors_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDEOIDX_CONCURRENCY", "zero")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("videoidx: error: setting 'concurrency'")
    assert "Traceback" not in err


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "videoidx.toml"
    path.write_text(text)
    return path

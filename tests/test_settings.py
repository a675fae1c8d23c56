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


@pytest.mark.parametrize(
    ("configured", "knob_s", "expected"),
    [
        ((8.0, 25.0, 40.0), 25.0, (8.0, 25.0, 40.0)),  # the configured target changes nothing
        ((8.0, 25.0, 40.0), 50.0, (16.0, 50.0, 80.0)),
        ((8.0, 25.0, 40.0), 10.0, (3.2, 10.0, 16.0)),
        ((8.0, 25.0, 40.0), 60.0, (19.2, 60.0, 96.0)),
        ((20.0, 30.0, 30.0), 15.0, (10.0, 15.0, 15.0)),  # a fixed-length shape stays fixed
    ],
)
def test_clip_length_knob_scales_the_configured_shape(
    configured: tuple[float, float, float], knob_s: float, expected: tuple[float, float, float]
) -> None:
    from videoidx.settings import clip_length_settings

    lo, target, hi = configured
    base = Settings().replace(clip_min_s=lo, clip_target_s=target, clip_max_s=hi)
    flat = clip_length_settings(knob_s, base.media)
    assert (flat["clip_min_s"], flat["clip_target_s"], flat["clip_max_s"]) == expected
    base.replace(**flat)  # always a valid combination
    with pytest.raises(ConfigError, match="clip length"):
        clip_length_settings(0, base.media)


@pytest.mark.parametrize("knob_s", [8.0, 25.0, 50.0])
def test_cli_clip_seconds_plans_like_the_page(
    knob_s: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.app import Page
    from ui.server import make_context
    from videoidx.cli import build_parser
    from videoidx.cli.index_cmd import index_settings

    monkeypatch.chdir(tmp_path)
    for name in ("VIDEOIDX_CONFIG", "VIDEOIDX_CLIP_MIN_S", "VIDEOIDX_CLIP_MAX_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    db = str(tmp_path / "lib.duckdb")
    args = build_parser().parse_args(["index", "x.mp4", "--db", db, "--clip-seconds", str(knob_s)])
    cli = index_settings(args).media
    ctx = make_context(resolve_settings({"db_path": db, "upload_dir": str(tmp_path / "up")}))
    try:
        page = Page(ctx).job_settings("local", "zai", "", "", False, knob_s, 4, None).media
    finally:
        ctx.jobs.close()
        ctx.store.close()
    assert (cli.clip_min_s, cli.clip_target_s, cli.clip_max_s) == (
        page.clip_min_s,
        page.clip_target_s,
        page.clip_max_s,
    )
    assert cli.clip_target_s == knob_s

"""The web page's pieces without a browser: uploads, exposure, rendering, views, jobs, player."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import storefix
from ui.context import PageContext, parse_clock
from ui.jobs import JobQueue
from ui.player import PlayerFiles, browser_plays
from ui.render import Bar, ChainStep, causes_html, clock, colour_for, timeline_html
from ui.safety import check_exposure, is_loopback
from ui.server import make_context
from videoidx import ConfigError, ShotCut, Store, probe, resolve_settings
from videoidx.media.ffmpeg_bin import ffmpeg_exe
from videoidx.service.uploads import accept_uploads, safe_name

# -- uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("match.mp4", "match.mp4"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.mkv", "evil.mkv"),
        ("a/b/c.mov", "c.mov"),
        ("semi;colon $(rm -rf).mp4", "semi_colon _(rm -rf).mp4"),
        ("tab\tand\nnewline.mp4", "tabandnewline.mp4"),
        ("...", "video"),
        ("", "video"),
        ("фильм 第一.mp4", "фильм 第一.mp4"),
    ],
)
def test_safe_name_keeps_the_look_and_drops_what_could_escape(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_safe_name_caps_length_and_keeps_the_extension() -> None:
    name = safe_name("x" * 5000 + ".mp4")
    assert len(name) <= 120 and name.endswith(".mp4")


def test_uploads_go_to_a_fresh_batch_directory_with_unique_names(tmp_path: Path) -> None:
    src = tmp_path / "incoming"
    src.mkdir()
    a = src / "clip.mp4"
    a.write_bytes(b"a" * 10)
    b = tmp_path / "other" / "clip.mp4"
    b.parent.mkdir()
    b.write_bytes(b"b" * 10)
    first = accept_uploads([a, b], tmp_path / "uploads", max_mb=1)
    second = accept_uploads([a], tmp_path / "uploads", max_mb=1)
    assert [p.name for p in first] == ["clip.mp4", "clip-1.mp4"]
    assert first[0].parent == first[1].parent != second[0].parent
    assert first[0].read_bytes() == b"a" * 10 and first[1].read_bytes() == b"b" * 10
    assert all((tmp_path / "uploads") in p.parents for p in [*first, *second])


def test_an_oversize_upload_is_refused_and_nothing_is_moved(tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="over the upload cap of 1 MB"):
        accept_uploads([big], tmp_path / "uploads", max_mb=1)
    assert not (tmp_path / "uploads").exists()


# -- who may connect ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.5"])
def test_loopback_hosts_need_no_password(host: str) -> None:
    exposure = check_exposure(host, 7860, share=False, auth=None)
    assert is_loopback(host) and exposure.auth is None
    assert "this machine only" in exposure.banner()


@pytest.mark.parametrize(("host", "share"), [("0.0.0.0", False), ("192.168.1.5", False),
                                             ("127.0.0.1", True)])  # fmt: skip
def test_serving_beyond_this_machine_without_a_password_is_refused(host: str, share: bool) -> None:
    with pytest.raises(ConfigError, match="without a password") as err:
        check_exposure(host, 7860, share=share, auth=None)
    assert "--auth user:password" in str(err.value)


def test_with_credentials_the_banner_names_the_user_never_the_password() -> None:
    exposure = check_exposure("0.0.0.0", 8080, share=False, auth="ana:s3cret-pass")
    assert exposure.auth == ("ana", "s3cret-pass")
    assert "ana" in exposure.banner() and "s3cret" not in exposure.banner()
    for bad in ["nopassword", ":x", "user:"]:
        with pytest.raises(ConfigError, match="user:password"):
            check_exposure("0.0.0.0", 8080, share=False, auth=bad)


def test_serve_refuses_an_unprotected_public_bind_before_opening_anything(tmp_path: Path) -> None:
    from ui.server import serve

    db = tmp_path / "lib.duckdb"
    settings = resolve_settings({"db_path": str(db), "host": "0.0.0.0"}, env={})
    with pytest.raises(ConfigError, match="without a password"):
        serve(settings, block=False, quiet=True)
    assert not db.exists()


# -- rendering ---------------------------------------------------------------------------------


def test_clock_and_time_filters_read_the_way_people_write_times() -> None:
    assert [clock(s) for s in (0, 59.9, 61, 3599, 3600, 3725)] == [
        "0:00", "0:59", "1:01", "59:59", "1:00:00", "1:02:05",
    ]  # fmt: skip
    assert parse_clock("1:05", "From") == 65
    assert parse_clock("1:02:03", "From") == 3723
    assert parse_clock("95s", "From") == 95 and parse_clock(" 7.5 ", "From") == 7.5
    assert parse_clock("", "From") is None
    with pytest.raises(ConfigError, match="From time 'soon' is not a time"):
        parse_clock("soon", "From")


def test_timeline_escapes_model_text_and_every_bar_carries_its_moment() -> None:
    bars = [
        Bar("e1", 1.5, 4.0, "goal", '<img src=x onerror="alert(1)"> scores'),
        Bar("e2", 10.0, 12.0, "foul", "a foul", ("Ana",)),
    ]
    html = timeline_html("vid", 20.0, bars, [ShotCut(100, 8.0, 0.5)], selected_id="e2")
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'data-video="vid" data-start="1.500" data-id="e1"' in html
    assert 'class="vx-bar vx-sel" data-video="vid" data-start="10.000" data-id="e2"' in html
    # a shot band per shot, each clickable at its start
    assert 'data-start="0.000"' in html and 'data-start="8.000"' in html
    by_character = timeline_html("vid", 20.0, bars, [], colour_by="character")
    assert "Ana" in by_character and "(no one)" in by_character


def test_colours_are_stable_per_name() -> None:
    assert colour_for("goal") == colour_for("GOAL")
    assert len({colour_for(n) for n in ["goal", "foul", "pass", "shot", "save", "corner"]}) > 2


def test_causes_render_as_chains_of_clickable_steps() -> None:
    chain = [
        ChainStep("a", 1.0, 2.0, "pass", "long pass", "causes", "sets it up"),
        ChainStep("b", 3.0, 4.0, "shot", "shot on goal"),
    ]
    html = causes_html("vid", [chain])
    assert html.index('data-id="a"') < html.index("causes →") < html.index('data-id="b"')


# -- views over a real store -------------------------------------------------------------------


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[PageContext]:
    settings = resolve_settings(
        {"db_path": str(tmp_path / "lib.duckdb"), "upload_dir": str(tmp_path / "up")}, env={}
    )
    context = make_context(settings)
    store = context.store
    info = storefix.video_info("vid-a", "Cup final", 60.0)
    store.upsert_video(info)
    run = store.start_run("vid-a", indexer="t", model="m", provider="", prompt_version="1",
                          settings={})  # fmt: skip
    for i in range(3):
        spec = storefix.clip("vid-a", i)
        store.write_clip(run, spec, f"key-{i}", storefix.analysis(spec, words="penalty kick"))
    store.finish_run(run, status="done", usage=storefix.analysis(storefix.clip("v", 0)).usage)
    yield context
    context.jobs.close()
    store.close()


def test_views_read_library_events_search_and_chains(ctx: PageContext) -> None:
    assert ctx.video_choices() == [("Cup final (1:00, 6 events)", "vid-a")]
    assert ctx.costs_by_video() == {"vid-a": pytest.approx(0.001)}
    rows = ctx.event_rows(ctx.events("vid-a"))
    assert rows[0] == ["0:00–0:05", "pass", "clip 0 event 1 penalty kick", "Striker"]
    hits = ctx.search("kick", video_id="vid-a", start_text="0:12", end_text="0:25")
    assert hits and all(h.end_s >= 12 and h.start_s <= 25 for h in hits)
    assert ctx.search("kick", video_id=None, label="shot")[0].label == "shot"
    chains = ctx.chains("vid-a")
    assert [[s.label for s in c] for c in chains] == [["pass", "shot"]] * 3
    assert chains[0][0].relation_to_next == "causes"
    labels, _ = ctx.labels_and_characters("vid-a")
    assert labels == ["pass", "shot"]
    event = ctx.events("vid-a")[1]
    assert "clip 0 event 2" in ctx.selected_markdown(event.id, event.start_s)


def test_estimate_prices_the_chosen_provider_and_says_offline_is_free(
    ctx: PageContext, colour_video: Path, tmp_path: Path
) -> None:
    offline = ctx.estimate([str(colour_video)], ctx.settings)
    assert "no cost" in offline and "0:12" in offline
    glm = ctx.settings.replace(indexer="glm", provider="siliconflow")
    priced = ctx.estimate([str(colour_video)], glm)
    assert "siliconflow" in priced and "$0.0" in priced
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    assert "cannot be indexed" in ctx.estimate([str(junk)], ctx.settings)


def test_a_missing_key_is_reported_by_variable_name(
    ctx: PageContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    problem = ctx.key_problem(ctx.settings.replace(indexer="glm", provider="zai"))
    assert "ZAI_API_KEY" in problem
    monkeypatch.setenv("ZAI_API_KEY", "k" * 20)
    assert ctx.key_problem(ctx.settings.replace(indexer="glm", provider="zai")) == ""
    assert ctx.key_problem(ctx.settings) == ""


# -- background jobs ---------------------------------------------------------------------------


def test_jobs_index_in_the_background_and_bad_files_fail_alone(
    ctx: PageContext, colour_video: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"definitely not a video")
    seen: list[str] = []
    jobs = ctx.jobs.submit(
        [junk, colour_video], ctx.settings, progress=lambda p: seen.append(p.stage)
    )
    assert ctx.jobs.wait_idle(120)
    by_title = {j.title: j for j in ctx.jobs.snapshot()}
    assert by_title["junk"].status == "failed" and "junk.mp4" in by_title["junk"].error
    done = by_title[colour_video.stem]
    assert done.status == "done" and done.result is not None and done.result.events > 0
    assert "analyze" in seen and seen[-1] == "done"
    assert {j.job_id for j in jobs} == {j.job_id for j in ctx.jobs.snapshot()}
    views = {v.title: v for v in ctx.job_views()}
    assert views[colour_video.stem].openable and not views["junk"].openable


def test_a_cancelled_queued_job_never_starts(ctx: PageContext, colour_video: Path) -> None:
    queue = JobQueue(ctx.store, workers=1)
    first, second = queue.submit([colour_video, colour_video], ctx.settings)
    queue.cancel([second.job_id])
    assert queue.wait_idle(120)
    status = {j.job_id: j.status for j in queue.snapshot()}
    assert status[second.job_id] == "cancelled" and status[first.job_id] in {"done", "cancelled"}
    queue.close()


# -- the player's files ------------------------------------------------------------------------


def _ffprobe_codec(path: Path) -> tuple[str, float]:
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    codec = "h264" if "Video: h264" in out else out
    start = float(out.split("start: ")[1].split(",")[0]) if "start: " in out else 0.0
    return codec, start


def test_browser_playable_files_are_served_in_place_others_get_one_copy(
    tmp_path: Path, colour_video: Path, media_dir: Path
) -> None:
    player = PlayerFiles(tmp_path / "copies")
    mp4 = probe(colour_video)
    assert browser_plays(mp4) and player.path_for(mp4) == colour_video.resolve()
    mkv = probe(media_dir / "dec_flipping_a_pancake.mkv")
    assert not browser_plays(mkv)
    assert player.path_for(mkv) is None  # the copy is made in the background, never waited for
    assert player.wait(mkv, 120) == "ready"
    copy = player.path_for(mkv)
    assert copy is not None and copy.parent == (tmp_path / "copies").resolve()
    assert copy.suffix == ".mp4" and _ffprobe_codec(copy)[0] == "h264"
    assert probe(copy).duration_s == pytest.approx(mkv.duration_s, abs=0.1)
    mtime = copy.stat().st_mtime_ns
    assert player.path_for(mkv) == copy and copy.stat().st_mtime_ns == mtime  # made once


def test_a_late_starting_file_gets_a_copy_that_starts_at_zero(
    tmp_path: Path, media_dir: Path
) -> None:
    info = probe(media_dir / "psd_delayed_start.mp4")
    assert info.start_offset_s > 0 and not browser_plays(info)
    player = PlayerFiles(tmp_path / "copies")
    player.prepare(info)
    assert player.wait(info, 120) == "ready"
    copy = player.path_for(info)
    assert copy is not None and probe(copy).start_offset_s == pytest.approx(0.0, abs=1e-3)


def test_a_missing_source_file_gives_no_player_file(tmp_path: Path) -> None:
    gone = storefix.video_info("gone")
    assert PlayerFiles(tmp_path / "copies").path_for(gone) is None


def test_store_is_refused_for_a_second_server_process(tmp_path: Path) -> None:
    """Why the page must own the store: a second writer process cannot open it."""
    db = tmp_path / "lib.duckdb"
    Store.open(db).close()
    with Store.open(db):
        code = (
            "import sys; from videoidx import Store, StoreError\n"
            f"try:\n    Store.open({str(db)!r})\nexcept StoreError as e:\n"
            "    print('refused:', e); sys.exit(3)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 3 and "Another process" in out.stdout, out


def test_serve_command_refuses_a_public_bind_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from videoidx.cli import main

    code = main(["serve", "--db", str(tmp_path / "x.duckdb"), "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "without a password" in err and "--auth user:password" in err


def test_the_player_serves_exactly_its_files_and_withdraws_deleted_ones(
    tmp_path: Path, colour_video: Path
) -> None:
    from types import SimpleNamespace

    from gradio.data_classes import _StaticFiles

    blocks = SimpleNamespace(allowed_paths=[])
    player = PlayerFiles(tmp_path / "copies")
    info = probe(colour_video)
    player.serve_with(blocks)
    served = player.path_for(info)
    assert served == colour_video.resolve()
    # One exact file, never its folder: the rest of the folder stays unreachable.
    assert blocks.allowed_paths == [str(served)]
    assert served in _StaticFiles.all_paths and served.parent not in _StaticFiles.all_paths
    player.withdraw(info)
    assert blocks.allowed_paths == [] and served not in _StaticFiles.all_paths


# -- text from models and file names -----------------------------------------------------------


def test_md_text_leaves_nothing_for_markdown_to_render() -> None:
    from ui.render import md_text

    hostile = "![x](http://a/leak.png) [l](http://a) <img src=http://a/i.png> **b** http://a/x"
    escaped = md_text(hostile + "\n    # heading")
    # Every character Markdown or HTML could act on is backslash-escaped ...
    assert re.search(r"(?<!\\)[!\[\]()<>*:#/]", escaped) is None, escaped
    assert "\n    " not in escaped  # ... and no indentation turns a line into a code block
    assert escaped.replace("\\", "") == hostile + "  \n# heading"  # the same text, shown literally


def test_the_selected_event_panel_escapes_every_model_field(ctx: PageContext) -> None:
    from dataclasses import replace

    event = ctx.events("vid-a")[0]
    run = ctx.store.start_run("vid-a", indexer="t", model="m", provider="", prompt_version="1",
                              settings={})  # fmt: skip
    spec = storefix.clip("vid-a", 9)
    hostile = storefix.analysis(spec)
    bad = "![x](http://a/leak.png) <img src=http://a/i.png>"
    hostile.events[0] = replace(
        hostile.events[0], label=bad, description=bad, location=bad, on_screen_text=bad
    )
    ctx.store.write_clip(run, spec, "key-9", hostile)
    event = next(e for e in ctx.events("vid-a") if e.label == bad)
    shown = ctx.selected_markdown(event.id, event.start_s)
    assert re.search(r"(?<!\\)(!\[|<img)", shown) is None and shown.count("\\!\\[x\\]") == 4


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/tmp/gradio/3f2a/holiday clip.mp4 has no video stream", "holiday clip.mp4 has no"),
        ("cannot read '/srv/my videos/lib/a.mp4'", "cannot read 'a.mp4'"),
        ("C:\\Users\\me\\v.mp4 is gone", "v.mp4 is gone"),
        (
            "upstream http://127.0.0.1:8000/api/paas/v4 said 500",
            "http://127.0.0.1:8000/api/paas/v4",
        ),
        ("a ratio of 1/2", "a ratio of 1/2"),
    ],
)
def test_public_text_shows_file_names_never_server_folders(text: str, shown: str) -> None:
    from ui.safety import public_text

    assert shown in public_text(text)
    assert "/tmp/" not in public_text(text) and "/srv/" not in public_text(text)


# -- credentials kept off the command line -----------------------------------------------------


def _serve_args(*argv: str) -> object:
    from videoidx.cli import build_parser

    return build_parser().parse_args(["serve", *argv])


def test_auth_file_gives_the_password_without_a_command_line_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from videoidx.cli.serve_cmd import serve_settings

    secret = tmp_path / "auth"
    secret.write_text("ana:s3cret-pass\n")
    secret.chmod(0o600)
    settings = serve_settings(_serve_args("--host", "0.0.0.0", "--auth-file", str(secret)))
    assert settings.ui.auth == "ana:s3cret-pass"
    assert capsys.readouterr().err == ""
    secret.chmod(0o644)
    serve_settings(_serve_args("--auth-file", str(secret)))
    assert "readable by other users" in capsys.readouterr().err


def test_auth_on_the_command_line_warns_that_ps_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from videoidx.cli.serve_cmd import serve_settings

    settings = serve_settings(_serve_args("--auth", "ana:s3cret-pass"))
    assert settings.ui.auth == "ana:s3cret-pass"
    err = capsys.readouterr().err
    assert "visible to other local users" in err and "--auth-file" in err


@pytest.mark.parametrize("content", [None, "no-colon\n", "ana:\n", "a:b\nc:d\n", "\n"])
def test_an_unreadable_or_malformed_auth_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    from videoidx.cli import main

    path = tmp_path / "auth"
    if content is not None:
        path.write_text(content)
        path.chmod(0o600)
    argv = ["serve", "--db", str(tmp_path / "x.duckdb"), "--host", "0.0.0.0"]
    code = main([*argv, "--auth-file", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "auth file" in err and "user:password" in err
    assert "ana" not in err and "c:d" not in err  # never quotes what the file holds
    assert not (tmp_path / "x.duckdb").exists()

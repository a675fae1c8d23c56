"""What ``videoidx demo`` prints last: a search that finds nothing says so, and the "next:"
commands carry the ``--db`` the user passed, so each one works when copied (after the demo
stops serving: its process holds the library until then, and the hint says so)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from videoidx.cli import main


# The demo transcribes its sample's speech and reads its slides (about 25 s of CPU): on a 2-core
# machine shared with other test suites that has taken over 300 s of wall time.
@pytest.mark.timeout(900)
def test_demo_says_no_hits_and_its_next_commands_work_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    monkeypatch.delenv("VIDEOIDX_DB", raising=False)
    monkeypatch.delenv("VIDEOIDX_DB_PATH", raising=False)
    db = tmp_path / "my library.duckdb"  # a space: the hint must quote it
    assert main(["demo", "--no-serve", "--db", str(db), "--query", "bunny"]) == 0
    out = capsys.readouterr().out
    assert "no hits for 'bunny'" in out
    assert "search 'bunny':" not in out  # no empty section

    hints = out.split("\nnext:\n", 1)[1].strip().splitlines()
    assert hints and all(shlex.split(h)[-2:] == ["--db", str(db)] for h in hints), hints
    # Run the store commands exactly as printed (QUERY filled in): they read the demo's library,
    # not ./videoidx.duckdb (which does not exist here).
    for hint in hints:
        argv = shlex.split(hint.replace("QUERY", "moving"))
        if argv[1] in {"search", "export"}:
            assert main(argv[1:]) == 0, hint
            assert capsys.readouterr().out.strip(), hint
    assert not (tmp_path / "videoidx.duckdb").exists()


def test_while_serving_the_hint_says_to_stop_the_demo_first() -> None:
    from videoidx.cli.demo_cmd import next_hints

    text = next_hints("abc", "lib.duckdb", serving=True)
    assert "stop it with Ctrl-C first" in text
    assert "videoidx search QUERY --db lib.duckdb" in text
    assert "Ctrl-C" not in next_hints("abc", None, serving=False)
    assert "--db" not in next_hints("abc", None, serving=False)

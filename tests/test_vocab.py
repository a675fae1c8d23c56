"""Status, stage, mode and engine are typed vocabularies, each defined once.

Checks: the stored strings did not change (no migration); the store hands back the
vocabulary's members for what it reads; settings accept the vocabulary only; and no module of
``videoidx/`` or ``ui/`` writes or compares a status, stage or mode against a bare string, so a
typo there is a type error instead of a branch that is silently never taken (the source is
read, not imported, as in ``test_core_names_no_adapter``). ``engine`` and ``sample_mode`` are
``Literal`` types, which mypy checks itself (``strict_equality`` makes ``== "keyframe"`` an
error), so the bare strings there are the typed form.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.storefix import analysis, clip, start, video_info
from ui.jobs import JobStatus
from videoidx.errors import ConfigError, StoreError
from videoidx.pipeline.progress import Stage
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.types import Usage
from videoidx.vocab import (
    ENGINES,
    SAMPLE_MODES,
    AnswerMode,
    ClipStatus,
    RunStatus,
)

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("status", "stage", "mode")
WORDS = {str(m) for vocab in (RunStatus, ClipStatus, AnswerMode, JobStatus, Stage) for m in vocab}


def test_the_stored_strings_are_unchanged() -> None:
    assert [str(s) for s in RunStatus] == [
        "pending", "running", "done", "partial", "failed", "cancelled", "stopped", "interrupted",
    ]  # fmt: skip
    assert [str(s) for s in ClipStatus] == ["done", "failed"]
    assert [str(s) for s in AnswerMode] == [
        "generated",
        "retrieved",
        "looked_again",
        "unanswerable",
    ]
    assert [str(s) for s in JobStatus] == [
        "queued", "running", "done", "partial", "failed", "cancelled", "stopped",
    ]  # fmt: skip
    assert SAMPLE_MODES == ("full", "keyframes") and ENGINES == ("local", "ray")
    # A finished run's status is a job's status and, but for partial, a progress stage.
    for s in (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.STOPPED):
        assert JobStatus(s) == Stage(s) == s


def test_the_store_reads_back_members(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.upsert_video(video_info("v"))
        run = start(store, "v")
        spec = clip("v", 0)
        store.write_clip(run, spec, "k0", analysis(spec), status=ClipStatus.FAILED, error="x")
        store.finish_run(run, RunStatus.PARTIAL, Usage())
        assert store.sql("SELECT status FROM index_runs") == [("partial",)]
        assert store.sql("SELECT status FROM clips") == [("failed",)]
        (summary,) = store.list_videos()
        assert summary.last_run_status is RunStatus.PARTIAL
        (stored,) = store.clips("v")
        assert stored.status is ClipStatus.FAILED
        # An import with a word outside the vocabulary is refused, not stored to fail reads.
        with pytest.raises(StoreError, match="status 'finished'"):
            store.import_rows(
                {"videos": [{"video_id": "w"}], "clips": [{"clip_id": "c", "status": "finished"}]}
            )
        assert [v.video_id for v in store.list_videos()] == ["v"]


@pytest.mark.parametrize(
    ("name", "good", "bad"), [("engine", "ray", "rya"), ("sample_mode", "keyframes", "keyframe")]
)
def test_settings_accept_the_vocabulary_only(name: str, good: str, bad: str) -> None:
    assert Settings().replace(**{name: good}).flat()[name] == good
    with pytest.raises(ConfigError, match=name):
        Settings().replace(**{name: bad})


def _field_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):  # job.previous_run_status() == "done"
        return _field_name(node.func)
    return None


def _is_word(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in WORDS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_word(e) for e in node.elts)
    if isinstance(node, ast.IfExp):
        return _is_word(node.body) or _is_word(node.orelse)
    return False


def _typed(name: str | None) -> bool:
    return name is not None and any(name == f or name.endswith("_" + f) for f in FIELDS)


def violations(rel: str, source: str) -> Iterator[str]:
    """Where ``source`` writes or compares a vocabulary field with a bare string."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_typed(_field_name(s)) for s in sides) and any(_is_word(s) for s in sides):
                yield f"{rel}:{node.lineno}: compares with a bare string"
        elif isinstance(node, ast.keyword) and _typed(node.arg) and _is_word(node.value):
            yield f"{rel}:{node.value.lineno}: passes {node.arg}= as a bare string"
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_typed(_field_name(t)) for t in targets) and _is_word(node.value):
                yield f"{rel}:{node.lineno}: assigns a bare string"
        elif isinstance(node, ast.Return) and node.value is not None and _is_word(node.value):
            yield f"{rel}:{node.lineno}: returns a bare string"


def test_the_core_uses_the_vocabularies() -> None:
    files = sorted(p for d in ("videoidx", "ui") for p in (ROOT / d).rglob("*.py"))
    found = [
        v for p in files for v in violations(p.relative_to(ROOT).as_posix(), p.read_text("utf-8"))
    ]
    assert not found, "use the vocabulary's member:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        'if r.status == "done":\n    pass\n',
        'ok = all(r.status == "done" for r in results)\n',
        'job.status = "runing" if x else "queued"\n',
        'VideoResult(path="p", status="failed")\n',
        'finished = [j for j in jobs if j.status not in ("queued", "running")]\n',
        'if job.previous_run_status() == "done":\n    pass\n',
        'def _final_status(self):\n    return "partial"\n',
    ],
)
def test_the_check_catches_bare_strings(snippet: str) -> None:
    assert list(violations("videoidx/probe.py", snippet)), snippet


def test_the_check_passes_members() -> None:
    ok = (
        "if r.status == RunStatus.DONE:\n    pass\n"
        "job.status = JobStatus.RUNNING\n"
        'VideoResult(path="p", status=RunStatus.FAILED)\n'
        'label = "done" if n else "queued"\n'
    )
    assert not list(violations("videoidx/probe.py", ok))

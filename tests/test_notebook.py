"""``notebooks/bulk_indexing.ipynb`` runs top to bottom: offline, and against the fake provider.

The notebook is executed with nbclient in a kernel started from this test's own Python (a kernel
spec written to a temporary ``JUPYTER_PATH``: nothing is registered on the machine), pointed at a
folder of two short videos and a temporary store through its ``VIDEOIDX_NB_*`` variables.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fake_provider import FakeProvider
from tests.test_pipeline import KEY, clip_calls
from videoidx.store import Store

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = ROOT / "notebooks" / "bulk_indexing.ipynb"
KERNEL = "videoidx-test"


def run_notebook(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    media: Path,
    env: dict[str, str],
    *,
    cwd: Path | None = None,
) -> Any:
    """Run the notebook in ``cwd`` (a fresh folder by default), writing its outputs there unless
    ``env`` says otherwise (an empty ``VIDEOIDX_NB_OUT`` leaves the notebook's default)."""
    jupyter = tmp_path / "jupyter"
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("VIDEOIDX_CONFIG", os.devnull)
    monkeypatch.setenv("VIDEOIDX_NB_MEDIA", str(media))
    # The kernel imports the videoidx of this checkout, not whichever one is installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("VIDEOIDX_NB_OUT", str(work))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=KERNEL, resources={"metadata": {"path": str(cwd or work)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return nb


def outputs_text(nb: Any) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def has_image(nb: Any) -> bool:
    return any(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def test_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_notebook_runs_offline(
    small_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "nb.duckdb"
    nb = run_notebook(tmp_path, monkeypatch, small_videos[0].parent, {"VIDEOIDX_NB_DB": str(db)})
    text = outputs_text(nb)
    assert "2 videos in" in text and "indexer: local" in text
    assert text.count("done") >= 2
    assert has_image(nb)
    with Store.open(db, read_only=True) as store:
        assert len(store.list_videos()) == 2
    exports = list((tmp_path / "work" / "exports").iterdir())
    assert {p.suffix for p in exports} == {".json", ".vtt"}


@pytest.mark.slow
def test_notebook_runs_against_the_fake_provider(
    small_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "glm.duckdb"
    with FakeProvider("zai") as server:
        env = {
            "VIDEOIDX_NB_DB": str(db),
            "VIDEOIDX_INDEXER": "glm",
            "VIDEOIDX_PROVIDER": "zai",
            "VIDEOIDX_BASE_URL": server.base_url,
            "VIDEOIDX_MODEL": server.model,
            "ZAI_API_KEY": KEY,
        }
        nb = run_notebook(tmp_path, monkeypatch, small_videos[0].parent, env)
        sent = len(clip_calls(server))
    assert "indexer: glm" in outputs_text(nb)
    with Store.open(db, read_only=True) as store:
        clips = store.sql("SELECT count(*) FROM clips WHERE status = 'done'")[0][0]
        labels = [row[0] for row in store.sql("SELECT label FROM events")]
    assert sent == clips >= 2  # every clip analysed by the provider, once
    assert any("screen" in label for label in labels), labels  # the fake's answers were stored


def repository_files() -> dict[str, tuple[int, int]]:
    """Every file of the checkout with its modification time and size; bytecode aside (Python
    writes it for whoever imports the package, the test included)."""
    return {
        str(p.relative_to(ROOT)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in ROOT.rglob("*")
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }


def widget_views(nb: Any) -> int:
    return sum(
        "application/vnd.jupyter.widget-view+json" in out.get("data", {})
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


@pytest.mark.slow
def test_notebook_run_from_notebooks_writes_nothing_into_the_repository(
    small_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened as the README says (from the checkout, in notebooks/), with no VIDEOIDX_NB_*
    output settings: the store and the exports go to the temporary folder, and the progress
    bars are widgets (tqdm.auto with ipywidgets), not text with an "IProgress not found"."""
    pytest.importorskip("ipywidgets")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the kernel's tempfile.gettempdir()
    monkeypatch.delenv("VIDEOIDX_NB_DB", raising=False)
    before = repository_files()
    nb = run_notebook(
        tmp_path,
        monkeypatch,
        small_videos[0].parent,
        {"VIDEOIDX_NB_OUT": "", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=ROOT / "notebooks",
    )
    after = repository_files()
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    out = temp / "videoidx-notebook"
    text = outputs_text(nb)
    assert f"outputs go to {out}" in text
    assert (out / "bulk_demo.duckdb").is_file()
    assert {p.suffix for p in (out / "exports").iterdir()} == {".json", ".vtt"}
    assert "IProgress not found" not in text
    assert widget_views(nb) >= 3  # the batch's bar and one per video


@pytest.mark.slow
def test_notebook_runs_unchanged_while_a_server_holds_the_store(
    small_videos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `videoidx serve` on the notebook's store, every cell still runs: indexing, search,
    the SQL cell (on a copy the server makes) and the exports go through the server."""
    import shutil

    from tests.test_api_serve import start_server, stop, wait_for_record
    from videoidx.client import Client

    served = tmp_path / "served"
    media = served / "videos"  # under the server's folder: a client may have it indexed
    media.mkdir(parents=True)
    for video in small_videos:
        shutil.copy(video, media / video.name)
    db = served / "library.duckdb"
    proc = start_server(served, db)
    try:
        record = wait_for_record(db, proc)
        nb = run_notebook(tmp_path, monkeypatch, media, {"VIDEOIDX_NB_DB": str(db)})
        with Client(record.url, token=record.token) as client:
            videos = client.videos()
            jobs = client.jobs()
    finally:
        stop(proc)
    text = outputs_text(nb)
    assert text.count("is held by `videoidx serve`") == 1, text  # said once, in one process
    assert len(videos) == 2 and {j["source"] for j in jobs} == {"api"}
    # The SQL cell read the copy: both videos, each with its events.
    sql_cell = next(c for c in nb.cells if c.cell_type == "code" and "open_sql" in c.source)
    table = sql_cell.outputs[0]["data"]["text/plain"]
    assert all(v.title in table for v in videos), table
    exports = list((tmp_path / "work" / "exports").iterdir())
    assert {p.suffix for p in exports} == {".json", ".vtt"}
    assert not list(Path(tempfile_dir()).glob("videoidx-sql-*")), "the SQL copy was left behind"


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()

"""Serve the page: open the store, check who may connect, start the indexing queue, launch.

Used by ``videoidx serve`` and ``videoidx demo``. The store is opened here, in the server process,
because DuckDB lets one process hold a file for writing: the page reads through the same store the
indexing queue writes to (see ``ui.jobs``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ui.context import PageContext
from ui.jobs import Job, JobQueue
from ui.player import PlayerFiles
from ui.safety import Exposure, check_exposure
from videoidx import Settings, Store

# No usage pings from a tool that promises to run offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@dataclass
class Server:
    """A running page; ``close`` stops it and the indexing queue, then closes the store."""

    ctx: PageContext
    exposure: Exposure
    url: str
    blocks: Any
    """The launched ``gr.Blocks``; ``blocks.block_thread()`` serves until Ctrl-C."""

    def close(self) -> None:
        self.ctx.jobs.close()
        self.blocks.close()
        self.ctx.store.close()


def upload_dir_for(settings: Settings) -> Path:
    if settings.ui.upload_dir:
        return Path(settings.ui.upload_dir)
    db = Path(settings.db_path)
    return (db.parent if str(db) != ":memory:" else Path.cwd()) / "videoidx-uploads"


def make_context(settings: Settings, store: Store | None = None) -> PageContext:
    """Everything the page needs, without starting a web server (tests use this directly)."""
    store = store or Store.open(settings.db_path)
    upload_dir = upload_dir_for(settings).resolve()
    upload_dir.mkdir(parents=True, exist_ok=True)
    player = PlayerFiles(upload_dir / "player-copies", ffmpeg_path=settings.media.ffmpeg_path)

    def prepare_player(job: Job) -> None:
        # Make the browser copy now, so the first view of the video does not wait for it.
        info = store.video(job.result.video_id) if job.result and job.result.video_id else None
        if info is not None:
            player.prepare(info)

    jobs = JobQueue(store, workers=settings.ui.index_workers, on_finished=prepare_player)
    return PageContext(settings, store, jobs, player, upload_dir)


def serve(settings: Settings, *, block: bool = True, quiet: bool = False) -> Server:
    """Start the page; with ``block`` it runs until Ctrl-C and then shuts down cleanly."""
    import gradio as gr

    from ui.app import build_app
    from ui.style import CSS

    ui = settings.ui
    exposure = check_exposure(ui.host, ui.port, share=ui.share, auth=ui.auth)
    ctx = make_context(settings)
    blocks = build_app(ctx)
    blocks.queue(default_concurrency_limit=8)
    blocks.launch(
        server_name=ui.host,
        server_port=ui.port,
        share=ui.share,
        auth=exposure.auth,
        max_file_size=f"{ui.upload_max_mb}mb",
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
        theme=gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"),
        css=CSS,
    )
    ctx.player.serve_with(blocks)
    server = Server(ctx, exposure, f"{exposure.url}/", blocks)
    if not quiet:
        print(f"videoidx: {exposure.banner()}", flush=True)
    if block:
        try:
            blocks.block_thread()
        finally:
            server.close()
    return server

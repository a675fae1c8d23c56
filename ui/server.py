"""Serve the page: open the store, check who may connect, start the indexing queue, launch.

Used by ``videoidx serve`` and ``videoidx demo``. The store is opened here, in the server process,
because DuckDB lets one process hold a file for writing: the page reads through the same store the
indexing queue writes to (see ``videoidx.service.jobs``). The HTTP API (``/api/v1``) is mounted
on the same server and shares that store and queue, and a record beside the library file tells
other processes (the CLI, the notebook) to go through it (``videoidx.service.record``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ui.context import PageContext
from ui.jobs import Job, JobQueue
from ui.player import PlayerFiles
from ui.safety import Exposure, check_exposure
from videoidx import Settings, Store
from videoidx.service.api import PREFIX, Service, create_api
from videoidx.service.record import ServerRecord, remove_record, write_record

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
    service: Service | None = None
    record_written: bool = field(default=False)

    @property
    def api_url(self) -> str:
        return f"{self.url.rstrip('/')}{PREFIX}"

    def close(self) -> None:
        if self.record_written and self.service is not None:
            remove_record(self.ctx.settings.db_path, self.service.token)
            self.record_written = False
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
    # A long-lived process: worth the in-memory vector copy its settings allow.
    store.vector_cache.max_bytes = settings.embedding.vector_copy_mb * 1024 * 1024
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


def make_service(ctx: PageContext, credentials: tuple[str, str] | None) -> Service:
    """The API's view of the page's context: the same store, the same one job queue."""
    token = ctx.settings.ui.api_token or secrets.token_urlsafe(32)
    service = Service(
        ctx.settings, ctx.store, ctx.jobs, ctx.path_rule, token, credentials, ctx.upload_dir
    )

    service.on_deleted.append(ctx.player.withdraw)
    return service


def mount_api(blocks: Any, service: Service) -> None:
    """Put the API in front of Gradio's own routes on the launched server's FastAPI app."""
    from starlette.routing import Mount

    app = blocks.app
    # First in the list: Gradio's catch-all routes must not answer for /api/v1.
    app.router.routes.insert(0, Mount(PREFIX, app=create_api(service)))


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
    service = make_service(ctx, exposure.auth)
    mount_api(blocks, service)
    server = Server(ctx, exposure, f"{exposure.url}/", blocks, service)
    if str(settings.db_path) != ":memory:":
        write_record(
            ServerRecord(
                url=_loopback_api(server, ui.host),
                pid=os.getpid(),
                token=service.token,
                db_path=str(Path(settings.db_path).resolve()),
            )
        )
        server.record_written = True
    if not quiet:
        print(f"videoidx: {exposure.banner()}; API {server.api_url}", flush=True)
    if block:
        _stop_on_sigterm()
        try:
            blocks.block_thread()
        finally:
            server.close()
    return server


def _loopback_api(server: Server, host: str) -> str:
    """The API address local processes use: loopback when the server listens on every
    address (``0.0.0.0`` or ``::`` cannot be connected to)."""
    if host in ("0.0.0.0", "::", "[::]"):
        port = server.url.rstrip("/").rsplit(":", 1)[-1]
        return f"http://127.0.0.1:{port}{PREFIX}"
    return server.api_url


def _stop_on_sigterm() -> None:
    """Let ``kill PID`` shut down as Ctrl-C does: the record beside the library is removed and
    the store closed, instead of the process vanishing mid-write."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)

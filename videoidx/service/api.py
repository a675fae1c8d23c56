"""The HTTP API of a serving process, mounted beside the page on the same server (``/api/v1``).

The process that serves the page owns the library file (DuckDB lets one process hold it), so
every other client (the CLI, the notebook, other programs) reads and indexes through here. JSON
in and out, described at ``/api/v1/openapi.json``; an error is ``{"error": ..., "type": ...}``
holding the very message the CLI prints for it, and the client raises the same exception type.

Safety is the page's: the server binds loopback unless it has a password, and then every route
needs it (HTTP Basic, the page's ``user:password``) or the bearer token. A client can index only
files under the operator's allowed folders (:mod:`videoidx.service.paths`) and can change no
provider setting, so no request can send the operator's key to an address of its choosing.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

import videoidx
from videoidx.errors import (
    ConfigError,
    KeyDestinationError,
    StoreError,
    UploadTooLargeError,
    VideoIdxError,
    VideoNotFoundError,
)
from videoidx.pipeline.embed import query_embedder
from videoidx.qa.records import Answer
from videoidx.service import wire
from videoidx.service.jobs import Job, JobQueue
from videoidx.service.paths import PathNotAllowedError, PathRule
from videoidx.service.uploads import UploadWriter, resolve_upload, safe_name, too_large
from videoidx.settings import Settings, clip_length_settings
from videoidx.store import SearchHit, Store, StoredEvent, VideoSummary
from videoidx.store import export as exports
from videoidx.types import VideoInfo

if TYPE_CHECKING:
    from videoidx.pipeline.bulk import Unmatched

PREFIX = "/api/v1"
LONG_POLL_MAX_S = 30.0
HIDDEN_SETTINGS = frozenset({"auth", "api_token"})
"""Never shown: the page's password and the API's token (keys live in the environment only)."""


@dataclass
class Service:
    """What the API's handlers share with the page: one store, one job queue, one rule."""

    settings: Settings
    store: Store
    jobs: JobQueue
    rule: PathRule
    token: str
    credentials: tuple[str, str] | None = None
    """The page's ``user:password``; when set, every route needs it or the token."""
    upload_dir: Path | None = None
    """Where uploads land (the page's upload folder); None: this API takes no uploads."""
    on_deleted: list[Callable[[VideoInfo], None]] = field(default_factory=list)
    """Hooks run after a video leaves the library (the page withdraws its player files)."""

    def delete(self, video_id: str) -> None:
        info = self.store.require_video(video_id)
        if not self.store.delete_video(video_id):  # deleted meanwhile by another request
            raise StoreError(f"video {video_id} is not in the store; `videoidx videos` lists them")
        self.jobs.forget_video(video_id)
        for hook in self.on_deleted:
            hook(info)


# -- what goes over the wire -----------------------------------------------------------------


class JobOut(BaseModel):
    job_id: str
    batch_id: str
    path: str
    title: str
    status: str
    source: str
    error: str
    submitted_at: float
    progress: dict[str, Any] | None
    result: dict[str, Any] | None


class BatchOut(BaseModel):
    batch_id: str
    version: int
    jobs: list[JobOut]
    unmatched: list[dict[str, Any]] = Field(default_factory=list)
    """Arguments (folders, globs) that named no video, as failed results with the reason,
    each with ``position``: where it stood among the arguments' videos."""
    active: bool


class JobsOut(BaseModel):
    version: int
    jobs: list[JobOut]


class IndexIn(BaseModel):
    """A batch of files on the server's disk (files, folders or globs under allowed folders),
    or of files a client uploaded (their upload ids). Only these knobs: a client cannot point
    the provider (and its key) anywhere."""

    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(default_factory=list, max_length=10_000)
    uploads: list[str] = Field(default_factory=list, max_length=10_000)
    clip_seconds: float | None = Field(default=None, gt=0, le=3600)
    max_cost_usd: float | None = Field(default=None, ge=0)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=4000)
    video_ids: list[str] | None = None
    look_again: bool | None = None
    thinking: bool | None = None


class UploadOut(BaseModel):
    upload_id: str
    """Name it in ``POST /jobs`` (``uploads``) to index the file."""
    name: str
    size_bytes: int


class CancelOut(BaseModel):
    stopping: int


class ErrorOut(BaseModel):
    error: str
    type: str


def job_json(job: Job) -> JobOut:
    # An upload lives in a server folder: show its name (the page's) or upload id (a
    # client's), never the folders.
    if job.source == "api":
        path = str(job.path)
    elif job.source == "upload":
        path = f"{job.path.parent.name}/{job.path.name}"
    else:
        path = job.path.name
    return JobOut(
        job_id=job.job_id,
        batch_id=job.batch_id,
        path=path,
        title=job.title,
        status=job.status.value,
        source=job.source,
        error=job.error,
        submitted_at=job.submitted_at,
        progress=wire.encode(job.progress) if job.progress is not None else None,
        result=wire.encode(job.result) if job.result is not None else None,
    )


def status_for(exc: VideoIdxError) -> int:
    if isinstance(exc, VideoNotFoundError):
        return 404
    if isinstance(exc, PathNotAllowedError | KeyDestinationError):
        return 403
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, StoreError) and (
        "not in store" in str(exc) or "not in the store" in str(exc)
    ):
        return 404
    return 400


# -- the app -----------------------------------------------------------------------------------


def create_api(service: Service) -> FastAPI:
    """The API as its own FastAPI app, to mount at :data:`PREFIX` on the page's server."""
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (400, 401, 403, 404, 413)
    }
    api = FastAPI(
        title="videoidx",
        version=videoidx.__version__,
        description="The library of a running `videoidx serve`: videos, index jobs, search, "
        "ask, export. Errors carry the message the CLI prints.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        # Every route is behind the same guard (the description holds no secret).
        dependencies=[Depends(_guard(service))],
        responses=errors,
    )

    @api.exception_handler(VideoIdxError)
    def _error(_request: Request, exc: VideoIdxError) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc), "type": type(exc).__name__}, status_code=status_for(exc)
        )

    _install_auth_errors(api)

    @api.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": videoidx.__version__, "busy": service.jobs.busy()}

    @api.get("/videos", response_model=list[VideoSummary])
    def videos() -> list[VideoSummary]:
        return service.store.list_videos()

    @api.get("/videos/{video_id}", response_model=VideoInfo)
    def video(video_id: str) -> VideoInfo:
        return service.store.require_video(video_id)

    @api.delete("/videos/{video_id}")
    def delete(video_id: str) -> dict[str, str]:
        service.delete(video_id)
        return {"deleted": video_id}

    @api.get("/videos/{video_id}/timeline", response_model=list[StoredEvent])
    def timeline(video_id: str) -> list[StoredEvent]:
        video(video_id)
        return service.store.events(video_id)

    @api.get("/videos/{video_id}/transcript")
    def transcript(video_id: str) -> list[dict[str, Any]]:
        return exports.speech_segments(service.store, video_id)

    @api.get(
        "/videos/{video_id}/export",
        responses={
            200: {"content": {"application/json": {}, "text/plain": {}, "application/zip": {}}}
        },
    )
    def export(
        video_id: str,
        format: Literal["json", "vtt", "srt", "chapters", "parquet"] = "json",
        speech: bool = False,
    ) -> Any:
        store = service.store
        if format == "parquet":
            # One Parquet file per table, zipped: the files are the client's to keep, not the
            # server's (nothing is left beside the library).
            return Response(
                exports.parquet_zip(store, video_id),
                media_type="application/zip",
                headers={"Content-Disposition": f'attachment; filename="{video_id}-parquet.zip"'},
            )
        out = exports.export_as(store, video_id, format, speech=speech)
        return out if format == "json" else PlainTextResponse(out)

    @api.get("/search", response_model=list[SearchHit])
    def search(
        q: Annotated[str, Query(max_length=2000)] = "",
        video: Annotated[list[str] | None, Query()] = None,
        start_s: Annotated[float | None, Query(alias="from", allow_inf_nan=False)] = None,
        end_s: Annotated[float | None, Query(alias="to", allow_inf_nan=False)] = None,
        character: str | None = None,
        label: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 20,
        mode: Literal["keyword", "semantic", "hybrid"] | None = None,
        kind: Annotated[list[Literal["event", "speech", "screen_text"]] | None, Query()] = None,
    ) -> list[SearchHit]:
        # The query is embedded here, by the server's own embedder: the one that made the
        # library's vectors (a client's model could not be compared with them).
        embedder = None if mode == "keyword" else query_embedder(service.settings)
        return videoidx.search(
            service.store,
            q,
            mode=mode,
            kinds=kind,
            embedder=embedder,
            video_ids=video,
            start_s=start_s,
            end_s=end_s,
            character=character,
            label=label,
            limit=limit,
        )

    @api.post("/ask", response_model=Answer)
    def ask(body: AskIn) -> Answer:
        answer: Answer = videoidx.ask(
            body.question,
            store=service.store,
            settings=service.settings,
            video_ids=body.video_ids,
            look_again=body.look_again,
            thinking=body.thinking,
        )
        return answer

    @api.post(
        "/uploads",
        response_model=UploadOut,
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def upload(
        request: Request, name: Annotated[str, Query(min_length=1, max_length=1000)]
    ) -> UploadOut:
        """One video file, its bytes as the request body (not a form: no copy in memory or in
        a temp folder), kept under the server's upload folder; index it by naming the returned
        ``upload_id`` in ``POST /jobs``."""
        if service.upload_dir is None:
            raise ConfigError(
                "this server takes no uploads; name files on its disk in POST /jobs instead"
            )
        max_mb = service.settings.ui.upload_max_mb
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_mb * 1024 * 1024:
            raise too_large(safe_name(name), int(declared), max_mb)  # refused before a byte
        writer = UploadWriter(service.upload_dir, name, max_mb=max_mb)
        try:
            async for chunk in request.stream():
                # A plain write: one chunk (tens of KB) to a local disk takes microseconds.
                writer.write(chunk)
        except UploadTooLargeError:
            raise  # the writer removed what it had
        except BaseException:
            writer.abort()  # the client went away or the disk filled: keep nothing half-sent
            raise
        stored = writer.finish()
        return UploadOut(upload_id=stored.upload_id, name=stored.name, size_bytes=stored.size_bytes)

    @api.get("/jobs", response_model=JobsOut)
    def jobs() -> JobsOut:
        version = service.jobs.version
        return JobsOut(version=version, jobs=[job_json(j) for j in service.jobs.snapshot()])

    @api.post("/jobs", response_model=BatchOut, status_code=201)
    def submit(body: IndexIn) -> BatchOut:
        return submit_batch(service, body)

    @api.get("/jobs/{batch_id}", response_model=BatchOut)
    def follow(
        batch_id: str,
        since: Annotated[int, Query(ge=-1)] = -1,
        wait_s: Annotated[float, Query(ge=0, le=LONG_POLL_MAX_S)] = 0.0,
    ) -> BatchOut:
        """The batch now, or, with ``since`` (a version) and ``wait_s``, once anything changed
        after that version (a long poll: the client's progress follows the engine's events)."""
        if not service.jobs.batch(batch_id):
            raise VideoNotFoundError(f"no index job {batch_id}; GET /api/v1/jobs lists them")
        if since >= 0 and wait_s > 0:
            service.jobs.wait_for_change(since, wait_s)
        return batch_json(service.jobs, batch_id)

    @api.post("/jobs/{batch_id}/cancel", response_model=CancelOut)
    def cancel(batch_id: str) -> CancelOut:
        jobs = service.jobs.batch(batch_id)
        if not jobs:
            raise VideoNotFoundError(f"no index job {batch_id}; GET /api/v1/jobs lists them")
        return CancelOut(stopping=service.jobs.cancel([j.job_id for j in jobs]))

    @api.get(
        "/snapshot",
        responses={200: {"content": {"application/octet-stream": {}}}},
        response_class=Response,
    )
    def snapshot() -> Response:
        """The whole library as a DuckDB file, a consistent copy as of now: what a client's
        SQL reads while this server holds the file (``videoidx.open_sql``)."""
        import shutil
        import tempfile

        from starlette.background import BackgroundTask
        from starlette.responses import FileResponse

        folder = Path(tempfile.mkdtemp(prefix="videoidx-snapshot-"))
        try:
            copy = service.store.copy_to(folder / "library.duckdb")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(
            copy,
            media_type="application/octet-stream",
            filename="library.duckdb",
            # Sent, then gone: the copy is the client's, not a second library on the server.
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @api.get("/settings")
    def settings() -> dict[str, Any]:
        return safe_settings(service.settings)

    return api


def batch_json(jobs: JobQueue, batch_id: str, unmatched: Sequence[Any] = ()) -> BatchOut:
    version = jobs.version  # read before the jobs: a change in between is seen next poll
    batch = jobs.batch(batch_id)
    return BatchOut(
        batch_id=batch_id,
        version=version,
        jobs=[job_json(j) for j in batch],
        unmatched=list(unmatched),
        active=any(j.active for j in batch),
    )


def submit_batch(service: Service, body: IndexIn) -> BatchOut:
    """Check every path against the allowed folders, expand folders and globs (or find the
    uploads), queue them as one batch of the one queue (the page shows it too)."""
    if bool(body.paths) == bool(body.uploads):
        raise ConfigError(
            "name files on the server (paths) or uploaded files (uploads) in one job, "
            "one of the two"
        )
    skipped: list[tuple[int, Unmatched]] = []
    if body.uploads:
        if service.upload_dir is None:
            raise ConfigError("this server takes no uploads; name files on its disk instead")
        upload_dir = service.upload_dir
        paths = [resolve_upload(upload_dir, u) for u in body.uploads]
    else:
        paths, skipped = service.rule.expand(body.paths)
    unmatched = [{"position": i, "result": wire.encode(e.result())} for i, e in skipped]
    settings = service.settings
    if body.clip_seconds is not None:
        settings = settings.replace(**clip_length_settings(body.clip_seconds, settings.media))
    if body.max_cost_usd is not None:
        cap = settings.pipeline.max_cost_usd
        # A client may lower the operator's cap, never raise it.
        settings = settings.replace(
            max_cost_usd=body.max_cost_usd if cap is None else min(cap, body.max_cost_usd)
        )
    if not paths:
        return BatchOut(
            batch_id="", version=service.jobs.version, jobs=[], unmatched=unmatched, active=False
        )
    jobs = service.jobs.submit(paths, settings, source="upload" if body.uploads else "api")
    return batch_json(service.jobs, jobs[0].batch_id, unmatched)


def safe_settings(settings: Settings) -> dict[str, Any]:
    """Every setting a client may see: no password, no token; the library by file name."""
    flat = {k: v for k, v in settings.flat().items() if k not in HIDDEN_SETTINGS}
    flat["db_path"] = Path(settings.db_path).name
    for name in ("upload_dir", "allowed_folders"):
        flat.pop(name, None)  # the server's folders are the operator's business
    return flat


def _guard(service: Service) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        _same_origin(request)
        if service.credentials is None and request_is_local(request):
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(
            value.strip().encode(), service.token.encode()
        ):
            return
        if scheme.lower() == "basic" and service.credentials is not None:
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            want_user, want_password = service.credentials
            if secrets.compare_digest(user.encode(), want_user.encode()) & secrets.compare_digest(
                password.encode(), want_password.encode()
            ):
                return
        raise _Unauthorized()

    return check


def _same_origin(request: Request) -> None:
    """Refuse what a web page on another site makes a visitor's browser send: a request whose
    ``Origin`` is not this server (a browser always sends it cross-site). Otherwise any site
    open in the operator's browser could queue jobs or delete videos on a loopback server."""
    from urllib.parse import urlsplit

    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise _CrossSite()


def request_is_local(request: Request) -> bool:
    """A loopback server without a password is open to this machine only, like the page."""
    from ipaddress import ip_address

    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"


class _Unauthorized(VideoIdxError):
    pass


class _CrossSite(VideoIdxError):
    pass


def _install_auth_errors(api: FastAPI) -> None:
    @api.exception_handler(_CrossSite)
    def _cross_site(_request: Request, _exc: _CrossSite) -> JSONResponse:
        return JSONResponse(
            {
                "error": "requests from another site's page are refused; call the API from a "
                "program, or from the page this server serves",
                "type": "CrossSiteError",
            },
            status_code=403,
        )

    @api.exception_handler(_Unauthorized)
    def _unauthorized(_request: Request, _exc: _Unauthorized) -> JSONResponse:
        return JSONResponse(
            {
                "error": "this server needs credentials: send Authorization: Bearer TOKEN (the "
                "token is in the record beside the library file) or the page's user:password",
                "type": "AuthError",
            },
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer, Basic realm="videoidx"'},
        )

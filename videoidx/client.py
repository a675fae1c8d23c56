"""``videoidx.Client``: the library of a running ``videoidx serve``, with the local API's verbs.

Notebook code reads the same against a file or a server: ``videos``, ``search``, ``ask``,
``index_many``, ``export``, ``delete`` return the library's own types (:class:`SearchHit`,
:class:`VideoSummary`, :class:`Answer`, :class:`VideoResult` ...), and an error raises the
same :class:`~videoidx.errors.VideoIdxError` subclass with the same message as in-process.
``index_many`` submits one batch to the server's job queue (the page shows it) and feeds the
server's job events to the same ``progress`` callback the local engine calls. Files on the
server's disk are named by path; a server on another machine is sent the files first
(``index_many(..., upload=True)``, or :meth:`Client.upload`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from videoidx import errors
from videoidx.errors import VideoIdxError
from videoidx.service import wire
from videoidx.store import SearchHit, StoredEvent, VideoSummary
from videoidx.store import export as exports
from videoidx.types import VideoInfo

# The pipeline and Q&A types load on first use: a routed ``videoidx search`` must start as fast
# as an in-process one, and importing the pipeline costs about a second.
if TYPE_CHECKING:
    from videoidx.pipeline.batch import ResultCallback
    from videoidx.pipeline.job import VideoResult
    from videoidx.pipeline.progress import ProgressCallback
    from videoidx.qa.records import Answer

T = TypeVar("T")
POLL_WAIT_S = 10.0
UPLOAD_CHUNK_BYTES = 1024 * 1024
"""Read and sent this much at a time: an upload of any size holds one chunk in memory."""


class ServerUnreachableError(VideoIdxError):
    """The server did not answer (stopped, or the address is wrong)."""


class ServerAnswerError(VideoIdxError):
    """The server answered with an error that is not one of videoidx's (a proxy, a bug)."""


class Client:
    """A served library over HTTP. ``url`` is the page's address (``http://127.0.0.1:7860``)
    or its API's (``.../api/v1``); ``token`` the bearer token (``auth`` a ``(user, password)``
    pair works too)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith("/api/v1") else f"{base}/api/v1"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env off: a proxy from the environment must not see the token of a local server.
        self._http = httpx.Client(
            base_url=self.url, headers=headers, auth=auth, timeout=timeout_s, trust_env=False
        )

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def set_timeout(self, timeout_s: float) -> None:
        self._http.timeout = httpx.Timeout(timeout_s)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if r.status_code >= 400:
            raise _error_of(r)
        return r

    def _unreachable(self, exc: Exception) -> ServerUnreachableError:
        return ServerUnreachableError(
            f"the videoidx server at {self.url} did not answer ({type(exc).__name__}); "
            "is `videoidx serve` still running?"
        )

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(method, path, **kwargs).json()

    # -- the library's verbs -------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self._json("GET", "/health"))

    def videos(self) -> list[VideoSummary]:
        return [wire.decode(VideoSummary, v) for v in self._json("GET", "/videos")]

    def video(self, video_id: str) -> VideoInfo:
        return wire.decode(VideoInfo, self._json("GET", f"/videos/{video_id}"))

    def events(self, video_id: str) -> list[StoredEvent]:
        """The video's timeline, in time order."""
        return [
            wire.decode(StoredEvent, e) for e in self._json("GET", f"/videos/{video_id}/timeline")
        ]

    def transcript(self, video_id: str) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/videos/{video_id}/transcript"))

    def delete(self, video_id: str) -> None:
        self._call("DELETE", f"/videos/{video_id}")

    def search(
        self,
        query: str,
        *,
        video_ids: Sequence[str] | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        character: str | None = None,
        label: str | None = None,
        limit: int = 20,
        mode: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        if (video_ids is not None and not video_ids) or (kinds is not None and not kinds):
            return []  # as in-process: an empty list of videos or kinds matches nothing
        params: dict[str, Any] = {"q": query, "limit": limit}
        optional = {
            "video": list(video_ids) if video_ids is not None else None,
            "from": start_s,
            "to": end_s,
            "character": character,
            "label": label,
            "mode": mode,
            "kind": list(kinds) if kinds is not None else None,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        return [wire.decode(SearchHit, h) for h in self._json("GET", "/search", params=params)]

    def ask(
        self,
        question: str,
        *,
        video_ids: Sequence[str] | None = None,
        look_again: bool | None = None,
        thinking: bool | None = None,
    ) -> Answer:
        from videoidx.qa.records import Answer

        body = {
            "question": question,
            "video_ids": list(video_ids) if video_ids is not None else None,
            "look_again": look_again,
            "thinking": thinking,
        }
        return wire.decode(Answer, self._json("POST", "/ask", json=body))

    def export(self, video_id: str, format: str = "json", *, speech: bool = False) -> Any:
        """The timeline document (``json``, a dict) or the text of ``vtt``, ``srt``,
        ``chapters``, as ``videoidx.store.export`` makes them."""
        r = self._call(
            "GET", f"/videos/{video_id}/export", params={"format": format, "speech": speech}
        )
        return r.json() if format == "json" else r.text

    def export_parquet(self, video_id: str, out_dir: str | Path) -> list[Path]:
        """One Parquet file per table of the video's rows, written into ``out_dir`` here (the
        server zips them; nothing is left on its disk). Returns the files written."""
        r = self._call("GET", f"/videos/{video_id}/export", params={"format": "parquet"})
        return exports.unpack_parquet_zip(r.content, out_dir)

    def snapshot(self, target: str | Path) -> Path:
        """The whole library as a new DuckDB file ``target`` here: a consistent copy the
        server makes as of now (for SQL; the served file itself cannot be opened)."""
        out = Path(target)
        try:
            with self._http.stream("GET", "/snapshot") as r:
                if r.status_code >= 400:
                    r.read()
                    raise _error_of(r)
                with out.open("xb") as handle:
                    for chunk in r.iter_bytes(UPLOAD_CHUNK_BYTES):
                        handle.write(chunk)
        except httpx.TransportError as exc:
            out.unlink(missing_ok=True)  # no half copy
            raise self._unreachable(exc) from None
        return out

    def settings(self) -> dict[str, Any]:
        return dict(self._json("GET", "/settings"))

    # -- index jobs ----------------------------------------------------------------------------

    def upload(self, path: str | Path) -> str:
        """Send one local file to the server (streamed); returns its upload id, which
        :meth:`submit` (``uploads=``) indexes. The server's ``upload_max_mb`` caps the size."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise errors.VideoNotFoundError(
                f"{file} does not exist; check the path"
                if not file.exists()
                else f"{file} is not a file; give the path of a video file"
            )
        size_bytes = file.stat().st_size
        with file.open("rb") as handle:
            body = self._json(
                "POST",
                "/uploads",
                params={"name": file.name},
                content=_chunks(handle),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size_bytes),
                },
            )
        return str(body["upload_id"])

    def jobs(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/jobs")["jobs"])

    def submit(
        self,
        paths: Sequence[str | Path] = (),
        *,
        uploads: Sequence[str] = (),
        clip_seconds: float | None = None,
        max_cost_usd: float | None = None,
    ) -> dict[str, Any]:
        """Queue files, folders or globs on the server's disk, or uploaded files (their upload
        ids), as one batch; returns it."""
        body: dict[str, Any] = {"paths": [_server_path(p) for p in paths], "uploads": list(uploads)}
        if clip_seconds is not None:
            body["clip_seconds"] = clip_seconds
        if max_cost_usd is not None:
            body["max_cost_usd"] = max_cost_usd
        return dict(self._json("POST", "/jobs", json=body))

    def batch(self, batch_id: str, *, since: int = -1, wait_s: float = 0.0) -> dict[str, Any]:
        params = {"since": since, "wait_s": wait_s}
        return dict(self._json("GET", f"/jobs/{batch_id}", params=params))

    def cancel(self, batch_id: str) -> int:
        return int(self._json("POST", f"/jobs/{batch_id}/cancel")["stopping"])

    def index_many(
        self,
        paths_or_glob: str | Path | Sequence[str | Path],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_result: ResultCallback | None = None,
        clip_seconds: float | None = None,
        max_cost_usd: float | None = None,
        upload: bool = False,
    ) -> list[VideoResult]:
        """Index on the server, as :func:`videoidx.index_many` does locally: one batch, one
        result per video in argument order, ``progress`` fed from the server's job events.
        Setting ``cancel`` (or Ctrl-C) cancels the batch on the server too.

        ``upload``: the paths (files, folders, globs) are on THIS machine; their videos are
        sent to the server first, and results and progress still name the local paths."""
        from videoidx.pipeline.job import VideoResult

        items = [paths_or_glob] if isinstance(paths_or_glob, str | Path) else list(paths_or_glob)
        knobs = {"clip_seconds": clip_seconds, "max_cost_usd": max_cost_usd}
        local: dict[str, str] = {}  # upload id -> the local path the caller named
        if upload:
            batch, local = self._upload_batch(items, knobs)
        else:
            batch = self.submit(items, clip_seconds=clip_seconds, max_cost_usd=max_cost_usd)
        unmatched = batch.get("unmatched", [])  # said once, at submission
        try:
            batch = self._follow(batch, progress, cancel, on_result, local)
        except KeyboardInterrupt:
            if batch.get("batch_id"):
                self.cancel(batch["batch_id"])
            raise
        results = [_result_of(j, local) for j in batch["jobs"]]
        for u in unmatched:
            results.insert(int(u["position"]), wire.decode(VideoResult, u["result"]))
        return results

    def _upload_batch(
        self, items: Sequence[str | Path], knobs: dict[str, float | None]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Upload the videos ``items`` name here and submit them as one batch. What names no
        video, or no file, is a failed result in its place, as in a local run."""
        from videoidx.pipeline.bulk import Unmatched, expand_inputs, videos_of
        from videoidx.pipeline.job import VideoResult
        from videoidx.vocab import RunStatus

        entries = expand_inputs([os.path.expanduser(str(i)) for i in items])
        videos_of(entries)  # raises, as locally, when nothing at all names a video
        local: dict[str, str] = {}
        failed: list[dict[str, Any]] = []
        for position, entry in enumerate(entries):
            if isinstance(entry, Unmatched):
                result = entry.result()
            elif not entry.is_file():
                reason = (
                    "does not exist; check the path"
                    if not entry.exists()
                    else ("is not a file; give the path of a video file")
                )
                result = VideoResult(
                    path=str(entry),
                    title=entry.stem,
                    status=RunStatus.FAILED,
                    error=f"{entry} {reason}",
                )
            else:
                local[self.upload(entry)] = str(entry)
                continue
            failed.append({"position": position, "result": wire.encode(result)})
        if not local:
            batch: dict[str, Any] = {"batch_id": "", "jobs": [], "active": False, "version": 0}
        else:
            batch = self.submit(
                uploads=list(local),
                clip_seconds=knobs["clip_seconds"],
                max_cost_usd=knobs["max_cost_usd"],
            )
        return {**batch, "unmatched": failed}, local

    def _follow(
        self,
        batch: dict[str, Any],
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        on_result: ResultCallback | None,
        local: dict[str, str],
    ) -> dict[str, Any]:
        from videoidx.pipeline.progress import Progress

        seen: dict[str, Any] = {}
        settled: set[str] = set()
        cancelled = False
        while True:
            for job in batch["jobs"]:
                p = job.get("progress")
                if progress is not None and p is not None and seen.get(job["job_id"]) != p:
                    seen[job["job_id"]] = p
                    # The path this client named (an upload's local file): the callback
                    # keys on it.
                    path = local.get(job["path"], job["path"])
                    progress(wire.decode(Progress, {**p, "path": path}))
                if job.get("result") is not None and job["job_id"] not in settled:
                    settled.add(job["job_id"])
                    if on_result is not None:
                        on_result(_result_of(job, local))
            if not batch.get("active"):
                return batch
            if cancel is not None and cancel.is_set() and not cancelled:
                self.cancel(batch["batch_id"])
                cancelled = True
            wait = 0.5 if cancel is not None else POLL_WAIT_S
            batch = self.batch(batch["batch_id"], since=int(batch["version"]), wait_s=wait)


def _server_path(p: str | Path) -> str:
    """An absolute path: the server resolves nothing relative to a client's directory."""
    text = str(p)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        return text if Path(text).is_absolute() else str(Path.cwd() / text)
    return str(Path(text).expanduser().absolute())


def _chunks(handle: Any) -> Iterator[bytes]:
    while chunk := handle.read(UPLOAD_CHUNK_BYTES):
        yield chunk


def _result_of(job: dict[str, Any], local: dict[str, str] | None = None) -> VideoResult:
    from videoidx.pipeline.job import VideoResult

    path = (local or {}).get(job["path"], job["path"])
    if job.get("result") is not None:
        return wire.decode(VideoResult, {**job["result"], "path": path})
    return VideoResult(path=path, title=job["title"], error=job.get("error", ""))


def _error_of(r: httpx.Response) -> VideoIdxError:
    """The exception the server raised, rebuilt from its JSON error (same type, same text)."""
    try:
        body = r.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict) or "error" not in body:
        detail = body.get("detail") if isinstance(body, dict) else None
        return ServerAnswerError(
            f"the videoidx server answered {r.status_code}: {detail or r.text[:200]}"
        )
    cls = getattr(errors, str(body.get("type", "")), None)
    if isinstance(cls, type) and issubclass(cls, VideoIdxError):
        try:
            return cls(body["error"])
        except TypeError:
            pass
    if body.get("type") == "PathNotAllowedError":
        from videoidx.service.paths import PathNotAllowedError

        return PathNotAllowedError(body["error"])
    return VideoIdxError(body["error"])


def wait_until_up(url: str, *, token: str | None = None, timeout_s: float = 60.0) -> Client:
    """A client once the server answers (tests, scripts that start a server)."""
    deadline = time.monotonic() + timeout_s
    client = Client(url, token=token)
    while True:
        try:
            client.health()
            return client
        except ServerUnreachableError:
            if time.monotonic() > deadline:
                client.close()
                raise
            time.sleep(0.2)

"""Uploaded files: size cap, safe names, and one directory per upload batch.

Both ways in land files in ``<upload_dir>/<batch>/<safe name>``, so two people uploading
``video.mp4`` at once never collide (a peer's complaint) and a hostile name (``../../x``,
control characters, a 5,000-char name) cannot escape the directory or break a path:

* the page: Gradio hands over its own temporary copy of each upload, which
  :func:`accept_uploads` moves in;
* the API: a client streams a file's bytes (``POST /api/v1/uploads``), which
  :class:`UploadWriter` writes as they arrive (bounded memory, the cap checked on every chunk),
  and later names it in an index job by its upload id ``<batch>/<safe name>``
  (:func:`resolve_upload`). The id never shows the server's folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videoidx.errors import ConfigError, UploadTooLargeError, VideoNotFoundError

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+")
_BATCH_RE = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class StoredUpload:
    """A file a client uploaded, kept until indexed (and after: the player plays it)."""

    upload_id: str
    """``<batch>/<safe name>``: what a client names in an index job."""
    name: str
    size_bytes: int
    path: Path


class UploadWriter:
    """One streamed upload being written: :meth:`write` each chunk, then :meth:`finish`.

    Over the cap, or on :meth:`abort` (the client went away, the disk filled), the partial file
    and its batch folder are removed, so a failed upload leaves nothing behind to be indexed.
    """

    def __init__(self, upload_dir: Path, name: str, *, max_mb: int) -> None:
        self.name = safe_name(name)
        self.max_mb = max_mb
        self.limit_bytes = max_mb * 1024 * 1024
        self.size_bytes = 0
        self._batch = uuid.uuid4().hex[:12]
        self._folder = upload_dir / self._batch
        self._folder.mkdir(parents=True, exist_ok=False)
        self.path = self._folder / self.name
        self._file = self.path.open("xb")

    def write(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self.limit_bytes:
            self.abort()
            raise too_large(self.name, self.size_bytes, self.max_mb, at_least=True)
        self._file.write(chunk)

    def finish(self) -> StoredUpload:
        self._file.close()
        if self.size_bytes == 0:
            self.abort()
            raise ConfigError(f"{self.name}: the upload was empty; send the file's bytes")
        return StoredUpload(f"{self._batch}/{self.name}", self.name, self.size_bytes, self.path)

    def abort(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._folder.rmdir()


def too_large(
    name: str, size_bytes: int, max_mb: int, *, at_least: bool = False
) -> UploadTooLargeError:
    """The cap's message; ``at_least`` when the upload was cut off before its end."""
    size = f"{'at least ' if at_least else ''}{size_bytes / 1e6:.0f} MB"
    return UploadTooLargeError(
        f"{name} is {size}, over the upload cap of {max_mb} MB; index it on the server with "
        "`videoidx index FILE` or raise the upload_max_mb setting"
    )


def resolve_upload(upload_dir: Path, upload_id: str) -> Path:
    """The file of an upload id, or :class:`VideoNotFoundError`. Only ids this module made
    pass: a hex batch folder and a name :func:`safe_name` leaves as it is, so no id reaches
    outside ``upload_dir`` (and symlinks are resolved before the final check)."""
    batch, slash, name = upload_id.partition("/")
    valid = bool(slash) and _BATCH_RE.fullmatch(batch) is not None and safe_name(name) == name
    path = upload_dir / batch / name if valid else None
    if (
        path is None
        or not path.is_file()
        or not path.resolve().is_relative_to(upload_dir.resolve())
    ):
        raise VideoNotFoundError(
            f"no upload {upload_id[:200]!r} on this server; upload the file first "
            "(POST /api/v1/uploads) and name the upload_id it returned"
        )
    return path


def safe_name(name: str) -> str:
    """A file name that is safe on every OS and keeps the original's look where it can."""
    base = Path(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:12]
    stem = stem[: MAX_NAME_CHARS - len(ext) - 1] or "video"
    return f"{stem}.{ext}" if ext else stem


def accept_uploads(
    temp_paths: Sequence[str | Path],
    upload_dir: Path,
    *,
    max_mb: int,
    original_names: Sequence[str] | None = None,
) -> list[Path]:
    """Move Gradio's temporary uploads into a fresh batch directory and return the new paths.

    Raises :class:`ConfigError` (nothing moved) when a file is over the cap, so one oversize file
    in a batch is reported instead of half a batch silently going missing.
    """
    limit_bytes = max_mb * 1024 * 1024
    for p in temp_paths:
        size = Path(p).stat().st_size
        if size > limit_bytes:
            raise too_large(Path(p).name, size, max_mb)
    batch = upload_dir / uuid.uuid4().hex[:12]
    batch.mkdir(parents=True, exist_ok=True)
    names = original_names or [Path(p).name for p in temp_paths]
    out: list[Path] = []
    taken: set[str] = set()
    for src, name in zip(temp_paths, names, strict=True):
        target_name = _unique(safe_name(name), taken)
        target = batch / target_name
        _move(Path(src), target)
        out.append(target)
    return out


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in taken:
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem or name}-{n}{dot}{ext}" if dot else f"{name}-{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


def _move(src: Path, target: Path) -> None:
    """A hard link when the upload is on the same disk (instant), else a copy."""
    try:
        os.link(src, target)
    except OSError:
        shutil.copyfile(src, target)

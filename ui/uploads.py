"""Uploaded files: size cap, safe names, and one directory per upload batch.

Gradio hands over its own temporary copy of each upload. We move that into
``<upload_dir>/<batch>/<safe name>``, so two people uploading ``video.mp4`` at once never
collide (a peer's complaint) and a hostile name (``../../x``, control characters, a 5,000-char
name) cannot escape the directory or break a path.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path

from videoidx import ConfigError

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+")


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
            raise ConfigError(
                f"{Path(p).name} is {size / 1e6:.0f} MB, over the upload cap of {max_mb} MB; "
                "index it with `videoidx index FILE` or raise the upload_max_mb setting"
            )
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

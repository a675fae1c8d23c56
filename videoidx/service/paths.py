"""Which files on the server a client may have indexed: only those under operator-allowed folders.

A client of the API (or a visitor of the page) names paths on the server's disk. Without a rule
it could have any readable file decoded, or learn which files exist. So every path, folder and
glob is resolved (symlinks and ``..`` followed) and must fall under one of the allowed folders:
the ``allowed_folders`` setting, or by default the library's folder, the server's working
directory and the upload folder.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from videoidx.errors import ConfigError
from videoidx.settings import Settings

if TYPE_CHECKING:
    from videoidx.pipeline.bulk import Unmatched


class PathNotAllowedError(ConfigError):
    """A client named a path outside the folders the operator allows."""


def allowed_folders(settings: Settings, upload_dir: Path) -> tuple[Path, ...]:
    """The resolved folders a client may index from (see the module docstring)."""
    listed = settings.ui.allowed_folders
    if listed and listed.strip():
        names = [n.strip() for n in listed.split(",") if n.strip()]
        return tuple(Path(os.path.expanduser(n)).resolve() for n in names)
    db = settings.db_path
    library = Path(db).resolve().parent if db != ":memory:" else Path.cwd().resolve()
    return tuple(dict.fromkeys([library, Path.cwd().resolve(), upload_dir.resolve()]))


@dataclass(frozen=True)
class PathRule:
    """Checks client-named paths against the allowed folders."""

    folders: tuple[Path, ...]

    def allows(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(f) for f in self.folders)

    def check(self, item: str) -> str:
        """``item`` (a file, a folder or a glob) if everything it can name is allowed, else
        :class:`PathNotAllowedError`. The message names the path as the client gave it and
        never lists the server's folders."""
        if not item.strip():
            raise PathNotAllowedError("an empty path was given; name a video file or a folder")
        expanded = os.path.expanduser(item)
        base = _static_prefix(expanded) if _is_glob(expanded) else Path(expanded)
        named = [base] + [Path(m) for m in glob.glob(expanded, recursive=True)]
        if not base.is_absolute():
            raise PathNotAllowedError(
                f"{item!r} is not an absolute path; name files on the server by their full path"
            )
        if not all(self.allows(p) for p in named):
            raise PathNotAllowedError(
                f"{item!r} is outside the folders this server lets clients index; ask the "
                "operator to add its folder to the allowed_folders setting"
            )
        return item

    def check_all(self, items: Sequence[str]) -> list[str]:
        if not items:
            raise PathNotAllowedError("no paths were given; name video files or folders")
        return [self.check(i) for i in items]

    def expand(self, items: Sequence[str]) -> tuple[list[Path], list[tuple[int, Unmatched]]]:
        """The video files ``items`` name, every one allowed, and the arguments that named
        none (with their place among the files), as ``index_many`` reports them. Raises when
        anything leads outside, or when nothing at all names a video."""
        from videoidx.pipeline.bulk import expand_inputs, videos_of

        entries = expand_inputs(self.check_all(items))
        for entry in entries:
            # A folder's file may be a symlink out of it: the check is on what will be read.
            if isinstance(entry, Path) and not self.allows(entry):
                raise PathNotAllowedError(
                    f"{entry.name!r} leads outside the folders this server lets clients index; "
                    "ask the operator to add its folder to the allowed_folders setting"
                )
        paths = videos_of(entries)
        unmatched = [(i, e) for i, e in enumerate(entries) if not isinstance(e, Path)]
        return paths, unmatched


def _is_glob(text: str) -> bool:
    return not Path(text).exists() and any(ch in text for ch in "*?[")


def _static_prefix(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard: everything it can match is below."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")

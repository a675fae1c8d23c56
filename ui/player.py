"""What the page's video player loads: the original file when a browser can play it as is, else
a browser-friendly copy made once and kept.

Times in the store are absolute seconds from the first displayed frame. The player must agree,
or every seek lands beside its event; so a file that starts late (an edit list, a delayed first
frame) gets a copy that starts at zero, like one in a container or codec browsers do not play
(MKV, MOV, HEVC, MPEG-4 Part 2).

Files are served where they lie, never copied into Gradio's cache, and only the files the player
shows are served. Gradio needs two rules for that, and both are given one exact file at a time:
``gr.set_static_paths`` (served in place: without it Gradio hashes and copies a 2 GB file into its
cache on every view) and the launched app's ``allowed_paths`` (without it ``gr.Video`` refuses any
file outside the server's working directory and the temp dir: "Cannot move ... to the gradio cache
dir", the bulk case of a library indexed from the command line). A folder is never registered,
so the other files beside a video stay unreachable; a deleted video's files are withdrawn.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from videoidx import ClipSpec, VideoIdxError, VideoInfo, cut_clip
from videoidx.store import Store
from videoidx.store.export import to_webvtt

log = logging.getLogger(__name__)

BROWSER_CONTAINERS = {".mp4", ".m4v", ".webm"}
BROWSER_CODECS = {"h264", "vp8", "vp9", "av1"}
COPY_LONG_SIDE_PX = 1280


def browser_plays(info: VideoInfo) -> bool:
    """True when the file plays in Chromium as is, with time 0 at the first displayed frame."""
    return (
        Path(info.path).suffix.lower() in BROWSER_CONTAINERS
        and info.codec.lower() in BROWSER_CODECS
        and abs(info.start_offset_s) < 1e-3
    )


class PlayerFiles:
    """Finds or makes the file the player shows for a video, and exposes only those files."""

    def __init__(self, copies_dir: Path, *, ffmpeg_path: str | None = None) -> None:
        self.copies_dir = copies_dir
        self.ffmpeg_path = ffmpeg_path
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._exposed: set[Path] = set()
        self._blocks: Any = None

    def path_for(self, info: VideoInfo) -> Path | None:
        """The playable file, or None when the source is gone or cannot be converted."""
        source = Path(info.path)
        if not source.is_file():
            return None
        if browser_plays(info):
            return self._expose(source)
        with self._lock_for(info.video_id):
            copy = self.copies_dir / f"{info.video_id}.mp4"
            if not copy.is_file():
                try:
                    self._make_copy(info, copy)
                except VideoIdxError as exc:
                    log.warning("no playable copy of %s: %s", source.name, exc)
                    return None
        return self._expose(copy)

    def prepare(self, info: VideoInfo) -> None:
        """Make the copy ahead of the first view (called when indexing finishes)."""
        self.path_for(info)

    def _make_copy(self, info: VideoInfo, copy: Path) -> None:
        partial = copy.with_suffix(".partial.mp4")
        whole = ClipSpec(video_id=info.video_id, index=0, start_s=0.0, end_s=info.duration_s)
        cut_clip(
            info,
            whole,
            partial,
            mode="encode",
            long_side_px=COPY_LONG_SIDE_PX,
            ffmpeg_path=self.ffmpeg_path,
        )
        partial.replace(copy)  # a crash mid-encode never leaves a half file under the real name

    def _lock_for(self, video_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(video_id, threading.Lock())

    def captions_for(self, info: VideoInfo, store: Store) -> Path | None:
        """What was said in the video as a WebVTT file (the one exporter's subtitles), written
        beside the player copies and served as that one file; None when nothing was said."""
        vtt = to_webvtt(store, info.video_id, speech=True)
        if "-->" not in vtt:
            return None
        path = self.copies_dir / f"{info.video_id}.captions.vtt"
        with self._lock_for(info.video_id):
            if not path.is_file() or path.read_text(encoding="utf-8") != vtt:
                self.copies_dir.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                partial.write_text(vtt, encoding="utf-8")
                partial.replace(path)  # a reader never sees half a file
        return self._expose(path)

    def serve_with(self, blocks: Any) -> None:
        """Let the launched ``blocks`` hand the player's files to ``gr.Video`` (call after
        ``launch``, which resets ``allowed_paths``)."""
        with self._guard:
            self._blocks = blocks
            for path in self._exposed:
                self._allow(path)

    def withdraw(self, info: VideoInfo) -> None:
        """Stop serving a video's files (it left the library); the files themselves stay."""
        from gradio.data_classes import _StaticFiles

        paths = {
            Path(info.path).resolve(),
            (self.copies_dir / f"{info.video_id}.mp4").resolve(),
            (self.copies_dir / f"{info.video_id}.captions.vtt").resolve(),
        }
        with self._guard:
            for path in paths & self._exposed:
                self._exposed.discard(path)
                # Gradio has no public way to unregister a static path; the list is plain data.
                while path in _StaticFiles.all_paths:
                    _StaticFiles.all_paths.remove(path)
                allowed = self._blocks.allowed_paths if self._blocks is not None else []
                while str(path) in allowed:
                    allowed.remove(str(path))

    def _expose(self, path: Path) -> Path:
        import gradio as gr

        resolved = path.resolve()
        with self._guard:
            if resolved not in self._exposed:
                gr.set_static_paths([resolved])
                self._exposed.add(resolved)
                self._allow(resolved)
        return resolved

    def _allow(self, path: Path) -> None:
        if self._blocks is not None and str(path) not in self._blocks.allowed_paths:
            self._blocks.allowed_paths.append(str(path))

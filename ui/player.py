"""What the page's video player loads: the original file when a browser can play it as is, else
a browser-friendly copy made once and kept.

Times in the store are absolute seconds from the first displayed frame. The player must agree,
or every seek lands beside its event; so a file that starts late (an edit list, a delayed first
frame) gets a copy that starts at zero, like one in a container or codec browsers do not play
(MKV, MOV, HEVC, MPEG-4 Part 2).

Files are served where they lie, never copied into Gradio's cache: each playable path is
registered with ``gr.set_static_paths`` (one file at a time, so only library videos are exposed).
Without that, Gradio would hash and copy a 2 GB file on every view.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from videoidx import ClipSpec, VideoIdxError, VideoInfo, cut_clip

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

    def _expose(self, path: Path) -> Path:
        import gradio as gr

        resolved = path.resolve()
        with self._guard:
            if resolved not in self._exposed:
                gr.set_static_paths([resolved])
                self._exposed.add(resolved)
        return resolved

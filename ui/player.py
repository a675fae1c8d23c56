"""What the page's video player loads: the original file when a browser can play it as is, else
a browser-friendly copy made once, in the background, and kept.

Times in the store are absolute seconds from the first displayed frame. The player must agree,
or every seek lands beside its event. :func:`copy_kind` decides, cheapest first:

* ``original``: a container and codec Chromium plays (MP4/WebM with H.264, VP8/9, AV1) whose
  first frame starts less than one frame late: nobody can see an offset shorter than a frame.
* ``remux``: a codec Chromium plays in a container it does not (H.264 in MKV or MOV), on time:
  the video stream is copied into an MP4 (seconds, no quality loss; audio becomes AAC, which is
  cheap and plays everywhere).
* ``encode``: a codec browsers do not play (HEVC, MPEG-4 Part 2, ...), or a first frame a frame
  or more late: a whole H.264 re-encode that starts at zero.

A copy is made on a background thread, one at a time, so neither a page load nor a click ever
waits for it: :meth:`PlayerFiles.path_for` answers at once (None while the copy is being made)
and :meth:`PlayerFiles.state` says which it is, for the job card and the Timeline.

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
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from videoidx import ClipSpec, VideoIdxError, VideoInfo, cut_clip
from videoidx.media.ffmpeg_bin import run_ffmpeg
from videoidx.media.probe import stream_facts
from videoidx.store import Store
from videoidx.store.export import to_webvtt

log = logging.getLogger(__name__)

BROWSER_CONTAINERS = {".mp4", ".m4v", ".webm"}
BROWSER_CODECS = {"h264", "vp8", "vp9", "av1"}
# Codecs an MP4 carries that Chromium plays from it (VP8 in MP4 it does not).
MP4_COPY_CODECS = {"h264", "vp9", "av1"}
COPY_LONG_SIDE_PX = 1280
FALLBACK_FPS = 30.0

CopyKind = Literal["original", "remux", "encode"]


class CopyState(StrEnum):
    """Where a video's browser file stands (a vocabulary, like the run and job statuses)."""

    READY = "ready"
    """The player has a file: the original, or a finished copy."""
    NEEDED = "needed"
    """A copy is needed and nobody asked for it yet."""
    PREPARING = "preparing"
    """The copy is being made."""
    FAILED = "failed"
    """The copy could not be made."""
    MISSING = "missing"
    """The source file is gone."""

    @property
    def pending(self) -> bool:
        """A copy is on its way (or will be once asked for): the page waits for it."""
        return self in (CopyState.NEEDED, CopyState.PREPARING)


def one_frame_s(info: VideoInfo) -> float:
    """How long one frame shows: the smallest start offset a viewer could notice."""
    fps = info.fps_nominal or info.fps_avg or FALLBACK_FPS
    return 1.0 / fps


def copy_kind(info: VideoInfo) -> CopyKind:
    """The cheapest way to a file Chromium plays with time 0 at the first displayed frame."""
    codec = info.codec.lower()
    on_time = abs(info.start_offset_s) < one_frame_s(info)
    if not on_time:
        return "encode"
    if Path(info.path).suffix.lower() in BROWSER_CONTAINERS and codec in BROWSER_CODECS:
        return "original"
    return "remux" if codec in MP4_COPY_CODECS else "encode"


def browser_plays(info: VideoInfo) -> bool:
    """True when the file plays in Chromium as is, with time 0 at the first displayed frame."""
    return copy_kind(info) == "original"


class PlayerFiles:
    """Finds or makes the file the player shows for a video, and exposes only those files."""

    def __init__(self, copies_dir: Path, *, ffmpeg_path: str | None = None) -> None:
        self.copies_dir = copies_dir
        self.ffmpeg_path = ffmpeg_path
        self._guard = threading.Lock()
        self._exposed: set[Path] = set()
        self._blocks: Any = None
        self._making: dict[str, threading.Thread] = {}
        self._failed: set[str] = set()
        # One copy at a time: a copy is CPU-bound and the page shares the machine with indexing.
        self._one_at_a_time = threading.Semaphore(1)

    def copy_path(self, info: VideoInfo) -> Path:
        return self.copies_dir / f"{info.video_id}.mp4"

    def state(self, info: VideoInfo) -> CopyState:
        """Where the player's file for ``info`` stands; never waits."""
        if not Path(info.path).is_file():
            return CopyState.MISSING
        if browser_plays(info) or self.copy_path(info).is_file():
            return CopyState.READY
        with self._guard:
            if info.video_id in self._making:
                return CopyState.PREPARING
            return CopyState.FAILED if info.video_id in self._failed else CopyState.NEEDED

    def path_for(self, info: VideoInfo) -> Path | None:
        """The playable file now, or None: the source is gone, the copy failed, or it is being
        made (started here if nobody asked for it yet; :meth:`state` tells which)."""
        source = Path(info.path)
        if not source.is_file():
            return None
        if browser_plays(info):
            return self._expose(source)
        copy = self.copy_path(info)
        if copy.is_file():
            return self._expose(copy)
        self.prepare(info)
        return None

    def prepare(self, info: VideoInfo) -> None:
        """Start making the copy in the background (when indexing finishes, or on first view);
        returns at once. A copy that failed is not retried until the page restarts."""
        if browser_plays(info) or self.copy_path(info).is_file():
            return
        with self._guard:
            if info.video_id in self._making or info.video_id in self._failed:
                return
            worker = threading.Thread(
                target=self._copy_in_background,
                args=(info,),
                name=f"player-copy-{info.video_id[:8]}",
                daemon=True,  # an unfinished copy is a .partial file; it never blocks exit
            )
            self._making[info.video_id] = worker
        worker.start()

    def preparing_ids(self) -> frozenset[str]:
        """The videos whose copy is being made now (the job cards say so)."""
        with self._guard:
            return frozenset(self._making)

    def wait(self, info: VideoInfo, timeout_s: float | None = None) -> CopyState:
        """Wait for a copy being made (scripts and tests); returns the state after."""
        with self._guard:
            worker = self._making.get(info.video_id)
        if worker is not None:
            worker.join(timeout_s)
        return self.state(info)

    def _copy_in_background(self, info: VideoInfo) -> None:
        try:
            with self._one_at_a_time:
                self._make_copy(info, self.copy_path(info))
        except VideoIdxError as exc:
            log.warning("no playable copy of %s: %s", Path(info.path).name, exc)
            with self._guard:
                self._failed.add(info.video_id)
        finally:
            with self._guard:
                self._making.pop(info.video_id, None)

    def _make_copy(self, info: VideoInfo, copy: Path) -> None:
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_suffix(".partial.mp4")
        if copy_kind(info) == "remux":
            self._remux(info, partial)
        else:
            whole = ClipSpec(video_id=info.video_id, index=0, start_s=0.0, end_s=info.duration_s)
            cut_clip(
                info,
                whole,
                partial,
                mode="encode",
                long_side_px=COPY_LONG_SIDE_PX,
                ffmpeg_path=self.ffmpeg_path,
            )
        partial.replace(copy)  # a crash mid-copy never leaves a half file under the real name

    def _remux(self, info: VideoInfo, out: Path) -> None:
        """Copy the video stream the index describes into an MP4; audio to AAC."""
        stream = stream_facts(info.path, self.ffmpeg_path).stream_index
        audio = ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"] if info.has_audio else []
        run_ffmpeg(
            ["-y", "-loglevel", "error", "-i", info.path, "-map", f"0:{stream}", "-c:v", "copy",
             *audio, "-movflags", "+faststart", "-f", "mp4", str(out)],
            what=f"copying {Path(info.path).name} into an MP4 for the browser",
            ffmpeg_path=self.ffmpeg_path,
        )  # fmt: skip

    def captions_for(self, info: VideoInfo, store: Store) -> Path | None:
        """What was said in the video as a WebVTT file (the one exporter's subtitles), written
        beside the player copies and served as that one file; None when nothing was said."""
        vtt = to_webvtt(store, info.video_id, speech=True)
        if "-->" not in vtt:
            return None
        path = self.copies_dir / f"{info.video_id}.captions.vtt"
        with self._guard:  # one writer of the captions file at a time
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
            self.copy_path(info).resolve(),
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

"""One decode pass for shot detection, clip planning and frame sampling together.

``scan_video`` decodes the file once at the sampling size (``media.decode``). Every frame's
analysis planes go to the :class:`~videoidx.media.shots.ShotDetector`; only frames that may be
sampled are kept: the fill grid and keyframes (known before decoding) and shot starts (kept from
a short ring buffer when the detector, a few frames later, decides that a frame starts a shot).
Because the clip plan is greedy (``media.plan``), a clip is final once the decode has passed its
decision window; the scanner then samples it, yields it and forgets its frames. Memory stays
bounded by about one clip's worth of kept frames, whatever the video's length.

With ``text_long_side_px`` set (a run that reads on-screen text), the pass decodes at that larger
size instead: the model's frames are scaled down from it when encoded, and each clip also gets
the text reader's frames (``scan.text_frames_of(clip)``, see ``media.sample``). Shot detection
then scores analysis pictures scaled from the larger picture, which can move a borderline cut.
With ``picture_fps`` set, each clip also gets those analysis pictures at that rate
(``scan.pictures_of(clip)``, see ``media.pictures``), so an indexer that measures the picture
need not decode the clip again.

Iterate a :class:`Scan` for ``(clip, frames)`` pairs; once exhausted, ``scan.cuts`` and
``scan.clips`` hold the complete cut list and plan. The public entry points that decode
(``scan_video``, ``sample_frames``, ``sample_clip``, ``read_frames``, ``detect_shots``) live here,
on top of the pure choices in ``media.sample`` and ``media.shots``, which import nothing back.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from videoidx.errors import CorruptVideoError, DamagedFramesError
from videoidx.media.decode import DecodeReport, FrameBatch, frame_index, iter_frames
from videoidx.media.ffmpeg_bin import ffmpeg_exe
from videoidx.media.pictures import PictureTrack
from videoidx.media.plan import plan_clips
from videoidx.media.sample import (
    Candidate,
    choose_frames,
    clip_frame_range,
    finish_clip,
    finish_text_frames,
    grid_frames,
    output_size_px,
)
from videoidx.media.shots import MIN_SHOT_S, ShotDetector
from videoidx.settings import MediaSettings
from videoidx.types import ClipPictures, ClipSpec, Frame, ShotCut, VideoInfo

SKIP_LOOP_FILTER = True
"""Decode the scan pass without the in-loop deblocking filter (``-skip_loop_filter all``).

It saves about a seventh of the decode's CPU. Measured on the benchmark file, the shared
media and the generated shot cases: the very same cuts, and sampled 448 px frames within
34-52 dB PSNR of the filtered decode (median 36-52 dB per file), below what a viewer or a
vision model at that size can see. ``read_frames`` (display size) keeps the filter.
"""


class Scan:
    """A one-pass scan of a video; iterate it for ``(clip, frames)`` in time order.

    With ``clips`` given, those clips are sampled (no planning) using the given ``cuts`` as shot
    starts; otherwise shots are detected (unless ``sample_mode`` is ``keyframes``) and clips
    planned on the fly.
    """

    def __init__(
        self,
        info: VideoInfo,
        settings: MediaSettings,
        *,
        clips: Sequence[ClipSpec] | None = None,
        cuts: Sequence[ShotCut] | None = None,
    ) -> None:
        self.info = info
        self.settings = settings
        self.keyframes_only = settings.sample_mode == "keyframes"
        self.fixed_clips = sorted(clips, key=lambda c: c.start_s) if clips is not None else None
        self.detect = clips is None and cuts is None and not self.keyframes_only
        self.cuts: list[ShotCut] = list(cuts or [])
        self.clips: list[ClipSpec] = []
        self.size = output_size_px(info.width_px, info.height_px, settings.frame_long_side_px)
        self.text_size: tuple[int, int] | None = None
        if settings.text_long_side_px > 0:
            self.text_size = output_size_px(
                info.width_px, info.height_px, settings.text_long_side_px
            )
        # One decode serves both: at the larger of the two sizes (never beyond the video's own).
        self.decode_size = max(self.size, self.text_size or self.size, key=lambda s: s[0] * s[1])
        self._text: dict[int, list[Frame]] = {}
        # Small pictures for an indexer that measures them; a keyframes-only pass has too few.
        self._track = (
            PictureTrack(settings.picture_fps)
            if settings.picture_fps > 0 and not self.keyframes_only
            else None
        )
        self._pictures: dict[int, ClipPictures] = {}

    def pictures_of(self, clip: ClipSpec) -> ClipPictures | None:
        """``clip``'s small pictures, once, asked for right after it was yielded (only the
        latest clip's are kept); None without ``picture_fps`` or in keyframes mode."""
        return self._pictures.pop(clip.index, None)

    def text_frames_of(self, clip: ClipSpec) -> tuple[Frame, ...]:
        """The text reader's frames of ``clip``, once, asked for right after it was yielded
        (only the latest clip's are kept); () without ``text_long_side_px``."""
        return tuple(self._text.pop(clip.index, ()))

    def cuts_in(self, clip: ClipSpec) -> tuple[ShotCut, ...]:
        """The cuts found so far inside ``clip`` (all of them, once the clip has been yielded)."""
        return tuple(c for c in self.cuts if clip.start_s <= c.time_s < clip.end_s)

    def __iter__(self) -> Iterator[tuple[ClipSpec, list[Frame]]]:
        info, m = self.info, self.settings
        exe = ffmpeg_exe(m)
        index = frame_index(info, exe)
        times, keys = index.times_s, index.keyframes
        if self.fixed_clips is not None and not self.fixed_clips:
            return
        wanted = set(keys.tolist())
        if not self.keyframes_only:
            wanted |= set(grid_frames(times, m.frame_max_gap_s / 2).tolist())
            wanted |= {c.frame for c in self.cuts}
        detector = (
            ShotDetector(info.fps_nominal, threshold=m.shot_threshold) if self.detect else None
        )
        delay_s = (detector.lookahead + 2) / max(info.fps_nominal, 1.0) if detector else 0.0
        ring: deque[_LazyCandidate] = deque(maxlen=(detector.lookahead + 4) if detector else 1)
        store: dict[int, Candidate] = {}
        state = _EmitState()
        start_s = self.fixed_clips[0].start_s if self.fixed_clips else 0.0
        damage: list[DecodeReport] = []
        for batch in iter_frames(
            info,
            *self.decode_size,
            keyframes_only=self.keyframes_only,
            start_s=start_s,
            ffmpeg_path=exe,
            report=damage,
            skip_loop_filter=SKIP_LOOP_FILTER,
        ):
            new_cuts = (
                detector.push_batch(batch.indices, batch.times_s, batch.analysis)
                if detector
                else []
            )
            if self._track is not None:
                self._track.add(batch)
            for k, idx in enumerate(batch.indices.tolist()):
                if idx in wanted:
                    store[idx] = Candidate(
                        idx, float(batch.times_s[k]), batch.thumb(k), batch.rgb(k)
                    )
                elif detector:
                    ring.append(_LazyCandidate(batch, k))
            self._keep_cut_frames(new_cuts, store, ring)
            safe_t = float(batch.times_s[-1]) - delay_s
            yield from self._emit(state, store, times, keys, safe_t, final=False)
            if self.fixed_clips is not None and state.emitted == len(self.fixed_clips):
                return  # the given clips are done: stop decoding (ffmpeg is killed on close)
        if detector:
            self._keep_cut_frames(detector.finish(), store, ring)
        yield from self._emit(state, store, times, keys, math.inf, final=True)
        if damage:
            # Every readable clip went out first; now say what could not be read, and where.
            raise DamagedFramesError(damage[0].message, tuple(damage[0].spans_s))

    def _keep_cut_frames(
        self, new_cuts: list[ShotCut], store: dict[int, Candidate], ring: deque[_LazyCandidate]
    ) -> None:
        for cut in new_cuts:
            self.cuts.append(cut)
            if cut.frame in store:
                continue
            for lazy in ring:
                if lazy.index == cut.frame:
                    store[cut.frame] = lazy.materialise()
                    break

    def _emit(
        self,
        state: _EmitState,
        store: dict[int, Candidate],
        times: np.ndarray,
        keys: np.ndarray,
        safe_t: float,
        *,
        final: bool,
    ) -> Iterator[tuple[ClipSpec, list[Frame]]]:
        m, info = self.settings, self.info
        clips = self.fixed_clips or plan_clips(info, self.cuts, m)
        while state.emitted < len(clips):
            clip = clips[state.emitted]
            if not final:
                window_end = clip.end_s if self.fixed_clips else clip.start_s + m.clip_overlap_s
                if not self.fixed_clips:
                    window_end += m.clip_max_s
                if window_end > safe_t:
                    break
            picks = choose_frames(
                times,
                clip,
                keyframes=keys,
                cut_frames=[c.frame for c in self.cuts],
                max_gap_s=m.frame_max_gap_s,
                last=clip.end_s >= info.duration_s - 1e-6,
                keyframes_only=self.keyframes_only,
            )
            frames = finish_clip(picks, store, times, m, self.size)
            if self.text_size is not None and frames:
                span = clip_frame_range(times, clip, last=clip.end_s >= info.duration_s - 1e-6)
                # Only the latest clip's: memory stays bounded if a caller never asks.
                self._text = {
                    clip.index: finish_text_frames(
                        picks, store, span, self.text_size, m.jpeg_quality
                    )
                }
            if self._track is not None:
                last = clip.end_s >= info.duration_s - 1e-6
                self._pictures = {clip.index: self._track.of(clip, last=last)}
            state.emitted += 1
            self.clips.append(clip)
            if state.emitted < len(clips):
                _prune(store, clips[state.emitted].start_s)
                if self._track is not None:
                    self._track.forget_before(clips[state.emitted].start_s)
            if not frames:
                continue  # the whole clip lies in an undecodable span: nothing to look at
            yield clip, frames


class _EmitState:
    def __init__(self) -> None:
        self.emitted = 0


class _LazyCandidate:
    """A ring-buffer entry that converts to RGB only if its frame turns out to start a shot."""

    __slots__ = ("batch", "index", "k")

    def __init__(self, batch: FrameBatch, k: int) -> None:
        self.batch = batch
        self.k = k
        self.index = int(batch.indices[k])

    def materialise(self) -> Candidate:
        b = self.batch
        return Candidate(self.index, float(b.times_s[self.k]), b.thumb(self.k), b.rgb(self.k))


def _prune(store: dict[int, Candidate], before_s: float) -> None:
    """Forget frames before ``before_s`` but the latest one (a keyframe-mode clip may need it)."""
    old = sorted(i for i, c in store.items() if c.time_s < before_s - 1e-6)
    for i in old[:-1]:
        del store[i]


def scan_video(
    path_or_info: str | Path | VideoInfo,
    settings: MediaSettings | None = None,
) -> Scan:
    """Probe (if given a path) and return a one-pass :class:`Scan` of the video."""
    from videoidx.media.probe import probe

    settings = settings or MediaSettings()
    info = (
        path_or_info
        if isinstance(path_or_info, VideoInfo)
        else probe(path_or_info, ffmpeg_path=ffmpeg_exe(settings))
    )
    return Scan(info, settings)


def sample_frames(
    info: VideoInfo,
    clips: Sequence[ClipSpec],
    settings: MediaSettings,
    *,
    cuts: Sequence[ShotCut] = (),
) -> Iterator[tuple[ClipSpec, list[Frame]]]:
    """Frames of each clip, clip by clip in time order, in one decode pass with bounded memory."""
    yield from Scan(info, settings, clips=clips, cuts=cuts)


def sample_clip(
    info: VideoInfo, clip: ClipSpec, settings: MediaSettings, cuts: Sequence[ShotCut] = ()
) -> list[Frame]:
    """The frames of one clip (decodes only from the clip's start)."""
    for _, frames in sample_frames(info, [clip], settings, cuts=cuts):
        return frames
    return []


def read_frames(info: VideoInfo, indices: Sequence[int]) -> list[np.ndarray]:
    """Display-size upright RGB frames at ``indices`` (of the frame index), in the given order.

    Decoded by ffmpeg from the chosen video stream, starting at the earliest wanted frame;
    raises CorruptVideoError when one of them cannot be decoded.
    """
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return []
    index = frame_index(info)
    if wanted[0] < 0 or wanted[-1] >= len(index.pts_s):
        raise IndexError(f"frame indices {wanted} outside 0..{len(index.pts_s) - 1}")
    got: dict[int, np.ndarray] = {}
    start_s = float(index.times_s[wanted[0]])
    frames = iter_frames(info, info.width_px, info.height_px, start_s=start_s, report=[])
    try:
        for batch in frames:
            for k, idx in enumerate(batch.indices.tolist()):
                if idx in wanted:
                    got[idx] = batch.rgb(k)
            if int(batch.indices[-1]) >= wanted[-1]:
                break
    finally:
        frames.close()  # stops ffmpeg once the last wanted frame is in
    lost = [i for i in wanted if i not in got]
    if lost:
        raise CorruptVideoError(
            f"{info.path}: frames {lost[:5]} cannot be decoded; the file is damaged there"
        )
    return [got[int(i)] for i in indices]


def detect_shots(
    path: str | Path,
    settings: MediaSettings | None = None,
    *,
    threshold: float | None = None,
    min_shot_s: float = MIN_SHOT_S,
) -> list[ShotCut]:
    """Hard cuts of the video at ``path``, in one decode pass (64x36 analysis pictures).

    ``threshold`` defaults to the settings' ``shot_threshold``; ffmpeg is the settings' (see
    ``ffmpeg_exe``), like everything else when ``settings`` is None. Frames are decoded at the
    sampling size of ``settings`` (``frame_long_side_px``), so the cuts match those that a
    shared scan pass with the same settings finds.
    """
    from videoidx.media.probe import probe

    m = settings or MediaSettings()
    exe = ffmpeg_exe(m)
    info = probe(path, ffmpeg_path=exe)
    detector = ShotDetector(
        info.fps_nominal,
        threshold=m.shot_threshold if threshold is None else threshold,
        min_shot_s=min_shot_s,
    )
    width, height = output_size_px(info.width_px, info.height_px, m.frame_long_side_px)
    # Only the analysis pictures come through the pipe (computed as in a scan pass).
    frames = iter_frames(
        info, width, height, ffmpeg_path=exe, skip_loop_filter=SKIP_LOOP_FILTER, picture=False
    )
    for batch in frames:
        detector.push_batch(batch.indices, batch.times_s, batch.analysis)
    detector.finish()
    return list(detector.cuts)

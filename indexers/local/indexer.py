"""The embedded offline indexer: a measured timeline from the signal, no key, no network.

Per clip it decodes the clip's own range once at low resolution (5 fps, 128 px by default) and
its audio once, and reports what was measured:

* **shots** (``"shot"``): one event per shot inside the clip, split at ``ClipInput.shot_cuts``,
  the pipeline's cuts, trusted as they are: no cut there means none (a fade is not a cut), and
  shots are numbered per video (``ClipInput.cuts_before``). Only a caller that ran no detector
  (``cuts_before`` None and no cuts) gets the indexer's own strict test. Each shot gives its
  brightness word, main colours (palette name and hex) and audio level;
* **motion** (``"still"``, ``"moving"``, ``"high motion"``): spans of the mean luma change between
  sampled frames, with hysteresis and a 1 s minimum span so they do not flicker;
* **audio** (``"silence"``, ``"loud sound"``): at least 1 s below ``local_silence_db``, and sounds
  ``local_loud_db`` above the clip's median level;
* **on-screen text** (``"on-screen text"``): read from the sampled JPEG frames by the text reader
  the ``ocr_engine`` setting chooses (:mod:`indexers.text`; RapidOCR from
  ``pip install 'videoidx[ocr]'`` by default), one event per block of lines shown together; the
  text is also attached to the shot events it overlaps. When the pipeline read the clip's text
  (``ClipInput.screen_text``), it stores the spans as a lane of their own, so the indexer makes
  no text events (they would show the same text twice) and only attaches it to the shots.
  When no engine can run, the first clip says so once (a warning naming what to install) and
  the timeline has no text.

It never claims to understand the scene: it returns **no characters** (it recognises nobody) and
**no causal links**. The only relation it could measure is co-occurrence in time (a loud sound
at the start of high motion), and that is already visible from the events' times; storing it as
a causal link would invite readers to take it for a cause.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace

from indexers.base import Indexer
from indexers.local import decode, measure, timeline, visual
from indexers.local.measure import AudioMeasure
from indexers.text import TextReader, open_text_reader, text_reader_status
from videoidx.errors import ConfigError, FFmpegError
from videoidx.settings import Settings
from videoidx.types import ClipAnalysis, ClipInput, ClipPictures, ScreenText, Usage

log = logging.getLogger(__name__)

ALGORITHM_VERSION = "3"
"""Bump when a measure or a constant below changes, so cached clips are analysed again.
3: measured on the run's own 128x72 analysis pictures (``ClipInput.pictures``) when given."""
ANALYSIS_LONG_SIDE_PX = 128
MEASURE_SLOTS = max(1, (os.cpu_count() or 2) // 2)
"""Clips measured at once in this process: one per two cores (the scan's own decode runs two
threads beside it). Each measurement is an ffmpeg decode of the clip's full-size frames (unless
the run handed over the clip's pictures, ``ClipInput.pictures``), and the batch hands the
indexer up to ``concurrency`` (4) clips at once. Measured on 5 minutes of 1080p30 on the 2-core
machine, offline without speech or OCR: four at once took 29 s with ffmpeg holding 247 MB at the
peak; two 25-26 s and 182-190 MB; one 27-28 s and 127 MB. With speech and on-screen text read,
their engines set the pace: 102 s with one slot, 97 s with four."""
_MEASURING = threading.BoundedSemaphore(MEASURE_SLOTS)


class LocalIndexer(Indexer):
    """Shots, motion, audio level, colour and (optionally) on-screen text, measured offline."""

    name = "local"
    display_name = "Offline"
    needs_key = False
    needs_network = False
    priced = False
    # It measures the signal and recognises nobody: no characters, no causal links (see above),
    # and it has no language model to answer questions or look at frames with.
    finds_characters = False
    finds_links = False
    can_complete_text = False
    can_look = False

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        p = self.settings.provider
        if p.local_sample_fps <= 0 or p.local_sample_fps > 30:
            raise ConfigError("local_sample_fps must be > 0 and at most 30")
        if not 0 < p.local_still_below < p.local_high_motion_above:
            raise ConfigError("local_still_below must be > 0 and below local_high_motion_above")
        if p.local_loud_db <= 0:
            raise ConfigError("local_loud_db must be > 0 (dB above the clip's median level)")
        self.fps = p.local_sample_fps
        # The run's scan hands over its own small pictures at this rate: no second decode.
        self.picture_fps = self.fps
        # And the run's one decode of the video's sound: no ffmpeg per clip for the level.
        self.takes_audio = True
        # Resolved now (cheap, silent) because the cache identity depends on it; said once, at
        # the first clip, so building an indexer to check or price a run says nothing.
        self.text_status = text_reader_status(self.settings) if p.local_ocr else None
        self.text_reader: TextReader | None = (
            open_text_reader(self.settings) if self.text_status and self.text_status.on else None
        )
        self._text_warned = threading.Event()

    @property
    def model_id(self) -> str:
        return f"videoidx-local-{ALGORITHM_VERSION}"

    @property
    def prompt_version(self) -> str:
        return ALGORITHM_VERSION

    def cache_identity(self) -> str:
        p = self.settings.provider
        ocr_id = self.text_reader.cache_identity() if self.text_reader else "off"
        return (
            f"{self.name}|{self.model_id}|fps={p.local_sample_fps:g}|px={ANALYSIS_LONG_SIDE_PX}"
            f"|still={p.local_still_below:g}|high={p.local_high_motion_above:g}"
            f"|silence={p.local_silence_db:g}|loud={p.local_loud_db:g}|ocr={ocr_id}"
        )

    def analyze(self, clip: ClipInput, *, cancel: threading.Event | None = None) -> ClipAnalysis:
        with _MEASURING:
            return self._analyze(clip, cancel)

    def _analyze(self, clip: ClipInput, cancel: threading.Event | None) -> ClipAnalysis:
        p = self.settings.provider
        spec = clip.clip
        ffmpeg_path = self.settings.media.ffmpeg_path
        given = clip.pictures
        if given is not None and given.fps == self.fps and len(given.times_s):
            # The scan's 128x72 analysis pictures: the same area scaling to the same size (a
            # 16:9 shape for every video, which whole-picture measures do not see).
            frames = given
        else:
            frames = decode.decode_frames(
                clip.video,
                spec,
                fps=self.fps,
                long_side_px=ANALYSIS_LONG_SIDE_PX,
                ffmpeg_path=ffmpeg_path,
            )
        y = visual.luma(frames.rgb)
        diffs = visual.pair_differences(y)
        cut_times, cuts_source = self._cut_times(clip, frames)
        # A cut on the clip's start is still a cut: the plan puts clip bounds on cuts, and a
        # search for "hard cut" must find it like any other.
        at_start = any(c.time_s == spec.start_s for c in clip.shot_cuts)
        shots = measure.measure_shots(
            spec,
            cut_times,
            frames.times_s,
            frames.rgb,
            self.fps,
            starts_at_cut=at_start,
            first_index=1 + (clip.cuts_before or 0) + at_start,
        )
        motion = measure.measure_motion(
            spec,
            frames.times_s,
            diffs,
            cut_times,
            p.local_still_below,
            p.local_high_motion_above,
            self.fps,
        )
        audio, audio_note = self._audio(clip)
        if audio is not None:
            shots = [
                replace(s, audio_mean_db=audio.mean_db_between(spec.start_s, s.start_s, s.end_s))
                for s in shots
            ]
        texts = self._read_text(clip, cancel)
        shots = [
            replace(
                s, texts=tuple(t.text for t in texts if timeline.shown_in(t, s.start_s, s.end_s))
            )
            for s in shots
        ]
        m = timeline.Measurements(
            spec,
            shots,
            motion,
            audio,
            texts,
            audio_note,
            numbered_in_video=clip.cuts_before is not None,
            texts_stored=clip.screen_text is not None,
        )
        header = {
            "indexer": self.name,
            "model": self.model_id,
            "identity": self.cache_identity(),
            "cuts": {"source": cuts_source, "times_s": [round(t, 3) for t in cut_times]},
            "pair_diff": [round(float(d), 4) for d in diffs],
        }
        return ClipAnalysis(
            events=timeline.build_events(m, p.local_silence_db),
            summary=timeline.summarize(m),
            raw_reply=timeline.raw_record(m, header, frames.times_s.tolist()),
            usage=Usage(),
            model=self.model_id,
            finish_reason="stop",
        )

    def _cut_times(self, clip: ClipInput, frames: ClipPictures) -> tuple[list[float], str]:
        spec = clip.clip
        given = [c.time_s for c in clip.shot_cuts if spec.start_s < c.time_s < spec.end_s]
        if given or clip.shot_cuts or clip.cuts_before is not None:
            # The pipeline's detector saw the whole video; its "no cut here" is an answer.
            return sorted(given), "given"
        # A caller that ran no detector: look for unmistakable cuts, placed half-way between
        # the two frames that straddle them.
        t = frames.times_s
        found = [float((t[i] + t[i + 1]) / 2) for i in visual.detect_cuts(frames.rgb)]
        return found, "detected"

    def _audio(self, clip: ClipInput) -> tuple[AudioMeasure | None, str]:
        if not clip.video.has_audio:
            return None, "no audio stream"
        p = self.settings.provider
        try:
            # The run's own decode of the video's sound when it handed it over (the same rate);
            # else one ffmpeg for this clip's sound.
            samples = (
                clip.audio
                if clip.audio is not None
                else decode.decode_audio(
                    clip.video, clip.clip, ffmpeg_path=self.settings.media.ffmpeg_path
                )
            )
        except FFmpegError as exc:
            if "does not contain any stream" in str(exc):
                # Probed as having audio, but ffmpeg maps none (the map is optional: "0:a:0?").
                return None, "no audio stream"
            # Audio is one measure among several; a broken audio track should not cost the
            # clip its shots and motion. The reason is kept in the summary and the raw record.
            log.warning("clip %d: audio not measured: %s", clip.clip.index, exc)
            return None, "audio could not be decoded"
        if len(samples) == 0:
            return None, "no audio in this range"
        audio = measure.measure_audio(
            clip.clip, samples, decode.AUDIO_RATE_HZ, p.local_silence_db, p.local_loud_db
        )
        return audio, ""

    def _read_text(self, clip: ClipInput, cancel: threading.Event | None) -> list[ScreenText]:
        if clip.screen_text is not None:
            # The pipeline read the clip's text already (and said once if it could not).
            return list(clip.screen_text)
        if self.text_reader is None:
            status = self.text_status
            if status is not None and status.warning and not self._text_warned.is_set():
                self._text_warned.set()
                log.warning("%s", status.warning)
            return []
        return self.text_reader.read_clip(clip, cancel=cancel)

    def close(self) -> None:
        if self.text_reader is not None:
            self.text_reader.close()

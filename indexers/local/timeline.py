"""Turn the offline indexer's measurements into events, a one-line summary and a JSON record.

Labels name what was measured ("shot", "still", "moving", "high motion", "silence",
"loud sound", "on-screen text"); descriptions carry the numbers. Nothing claims to understand
the scene: no characters, and no causal links (see :class:`indexers.local.LocalIndexer`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from indexers.local.measure import AudioMeasure, MotionSpan, ShotMeasure
from videoidx.types import ClipSpec, Event, ScreenText

MAX_TEXT_CHARS = 500


@dataclass(frozen=True)
class Measurements:
    """Everything measured on one clip; ``audio`` is None when there is none to measure."""

    clip: ClipSpec
    shots: list[ShotMeasure]
    motion: list[MotionSpan]
    audio: AudioMeasure | None
    texts: list[ScreenText]
    """On-screen text spans from the text reader (:mod:`indexers.text`)."""
    audio_note: str = ""
    """Why there is no audio measure (no audio stream, or it could not be decoded)."""
    numbered_in_video: bool = False
    """Shot numbers count from the video's start (the caller said how many cuts come first)."""
    texts_stored: bool = False
    """The caller read ``texts`` and stores them as spans of their own (the pipeline's
    on-screen text lane), so text events would repeat them on the timeline and in search."""


def _r(t: float) -> float:
    return round(t, 3)


def _shot_event(shot: ShotMeasure, in_video: bool) -> Event:
    # Only words that tell shots apart: a word in every shot ("colour", "brightness", "audio")
    # would make a search for it match the whole timeline. The numbers' meaning is in the raw
    # record and the README.
    parts = [
        f"shot {shot.index}{'' if in_video else ' of this clip'}, "
        f"{shot.start_s:.1f}-{shot.end_s:.1f} s ({shot.end_s - shot.start_s:.1f} s"
        + (", starts at a hard cut)" if shot.starts_at_cut else ")")
    ]
    pic = shot.picture
    if pic is not None:
        main, *rest = pic.colours
        colours = f"{pic.brightness_word}, {main.name} {main.share:.0%} ({main.hex})"
        colours += "".join(f", {c.name} {c.share:.0%}" for c in rest[:2])
        parts.append(colours)
    if shot.audio_mean_db is not None:
        parts.append(f"{shot.audio_mean_db:.0f} dBFS")
    text = "\n".join(dict.fromkeys(shot.texts))[:MAX_TEXT_CHARS]
    return Event(
        key="",
        start_s=_r(shot.start_s),
        end_s=_r(shot.end_s),
        label="shot",
        description="; ".join(parts),
        on_screen_text=text,
    )


def _motion_event(span: MotionSpan) -> Event:
    return Event(
        key="",
        start_s=_r(span.start_s),
        end_s=_r(span.end_s),
        label=span.label,
        description=(
            f"{span.label} for {span.end_s - span.start_s:.1f} s, "
            f"luma change {span.mean_diff:.3f} a frame"
        ),
        confidence=round(span.agreement, 2),
    )


def _audio_events(audio: AudioMeasure, silence_db: float) -> list[Event]:
    out = []
    for s in audio.silences:
        out.append(
            Event(
                key="",
                start_s=_r(s.start_s),
                end_s=_r(s.end_s),
                label="silence",
                description=(
                    f"silence for {s.end_s - s.start_s:.1f} s: audio level below "
                    f"{silence_db:.0f} dBFS (loudest 0.1 s window {s.max_db:.0f} dBFS)"
                ),
                confidence=round(s.agreement, 2),
            )
        )
    for s in audio.louds:
        out.append(
            Event(
                key="",
                start_s=_r(s.start_s),
                end_s=_r(s.end_s),
                label="loud sound",
                description=(
                    (
                        f"{s.bursts} loud bursts within {s.end_s - s.start_s:.1f} s"
                        if s.bursts > 1
                        else f"loud sound for {s.end_s - s.start_s:.1f} s"
                    )
                    + f": peak {s.max_db:.0f} dBFS, "
                    f"{s.max_db - audio.median_db:.0f} dB above the clip's median level "
                    f"({audio.median_db:.0f} dBFS)"
                ),
            )
        )
    return out


def shown_in(text: ScreenText, start_s: float, end_s: float) -> bool:
    """Whether ``text`` is on screen at some moment of ``[start_s, end_s)``."""
    if text.end_s <= text.start_s:
        return start_s <= text.start_s < end_s
    return text.start_s < end_s and text.end_s > start_s


def _text_events(texts: Sequence[ScreenText]) -> list[Event]:
    """One event per block of lines shown together (same start and end), lines top to bottom."""
    blocks: dict[tuple[float, float], list[ScreenText]] = {}
    for t in texts:
        blocks.setdefault((t.start_s, t.end_s), []).append(t)
    out: list[Event] = []
    for (start_s, end_s), lines in blocks.items():
        lines.sort(key=lambda t: (t.box_px[1], t.box_px[0]) if t.box_px else (0.0, 0.0))
        text = "\n".join(t.text for t in lines)[:MAX_TEXT_CHARS]
        confs = [t.confidence for t in lines if t.confidence is not None]
        quoted = text.replace("\n", " / ")
        out.append(
            Event(
                key="",
                start_s=_r(start_s),
                end_s=_r(end_s),
                label="on-screen text",
                description=f'text read by OCR, {len(lines)} line(s): "{quoted}"',
                on_screen_text=text,
                confidence=round(sum(confs) / len(confs), 2) if confs else None,
            )
        )
    return out


def build_events(m: Measurements, silence_db: float) -> list[Event]:
    """All events, clamped to the clip, sorted by start, keyed ``e1``, ``e2``..."""
    events = [_shot_event(s, m.numbered_in_video) for s in m.shots]
    events += [_motion_event(s) for s in m.motion]
    if m.audio is not None:
        events += _audio_events(m.audio, silence_db)
    if not m.texts_stored:
        events += _text_events(m.texts)
    lo, hi = _r(m.clip.start_s), _r(m.clip.end_s)
    clamped = [
        replace(e, start_s=min(max(e.start_s, lo), hi), end_s=min(max(e.end_s, lo), hi))
        for e in events
    ]
    clamped.sort(key=lambda e: (e.start_s, e.end_s, e.label))
    return [replace(e, key=f"e{i + 1}") for i, e in enumerate(clamped)]


def _share(spans: Sequence[MotionSpan], label: str, duration_s: float) -> float:
    return sum(s.end_s - s.start_s for s in spans if s.label == label) / duration_s


def summarize(m: Measurements) -> str:
    """One measured line, e.g. ``12.0 s, 4 shots, still 71% / moving 29%, audio silent 46%``."""
    dur = max(m.clip.duration_s, 1e-6)
    parts = [f"{dur:.1f} s", f"{len(m.shots)} shot{'s' if len(m.shots) != 1 else ''}"]
    shares = [
        f"{label} {_share(m.motion, label, dur):.0%}"
        for label in ("still", "moving", "high motion")
        if _share(m.motion, label, dur) > 0
    ]
    if shares:
        parts.append(" / ".join(shares))
    if m.audio is not None:
        silent = sum(s.end_s - s.start_s for s in m.audio.silences) / dur
        audio = f"audio silent {silent:.0%}"
        if m.audio.louds:
            audio += f", {len(m.audio.louds)} loud sound{'s' if len(m.audio.louds) > 1 else ''}"
        parts.append(audio)
    elif m.audio_note:
        parts.append(m.audio_note)
    colours = [s.picture.colours[0].name for s in m.shots if s.picture and s.picture.colours]
    if colours:
        parts.append("colours " + ", ".join(dict.fromkeys(colours)))
    if m.texts:
        parts.append("on-screen text")
    return ", ".join(parts)


def raw_record(m: Measurements, header: dict[str, Any], frame_times_s: Sequence[float]) -> str:
    """The measurements as JSON, so a later version can re-read a run without decoding again."""
    record: dict[str, Any] = {
        **header,
        "clip_s": [m.clip.start_s, m.clip.end_s],
        "frame_times_s": [_r(t) for t in frame_times_s],
        "shots": [
            {
                "start_s": _r(s.start_s),
                "end_s": _r(s.end_s),
                "starts_at_cut": s.starts_at_cut,
                "brightness": s.picture.brightness if s.picture else None,
                "colours": [
                    {"name": c.name, "share": c.share, "hex": c.hex}
                    for c in (s.picture.colours if s.picture else ())
                ],
                "audio_mean_db": None if s.audio_mean_db is None else round(s.audio_mean_db, 1),
            }
            for s in m.shots
        ],
        "motion": [
            {
                "label": s.label,
                "start_s": _r(s.start_s),
                "end_s": _r(s.end_s),
                "mean_diff": round(s.mean_diff, 4),
                "agreement": round(s.agreement, 3),
            }
            for s in m.motion
        ],
        "audio": None
        if m.audio is None
        else {
            "window_s": 0.1,
            "levels_db": [round(float(x), 1) for x in m.audio.levels_db],
            "median_db": round(m.audio.median_db, 1),
        },
        "audio_note": m.audio_note,
        "ocr": [
            {
                "start_s": _r(t.start_s),
                "end_s": _r(t.end_s),
                "text": t.text,
                "confidence": t.confidence,
                "box_px": list(t.box_px) if t.box_px else None,
            }
            for t in m.texts
        ],
    }
    return json.dumps(record, separators=(",", ":"))

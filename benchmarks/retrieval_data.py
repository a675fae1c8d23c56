"""Generate moment-retrieval sets: videos with spoken phrases and slides at known times.

Each video alternates Pillow-drawn slides (black text on white, :mod:`tests.slides`) with plain
colour footage; one espeak-ng phrase is said during each colour segment, placed at a known
sample, so three kinds of moment are known exactly:

``spoken``   the phrase, from its first to its last audible sample (found in the samples)
``written``  the slide, from its first to its last frame
``event``    the colour segment (the offline indexer reports it as a shot of that colour)

Every moment has a plain query (its own words: for issue 14's R1@IoU targets) and a paraphrase
that shares few words with what was said or shown (for issue 15's search-by-meaning target).
:func:`write_sets` writes Charades-STA files of them, named by the videos' file stems, for
``videoidx eval``. The phrases use everyday words that Whisper tiny.en hears right in espeak-ng's
voice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slides import Slide, make_slides_video  # noqa: E402
from videoidx.media.ffmpeg_bin import ffmpeg_exe, run_ffmpeg  # noqa: E402

RATE_HZ = 16_000
SLIDE_S = 7.0
COLOUR_S = 9.0
SPEECH_AT_S = 1.5
"""Where in its colour segment each phrase starts (before its own leading silence)."""
LOUD = 0.02
"""A sample this loud (of full scale) is audible speech, for the true spoken windows."""


@dataclass(frozen=True)
class Topic:
    """One slide, one phrase and one colour, each with a plain query and a paraphrase."""

    slide: str
    slide_query: str
    slide_paraphrase: str
    phrase: str
    phrase_query: str
    phrase_paraphrase: str
    colour: str
    colour_paraphrase: str


TOPICS: tuple[Topic, ...] = (
    Topic("Quarterly Sales Report", "sales report", "revenue figures for the last three months",
          "the budget for next year is approved", "budget approved",
          "spending plan for the coming twelve months got the green light",
          "red", "crimson scene"),
    Topic("Safety Rules for the Lab", "lab safety rules",
          "how to stay unharmed in a science workroom",
          "please open the window it is very warm", "open the window",
          "let some fresh air in because it feels hot", "blue", "azure backdrop"),
    Topic("Mountain Hiking Guide", "hiking guide", "walking trails up high peaks",
          "our team won the football match on sunday", "football match",
          "we beat the other club in the weekend soccer game", "green", "emerald screen"),
    Topic("Introduction to Chemistry", "chemistry", "first lesson about elements and reactions",
          "the train to london leaves at nine", "train to london",
          "rail departure for the english capital in the morning", "yellow", "golden frame"),
    Topic("Annual Company Picnic", "company picnic", "yearly outdoor lunch for staff",
          "we need more coffee in the kitchen", "more coffee",
          "we are running low on espresso where we cook", "orange", "tangerine picture"),
    Topic("Weather Forecast Tomorrow", "weather forecast", "will it rain the next day",
          "the doctor said to drink more water", "drink water",
          "a physician recommended staying hydrated", "purple", "violet backdrop"),
    Topic("Volcano Eruption Facts", "volcano", "lava and magma bursting from a mountain",
          "my sister bought a new blue car", "new blue car",
          "a sibling of mine purchased an automobile", "red", "scarlet footage"),
    Topic("Healthy Breakfast Recipes", "breakfast recipes", "nutritious morning meals to cook",
          "the library closes early on friday", "library closes",
          "the book lending place shuts sooner at the end of the week", "blue", "navy screen"),
    Topic("Solar Panel Installation", "solar panel", "putting photovoltaic cells on a roof",
          "the garden is full of yellow flowers", "yellow flowers",
          "the backyard blooms with golden blossoms", "green", "lime coloured picture"),
    Topic("History of Ancient Rome", "ancient rome", "the roman empire long ago",
          "turn left at the big church", "turn left church",
          "make a turn by the large chapel", "yellow", "lemon tinted frame"),
    Topic("Customer Support Hotline", "support hotline", "phone number to get help as a client",
          "the children are playing in the park", "children playing park",
          "kids having fun outdoors on the playground", "orange", "amber footage"),
    Topic("Winter Holiday Schedule", "holiday schedule", "christmas vacation timetable",
          "the price of bread has gone up", "price of bread",
          "a loaf costs more than it used to", "purple", "lavender scene"),
    Topic("Ocean Plastic Pollution", "plastic pollution", "sea contaminated by waste",
          "the storm knocked down two trees", "storm trees",
          "high winds toppled a pair of oaks", "red", "ruby backdrop"),
    Topic("Electric Guitar Lessons", "guitar lessons", "learning to play rock music",
          "he forgot his keys at the office", "forgot keys",
          "he misplaced what opens his door at the workplace", "blue", "cobalt picture"),
    Topic("Marathon Training Plan", "marathon training", "preparing to run a long race",
          "the concert starts after dinner", "concert dinner",
          "the music show begins once the evening meal is over", "green", "jade footage"),
    Topic("Museum Opening Hours", "museum hours", "when the gallery lets visitors in",
          "they are painting the house white", "painting the house",
          "their home is getting a fresh colour", "yellow", "canary coloured scene"),
)  # fmt: skip


@dataclass(frozen=True)
class Moment:
    """One known moment of a generated video and its two queries."""

    video: str
    kind: str
    start_s: float
    end_s: float
    query: str
    paraphrase: str


def espeak_exe() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng")
    return exe


def _speak(text: str, folder: Path) -> np.ndarray:
    """``text`` said by espeak-ng, as float32 samples at :data:`RATE_HZ`."""
    wav = folder / "phrase.wav"
    subprocess.run([espeak_exe(), "-w", str(wav), text], check=True, capture_output=True)
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(RATE_HZ),
         "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.float32).copy()


def _write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(pcm.tobytes())


def make_video(path: Path, topics: Sequence[Topic]) -> list[Moment]:
    """One video of ``topics`` (a slide, then a colour segment with the phrase, per topic) at
    ``path``; returns its moments with their true windows."""
    stem = path.stem
    slides: list[Slide] = []
    moments: list[Moment] = []
    total_s = len(topics) * (SLIDE_S + COLOUR_S)
    audio = np.zeros(int(total_s * RATE_HZ), dtype=np.float32)
    t = 0.0
    for topic in topics:
        slides.append(Slide((topic.slide,), SLIDE_S))
        moments.append(
            Moment(stem, "written", t, t + SLIDE_S, topic.slide_query, topic.slide_paraphrase)
        )
        t += SLIDE_S
        slides.append(Slide((), COLOUR_S, background=topic.colour))
        moments.append(
            Moment(stem, "event", t, t + COLOUR_S, topic.colour, topic.colour_paraphrase)
        )
        said = _speak(topic.phrase, path.parent)
        at = int((t + SPEECH_AT_S) * RATE_HZ)
        audio[at : at + len(said)] += said[: len(audio) - at]
        loud = np.nonzero(np.abs(said) > LOUD)[0]
        first_s, last_s = (at + loud[0]) / RATE_HZ, (at + loud[-1]) / RATE_HZ
        moments.append(
            Moment(
                stem, "spoken", round(first_s, 2), round(last_s, 2), topic.phrase_query,
                topic.phrase_paraphrase,
            )
        )  # fmt: skip
        t += COLOUR_S
    silent = make_slides_video(path.with_name(f"{stem}_silent.mp4"), slides, width_px=854,
                               height_px=480, size_px=44)  # fmt: skip
    wav = path.with_name(f"{stem}.wav")
    _write_wav(wav, audio)
    run_ffmpeg(
        ["-y", "-i", str(silent), "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
         "-c:a", "aac", "-shortest", str(path)],
        what=f"muxing speech into {path}",
    )  # fmt: skip
    for leftover in path.parent.glob(f"{stem}_*"):
        leftover.unlink()
    wav.unlink()
    return moments


def make_videos(folder: Path, videos: int = 4, per_video: int = 4) -> list[Moment]:
    """``videos`` videos of ``per_video`` topics each (``retrieval_1.mp4``, ...) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if videos * per_video > len(TOPICS):
        raise ValueError(f"only {len(TOPICS)} topics")
    moments: list[Moment] = []
    for v in range(videos):
        topics = TOPICS[v * per_video : (v + 1) * per_video]
        moments += make_video(folder / f"retrieval_{v + 1}.mp4", topics)
    return moments


def charades_lines(moments: Sequence[Moment], *, paraphrase: bool) -> str:
    """Charades-STA lines, one per moment."""
    return "".join(
        f"{m.video} {m.start_s:.2f} {m.end_s:.2f}##{m.paraphrase if paraphrase else m.query}\n"
        for m in moments
    )


def write_sets(folder: Path, moments: Sequence[Moment]) -> dict[str, Path]:
    """The query files: ``spoken`` and ``written`` (plain queries), ``paraphrased`` (every kind)."""
    sets = {
        "spoken": charades_lines([m for m in moments if m.kind == "spoken"], paraphrase=False),
        "written": charades_lines([m for m in moments if m.kind == "written"], paraphrase=False),
        "paraphrased": charades_lines(moments, paraphrase=True),
    }
    out = {}
    for name, text in sets.items():
        out[name] = folder / f"{name}.txt"
        out[name].write_text(text)
    return out

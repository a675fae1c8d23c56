"""Look again: when the stored timeline is thin, show the model the best clip's frames.

The index keeps what the model noticed the first time, not everything in the picture. When the
evidence for a question is thin and the video file is still where it was indexed from, the
frames of the stored clip around the best-matching moment are sampled again (the same sampler
and settings as indexing) and sent with the question; the answer cites that clip by the next
free evidence number. Only indexers that declare ``can_look`` can look again; this module
writes the words around the frames (:func:`look_prompt`) and the indexer's ``look`` encodes the
frames as its model takes them.
"""

from __future__ import annotations

from pathlib import Path

from videoidx.errors import MediaError
from videoidx.media.scan import sample_clip
from videoidx.prompting import DATA_RULE, quote_data
from videoidx.qa.answer import NOT_ANSWERED
from videoidx.qa.records import Citation
from videoidx.settings import Settings
from videoidx.store import Store
from videoidx.times import clock, clock_span
from videoidx.types import ClipSpec, Frame

SYSTEM = f"""You answer a question about a video from frames of one clip of it. Each frame is \
preceded by its time in seconds from the start of the video, like [t=12.5s].

{DATA_RULE}

Rules:
- Answer only from what you see in the frames. Say when (m:ss) you see it.
- Cite the clip by the number given with the frames, like [7], after each claim.
- If the frames do not answer the question, reply with "{NOT_ANSWERED}:" and one sentence on \
what is missing. Do not guess."""


def clip_around(store: Store, target: Citation, n: int) -> Citation | None:
    """The stored clip that holds ``target``'s start, as citation number ``n`` (the one after
    the last evidence number, so numbers stay unique within an answer)."""
    for clip in store.clips(target.video_id):
        if clip.start_s <= target.start_s < clip.end_s or clip.start_s == target.start_s:
            return Citation(
                n, target.video_id, target.title, clip.start_s, clip.end_s, None,
                "clip looked at again", f"frames {clock_span(clip.start_s, clip.end_s)}",
            )  # fmt: skip
    return None


def clip_frames(store: Store, clip: Citation, settings: Settings) -> list[Frame]:
    """The clip's frames sampled again from the video file; empty when the file is gone."""
    info = store.video(clip.video_id)
    if info is None or not Path(info.path).is_file():
        return []
    spec = ClipSpec(clip.video_id, 0, clip.start_s, clip.end_s)
    try:
        return sample_clip(info, spec, settings.media, store.shots(clip.video_id))
    except MediaError:
        return []  # the file changed or broke since indexing: answer from the timeline instead


def look_prompt(question: str, clip: Citation) -> tuple[str, str]:
    """The text before the frames (the question, the quoted title, how to cite the clip) and
    the text after them, for :meth:`indexers.base.Indexer.look` with :data:`SYSTEM`."""
    before = (
        f"Question: {question.strip()}\n\nThe video:\n"
        + quote_data("video", [{"title": clip.title}])
        + f"\n\nFrames of that video from {clock(clip.start_s)} to {clock(clip.end_s)}, "
        f"cited as [{clip.n}]:"
    )
    return before, f"Answer the question now, citing [{clip.n}]."

"""HTML for the page's custom views: the visual timeline, job progress, characters and causes.

Pure functions from store rows to HTML strings, so they are tested without a browser. Every piece
a person can click carries ``data-start`` (seconds), ``data-video`` and ``data-id``; one script
(:data:`CLICK_JS`) turns a click on any of them into a page event that seeks the player. All text
from videos and models is escaped: an event description is untrusted input.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

import videoidx
from ui.jobs import ACTIVE, JobStatus
from videoidx import ShotCut, Stage, VideoSummary
from videoidx.store import StoredSaid

# Passed as ``js_on_load`` to every clickable gr.HTML: forwards the clicked item's data.
CLICK_JS = """
element.addEventListener('click', (e) => {
  const item = e.target.closest('[data-start]');
  if (!item) return;
  element.querySelectorAll('.vx-sel').forEach((el) => el.classList.remove('vx-sel'));
  item.classList.add('vx-sel');
  trigger('click', {
    start_s: parseFloat(item.dataset.start),
    video_id: item.dataset.video || '',
    event_id: item.dataset.id || '',
  });
});
"""

# Passed as ``js_on_load`` to the transcript under the player: a click seeks (as CLICK_JS), and
# the line being said follows playback. Media events do not bubble, so the listener captures
# them at the document: the player's <video> element is replaced when another video opens.
TRANSCRIPT_JS = (
    CLICK_JS
    + """
const follow = (e) => {
  const v = e.target;
  if (!(v instanceof HTMLVideoElement) || !v.closest('#player')) return;
  const t = v.currentTime;
  let now = null;
  for (const line of element.querySelectorAll('.vx-line')) {
    if (parseFloat(line.dataset.start) > t + 0.05) break;
    if (t < parseFloat(line.dataset.end)) now = line;
  }
  element.querySelectorAll('.vx-now').forEach((el) => {
    if (el !== now) { el.classList.remove('vx-now'); el.removeAttribute('aria-current'); }
  });
  if (!now || now.classList.contains('vx-now')) return;
  now.classList.add('vx-now');
  now.setAttribute('aria-current', 'true');
  // Scroll the list, never the page: the visitor may be reading the timeline below.
  const box = element.querySelector('.vx-lines');
  if (box) box.scrollTop = now.offsetTop - box.clientHeight / 3;
};
for (const name of ['timeupdate', 'seeked']) document.addEventListener(name, follow, true);
"""
)

# Passed as ``js_on_load`` to the note under the upload box (see :func:`upload_note_html`). Gradio
# checks the size cap in the browser but says so only in a toast that fades, and leaves the box
# showing a bare "Error"; the server answers a bigger upload with HTTP 413. So an oversize file is
# stopped here, before Gradio sees it, and the reason stays on the page.
UPLOAD_GUARD_JS = """
const note = element.querySelector('[data-cap-bytes]');
const cap = parseInt(note.dataset.capBytes, 10);
const capMb = note.dataset.capMb;
const zone = () => document.getElementById('upload');
const refuse = (files) => {
  const big = [...(files || [])].filter((f) => f.size > cap);
  if (!big.length) { note.textContent = ''; return false; }
  note.textContent = big.map((f) =>
    `${f.name} is ${(f.size / 1048576).toFixed(1)} MB, over the upload cap of ${capMb} MB; ` +
    'index it on the server with "videoidx index FILE", or raise the upload_max_mb setting.'
  ).join(' ');
  return true;
};
document.addEventListener('change', (e) => {
  const input = e.target;
  if (!(input instanceof HTMLInputElement) || input.type !== 'file') return;
  if (!zone() || !zone().contains(input)) return;
  if (refuse(input.files)) { e.stopImmediatePropagation(); input.value = ''; }
}, true);
document.addEventListener('drop', (e) => {
  if (!zone() || !zone().contains(e.target)) return;
  if (refuse(e.dataTransfer && e.dataTransfer.files)) { e.preventDefault(); e.stopPropagation(); }
}, true);
"""


def upload_note_html(cap_mb: int) -> str:
    """The (empty) note that :data:`UPLOAD_GUARD_JS` fills when a file is over the cap."""
    return (
        f'<div class="vx-upload-note" role="alert" data-cap-mb="{cap_mb}" '
        f'data-cap-bytes="{cap_mb * 1024 * 1024}"></div>'
    )


# Distinct on light and dark backgrounds, and tell-apart-able for common colour blindness.
PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#6b8e23",
)  # fmt: skip


# Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and escaping all
# of them covers images, links, autolinks (``http\:``), raw HTML, emphasis, headings and tables.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def md_text(text: object) -> str:
    """``text`` as literal text inside Markdown: nothing in it renders, loads or links.

    Lines keep their breaks (a hard break each) and lose leading indentation, which would make
    an indented code block where the escapes show as backslashes."""
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "  \n".join(_MD_SPECIAL.sub(r"\\\1", line.strip()) for line in lines)


def colour_for(key: str) -> str:
    """A stable colour per label or character name (the same name is the same colour everywhere)."""
    digest = hashlib.blake2s(key.lower().encode(), digest_size=2).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def clock(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour); a dash for an unknown time."""
    return "–" if seconds is None else videoidx.clock(seconds)


def span(start_s: float, end_s: float) -> str:
    """``m:ss–m:ss`` (tenths when shorter than a second), the CLI's format with an en dash."""
    return videoidx.clock_span(start_s, end_s, dash="–")


def _attrs(video_id: str, start_s: float, item_id: str = "") -> str:
    return f'data-video="{escape(video_id)}" data-start="{start_s:.3f}" data-id="{escape(item_id)}"'


def empty_state(title: str, hint: str) -> str:
    return f'<div class="vx-empty"><b>{escape(title)}</b><span>{escape(hint)}</span></div>'


# -- the visual timeline -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """One event as the visual timeline draws it."""

    event_id: str
    start_s: float
    end_s: float
    label: str
    description: str
    characters: tuple[str, ...] = ()


SAME_TIME_S = 0.15
"""Shot cuts and event starts this close are the same moment (one frame at 7 fps and up)."""


def timeline_html(
    video_id: str,
    duration_s: float,
    bars: Sequence[Bar],
    shots: Sequence[ShotCut],
    *,
    colour_by: str = "label",
    selected_id: str = "",
    speech: Sequence[StoredSaid] = (),
    texts: Sequence[StoredSaid] = (),
    speech_note: str = "",
    text_note: str = "",
) -> str:
    """Events as bars in one lane per label (or character), shots as bands, a time axis; what
    was said (``speech``) and shown (``texts``) in a lane each, or the lane's ``*_note`` saying
    why it is empty."""
    if not bars and not speech and not texts:
        return empty_state("No events yet", "Index this video, or pick another one above.")
    ends = [b.end_s for b in bars] + [x.end_s for x in (*speech, *texts)]
    duration_s = max(duration_s, *ends, 1e-3)
    lanes: dict[str, list[Bar]] = {}
    for b in bars:
        keys = (b.characters or ("(no one)",)) if colour_by == "character" else (b.label,)
        for key in keys:
            lanes.setdefault(key or "(unlabelled)", []).append(b)
    # An indexer that describes each shot as an event already draws the shots as a lane; the
    # band would repeat it.
    rows = (
        [] if _a_lane_shows(shots, lanes, duration_s) else [_shot_row(video_id, shots, duration_s)]
    )
    rows.append(_said_row(video_id, "speech", "said", speech, duration_s, speech_note))
    rows.append(_said_row(video_id, "text shown", "shown", texts, duration_s, text_note))
    for key in sorted(lanes, key=lambda k: (min(b.start_s for b in lanes[k]), k)):
        colour = colour_for(key)
        cells = "".join(_bar(video_id, b, duration_s, colour, selected_id) for b in lanes[key])
        rows.append(
            f'<div class="vx-lane"><div class="vx-lane-name" title="{escape(key)}">'
            f'<i style="background:{colour}"></i>{escape(key)}</div>'
            f'<div class="vx-track">{cells}</div></div>'
        )
    rows.append(_axis(duration_s))
    return f'<div class="vx-timeline">{"".join(rows)}</div>'


def _bar(video_id: str, b: Bar, duration_s: float, colour: str, selected_id: str) -> str:
    left = 100 * b.start_s / duration_s
    width = max(0.4, 100 * (b.end_s - b.start_s) / duration_s)
    sel = " vx-sel" if b.event_id == selected_id else ""
    tip = f"{span(b.start_s, b.end_s)} · {b.label}: {b.description}"
    return (
        f'<button class="vx-bar{sel}" {_attrs(video_id, b.start_s, b.event_id)} '
        f'style="left:{left:.3f}%;width:{width:.3f}%;background:{colour}" '
        f'title="{escape(tip)}" aria-label="{escape(tip)}"></button>'
    )


def _said_row(
    video_id: str, name: str, verb: str, items: Sequence[StoredSaid], duration_s: float, note: str
) -> str:
    """A lane of spoken segments or on-screen text spans; each seeks like an event bar."""
    kind = "speech" if verb == "said" else "text"
    cells = []
    for x in items:
        left = 100 * x.start_s / duration_s
        width = max(0.4, 100 * (x.end_s - x.start_s) / duration_s)
        tip = f"{span(x.start_s, x.end_s)} · {verb}: “{x.text}”"
        cells.append(
            f'<button class="vx-said vx-said-{kind}" {_attrs(video_id, x.start_s, x.id)} '
            f'style="left:{left:.3f}%;width:{width:.3f}%" '
            f'title="{escape(tip)}" aria-label="{escape(tip)}"></button>'
        )
    if not cells:
        cells.append(f'<span class="vx-lane-empty">{escape(note or "nothing " + verb)}</span>')
    return (
        f'<div class="vx-lane vx-lane-{kind}"><div class="vx-lane-name">'
        f'<i class="vx-swatch-{kind}"></i>{escape(name)}</div>'
        f'<div class="vx-track">{"".join(cells)}</div></div>'
    )


def _a_lane_shows(shots: Sequence[ShotCut], lanes: dict[str, list[Bar]], duration_s: float) -> bool:
    """True when one lane's bars start at every shot (and nowhere else): the shots, as events."""
    starts = [0.0, *(s.time_s for s in shots if 0 < s.time_s < duration_s)]
    for bars in lanes.values():
        lane = sorted({round(b.start_s, 1) for b in bars})
        if len(lane) == len(starts) and all(
            abs(a - b) <= SAME_TIME_S for a, b in zip(lane, sorted(starts), strict=True)
        ):
            return True
    return False


def _shot_row(video_id: str, shots: Sequence[ShotCut], duration_s: float) -> str:
    edges = [0.0, *(s.time_s for s in shots if 0 < s.time_s < duration_s), duration_s]
    bands = []
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        bands.append(
            f'<button class="vx-shot vx-shot-{i % 2}" {_attrs(video_id, a)} '
            f'style="left:{100 * a / duration_s:.3f}%;width:{100 * (b - a) / duration_s:.3f}%" '
            f'title="shot {i + 1}: {span(a, b)}"></button>'
        )
    return (
        '<div class="vx-lane vx-shots"><div class="vx-lane-name">shots</div>'
        f'<div class="vx-track">{"".join(bands)}</div></div>'
    )


def _axis(duration_s: float) -> str:
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 1e9)
                if duration_s / s <= 10)  # fmt: skip
    ticks = []
    t = 0.0
    while t <= duration_s + 1e-6:
        # A label at the very end is drawn leftwards from its tick, or it would be cut off.
        end = ' class="vx-tick-end"' if t > 0.93 * duration_s else ""
        ticks.append(f'<span{end} style="left:{100 * t / duration_s:.3f}%">{clock(t)}</span>')
        t += step
    return f'<div class="vx-lane vx-axis"><div class="vx-lane-name"></div><div class="vx-track">{"".join(ticks)}</div></div>'  # noqa: E501


# -- the transcript under the player ----------------------------------------------------------


def transcript_html(
    video_id: str,
    speech: Sequence[StoredSaid],
    *,
    empty: tuple[str, str] = ("", ""),
    text_note: tuple[str, str] = ("", ""),
) -> str:
    """What was said, one line per segment with its time; a click seeks and the line being said
    follows playback (:data:`TRANSCRIPT_JS`). ``empty`` (title, hint) says why there is no
    speech; ``text_note`` (title, hint), when given, why there is no on-screen text."""
    if not video_id:
        return ""
    if speech:
        lines = "".join(
            f'<li><button class="vx-line" {_attrs(video_id, x.start_s, x.id)} '
            f'data-end="{x.end_s:.3f}"><span class="vx-t">{clock(x.start_s)}</span>'
            f"<span>{escape(x.text)}</span></button></li>"
            for x in speech
        )
        plural = "s" if len(speech) != 1 else ""
        body = (
            f'<div class="vx-transcript-head">Transcript · {len(speech)} line{plural}</div>'
            f'<ol class="vx-lines">{lines}</ol>'
        )
    else:
        # A line, not the boxed empty state: under the player, a box would push the timeline
        # below the first screen for every silent video.
        body = _note(*empty) if empty[0] else ""
    if text_note[0]:
        body += _note(*text_note)
    return f'<div class="vx-transcript">{body}</div>'


def _note(title: str, hint: str) -> str:
    return f'<p class="vx-note"><b>{escape(title)}</b> {escape(hint)}</p>'


# -- indexing progress -------------------------------------------------------------------------


PREPARING_COPY = "preparing the browser copy…"


@dataclass(frozen=True, slots=True)
class JobView:
    """What one job's card shows; built from ``ui.jobs.Job`` by the app."""

    title: str
    status: JobStatus
    stage: Stage | Literal["waiting"]
    """Where the video's indexing stands; ``waiting`` until its first progress event."""
    fraction: float
    clips_done: int
    clips_total: int
    clips_cached: int
    clips_failed: int
    events: int
    tokens: int
    cost_usd: float
    eta_s: float | None
    error: str
    video_id: str = ""
    openable: bool = False
    """Finished with events: the card opens the video's timeline when clicked."""
    batch_id: str = ""
    """The batch (one Start press or re-index) the video was indexed in."""
    batch_cost_cap_usd: float | None = None
    """The batch's one cost cap, shared by all its videos."""
    batch_concurrency: int = 0
    """The batch's one limit on model calls at once, shared by all its videos."""
    preparing_copy: bool = False
    """Indexed, and the player's browser copy is still being made (``ui.player``)."""


def jobs_html(jobs: Sequence[JobView]) -> str:
    """The jobs' cards, grouped by batch under a line with the batch's shared limits."""
    if not jobs:
        return empty_state(
            "Nothing is being indexed",
            "Drop videos above, check the estimate, and press Start indexing.",
        )
    batches = [list(g) for _, g in itertools.groupby(jobs, key=lambda j: j.batch_id)]
    return '<div class="vx-jobs">' + "".join(_batch_html(b) for b in batches) + "</div>"


def _batch_html(jobs: Sequence[JobView]) -> str:
    first = jobs[0]
    finished = sum(1 for j in jobs if j.status not in ACTIVE)
    spent = f"${sum(j.cost_usd for j in jobs):.4f} spent"
    if first.batch_cost_cap_usd is not None:
        spent += f" of the batch's ${first.batch_cost_cap_usd:.4f} cap"
    facts = [
        f"{len(jobs)} video{'s' if len(jobs) != 1 else ''}, {finished} finished",
        spent,
        f"up to {first.batch_concurrency} model calls at once",
    ]
    head = f'<div class="vx-batch-head">{" · ".join(escape(f) for f in facts)}</div>'
    return f'<div class="vx-batch">{head}{"".join(_job_card(j) for j in jobs)}</div>'


def _job_card(j: JobView) -> str:
    pct = round(100 * j.fraction)
    facts = [
        f"clips {j.clips_done}/{j.clips_total or '?'}",
        f"{j.events} events",
        f"{j.tokens:,} tokens",
        f"${j.cost_usd:.4f}",
    ]
    if j.clips_cached:
        facts.append(f"{j.clips_cached} from cache")
    if j.clips_failed:
        facts.append(f"{j.clips_failed} failed")
    if j.status == JobStatus.RUNNING and j.eta_s is not None:
        facts.append(f"ETA {clock(j.eta_s)}")
    if j.preparing_copy:
        facts.append(PREPARING_COPY)
    stage = j.stage if j.status == JobStatus.RUNNING else j.status
    error = f'<div class="vx-job-error">{escape(j.error)}</div>' if j.error else ""
    tag, click, open_hint = "div", "", ""
    if j.openable:
        tag, click = "button", " " + _attrs(j.video_id, 0.0)
        open_hint = '<span class="vx-open">Open timeline →</span>'
    return (
        f'<{tag} class="vx-job vx-status-{escape(j.status)}" data-status="{escape(j.status)}"'
        f'{click}><div class="vx-job-head"><b>{escape(j.title)}</b>'
        f'<span class="vx-badge">{escape(stage)}</span>{open_hint}</div>'
        f'<div class="vx-progress"><div style="width:{pct}%"></div></div>'
        f'<div class="vx-job-facts">{" · ".join(escape(f) for f in facts)}</div>{error}</{tag}>'
    )


# -- characters and causes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CharacterCard:
    character_id: str
    name: str
    description: str
    first_seen_s: float | None
    appearances: int
    thumbnail_jpeg: bytes | None
    clips: tuple[tuple[float, float], ...] = ()
    """(start_s, end_s) of each clip the character was seen in: one card for a person that
    consolidation followed across clips, with where."""


def _reindex_with(finders: Sequence[str]) -> str:
    return " or ".join(finders) if finders else "an indexer that has a model"


def characters_html(
    video_id: str, cards: Sequence[CharacterCard], *, finders: Sequence[str] = ()
) -> str:
    """The character cards; ``finders`` names the indexers that find characters (for the
    empty state), each as ``"<display name> (indexer <name>)"``."""
    if not cards:
        return empty_state(
            "No characters in this video's index",
            "The indexer that made it names no one (the offline one measures the signal "
            f"only); re-index with {_reindex_with(finders)} to find people and follow "
            "them across clips.",
        )
    out = []
    for c in cards:
        start = c.first_seen_s if c.first_seen_s is not None else 0.0
        img = (
            f'<img alt="" src="data:image/jpeg;base64,{_b64(c.thumbnail_jpeg)}">'
            if c.thumbnail_jpeg
            else f'<div class="vx-avatar" style="background:{colour_for(c.name)}">'
            f"{escape(c.name[:1].upper() or '?')}</div>"
        )
        out.append(
            f'<button class="vx-card" {_attrs(video_id, start, c.character_id)} '
            f'title="Jump to first appearance">{img}<div><b>{escape(c.name)}</b>'
            f"<p>{escape(c.description)}</p><small>first seen {clock(c.first_seen_s)} · "
            f"{c.appearances} appearance{'s' if c.appearances != 1 else ''}</small>"
            f"{_clip_list(c.clips)}</div></button>"
        )
    return '<div class="vx-cards">' + "".join(out) + "</div>"


def _clip_list(clips: Sequence[tuple[float, float]]) -> str:
    if not clips:
        return ""
    where = ", ".join(span(start_s, end_s) for start_s, end_s in clips)
    n = len(clips)
    return f'<small class="vx-clips">in {n} clip{"s" if n != 1 else ""}: {escape(where)}</small>'


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One event in a causal chain, with the relation that leads to the next step."""

    event_id: str
    start_s: float
    end_s: float
    label: str
    description: str
    relation_to_next: str = ""
    explanation_to_next: str = ""


def causes_html(
    video_id: str, chains: Sequence[Sequence[ChainStep]], *, finders: Sequence[str] = ()
) -> str:
    """The causal chains; ``finders`` names the indexers that find causal links."""
    if not chains:
        return empty_state(
            "No causal links in this video's index",
            f"Causal links come from {_reindex_with(finders)}: what led to what, "
            "across clips. The offline indexer measures the signal and links nothing.",
        )
    out = []
    for chain in chains:
        parts = []
        for step in chain:
            parts.append(
                f'<button class="vx-chip" {_attrs(video_id, step.start_s, step.event_id)} '
                f'title="{escape(step.description)}"><span>{span(step.start_s, step.end_s)}'
                f"</span> {escape(step.label or step.description[:40])}</button>"
            )
            if step.relation_to_next:
                parts.append(
                    f'<span class="vx-arrow" title="{escape(step.explanation_to_next)}">'
                    f"{escape(step.relation_to_next)} →</span>"
                )
        out.append(f'<div class="vx-chain">{"".join(parts)}</div>')
    return '<div class="vx-chains">' + "".join(out) + "</div>"


def header_html(videos: int, events: int, cost_usd: float, running: int) -> str:
    busy = f' · <span class="vx-live">indexing {running}</span>' if running else ""
    return (
        '<div class="vx-header"><div><h1>videoidx</h1><p>Search long videos by what happens in '
        "them; ask questions and jump to the moments that answer them.</p></div>"
        f'<div class="vx-stats">{videos} video{"s" if videos != 1 else ""} · {events:,} events · '
        f"${cost_usd:.2f} spent{busy}</div></div>"
    )


def library_rows(
    summaries: Sequence[VideoSummary], costs: Mapping[str, float], live: Mapping[str, str]
) -> list[list[object]]:
    """Rows for the library table; ``live`` holds the status of videos being indexed now."""
    return [
        [
            v.title,
            clock(v.duration_s),
            live.get(v.video_id) or v.last_run_status or "not indexed",
            v.clips,
            v.clips_failed,
            v.events,
            f"${costs.get(v.video_id, 0.0):.4f}",
            v.video_id,
        ]
        for v in summaries
    ]

"""The page's data: everything a view shows, read from the store, the job queue and the player.

Kept apart from the Gradio wiring (``app.py``) so each view's content is a plain function that
tests call directly. Nothing here holds per-visitor state; that lives in the page's ``gr.State``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import videoidx
from indexers import create_transcriber, open_transcriber
from indexers.text import OFF, text_reader_status
from ui.jobs import Job, JobQueue, JobStatus
from ui.player import PlayerFiles
from ui.render import Bar, ChainStep, CharacterCard, JobView, clock, md_text, span
from ui.safety import public_text
from videoidx import (
    ConfigError,
    SearchHit,
    Settings,
    Store,
    StoredEvent,
    VideoIdxError,
    VideoInfo,
    search,
)
from videoidx.service.paths import PathRule, allowed_folders
from videoidx.store import StoredSaid
from videoidx.store.search import resolve_mode

SEARCH_LIMIT = 50


@dataclass
class PageContext:
    """What every handler of one served page shares."""

    settings: Settings
    store: Store
    jobs: JobQueue
    player: PlayerFiles
    upload_dir: Path
    _speech_engine: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    """Speech settings -> (display name, why it cannot run) of the transcriber, asked once."""

    # -- library -------------------------------------------------------------------------------

    def costs_by_video(self) -> dict[str, float]:
        return self.store.cost_by_video()

    def library_fingerprint(self) -> str:
        """Changes whenever a video, clip, run or character is added, finished or removed."""
        return self.store.library_fingerprint()

    def live_status(self) -> dict[str, Literal["indexing", "queued"]]:
        """video_id -> "indexing" or "queued" for videos with an active job."""
        out: dict[str, Literal["indexing", "queued"]] = {}
        for job in self.jobs.snapshot():
            if job.active and job.progress is not None and job.progress.video_id:
                out[job.progress.video_id] = (
                    "indexing" if job.status == JobStatus.RUNNING else "queued"
                )
        return out

    def video_choices(self) -> list[tuple[str, str]]:
        """(label, video_id) for the video pickers, in the order videos were added."""
        return [
            (f"{v.title} ({clock(v.duration_s)}, {v.events} events)", v.video_id)
            for v in self.store.list_videos()
        ]

    def video(self, video_id: str | None) -> VideoInfo | None:
        return self.store.video(video_id) if video_id else None

    # -- timeline ------------------------------------------------------------------------------

    def events(self, video_id: str) -> list[StoredEvent]:
        return self.store.events(video_id)

    @staticmethod
    def event_rows(events: Sequence[StoredEvent]) -> list[list[object]]:
        return [
            [span(e.start_s, e.end_s), e.label, e.description, ", ".join(e.characters)]
            for e in events
        ]

    @staticmethod
    def bars(events: Sequence[StoredEvent]) -> list[Bar]:
        return [Bar(e.id, e.start_s, e.end_s, e.label, e.description, e.characters) for e in events]

    def labels_and_characters(self, video_id: str | None) -> tuple[list[str], list[str]]:
        if not video_id:
            return [], []
        labels = sorted({e.label for e in self.store.events(video_id) if e.label})
        names = sorted({c.name for c in self.store.characters(video_id) if c.name})
        return labels, names

    def search(
        self,
        query: str,
        *,
        video_id: str | None,
        start_text: str = "",
        end_text: str = "",
        character: str | None = None,
        label: str | None = None,
        mode: str | None = None,
    ) -> list[SearchHit]:
        """Search the whole library (``video_id`` None) or one video, with the page's filters;
        ``mode`` None is hybrid when the library has vectors of the configured embedder."""
        return search(
            self.store,
            query,
            mode=mode,
            embedder=None if mode == "keyword" else videoidx.query_embedder(self.settings),
            video_ids=[video_id] if video_id else None,
            start_s=parse_clock(start_text, "From"),
            end_s=parse_clock(end_text, "To"),
            character=character or None,
            label=label or None,
            limit=SEARCH_LIMIT,
        )

    def search_mode(self, mode: str | None) -> str:
        """The mode a search with ``mode`` runs in here (what the page says it did)."""
        embedder = None if mode == "keyword" else videoidx.query_embedder(self.settings)
        return resolve_mode(self.store, mode, embedder)

    @staticmethod
    def hit_rows(hits: Sequence[SearchHit], *, show_video: bool) -> list[list[object]]:
        """One row per hit; a speech or on-screen text hit says what it is and shows the words
        said or shown."""
        return [
            [span(h.start_s, h.end_s), *([h.title] if show_video else []), *_hit_cells(h)]
            for h in hits
        ]

    def selected_markdown(
        self, event_id: str | None, start_s: float, *, video_id: str = "", item_id: str = ""
    ) -> str:
        """The panel under the player: the selected event, or the words of a selected spoken
        segment or on-screen text span (``item_id`` in ``video_id``), or only the time."""
        event = self.store.event(event_id) if event_id else None
        if event is None:
            return self._said_markdown(video_id, item_id) or f"**At {clock(start_s)}**"
        # Every field came from a model (or OCR): shown as text, never rendered as Markdown.
        who = f"  \nwith {md_text(', '.join(event.characters))}" if event.characters else ""
        where = f"  \nat {md_text(event.location)}" if event.location else ""
        text = f"  \non screen: “{md_text(event.on_screen_text)}”" if event.on_screen_text else ""
        return (
            f"**{span(event.start_s, event.end_s)} · {md_text(event.label)}**  \n"
            f"{md_text(event.description)}{who}{where}{text}"
        )

    # -- what was said and shown -------------------------------------------------------------

    def speech(self, video_id: str) -> list[StoredSaid]:
        return self.store.speech(video_id)

    def screen_texts(self, video_id: str) -> list[StoredSaid]:
        return self.store.screen_texts(video_id)

    def _said_markdown(self, video_id: str, item_id: str) -> str:
        if not video_id or not item_id:
            return ""
        for x in (*self.speech(video_id), *self.screen_texts(video_id)):
            if x.id == item_id:
                verb = HIT_KINDS.get(x.kind, x.kind)
                # Outside-world text: shown as text, never rendered as Markdown.
                return f"**{span(x.start_s, x.end_s)} · {verb}**  \n“{md_text(x.text)}”"
        return ""

    def speech_absence(self, video_id: str) -> tuple[str, str]:
        """(title, hint) of the empty state of a video with no speech: where speech comes from
        and why this video has none."""
        info = self.video(video_id)
        if info is not None and not info.has_audio:
            return (
                "No speech: this video has no audio stream",
                "Speech is transcribed from the video's sound track; this file has none.",
            )
        ran = self.store.last_run_settings(video_id)
        if "transcriber" in ran and _speech_off(self.settings, str(ran["transcriber"])):
            return (
                "No speech: transcription was off when this video was indexed",
                f"Its run had transcriber = {ran['transcriber']!r}; choose a transcriber in the "
                "[speech] settings and re-index the video to see what was said.",
            )
        name, why = self._transcriber_state()
        if why:
            return ("No speech: no transcriber can run here", public_text(why))
        if not name:
            return (
                "No speech: transcription is off",
                "The [speech] transcriber setting is off; choose a transcriber and re-index "
                "the video to see what was said.",
            )
        return (
            "No speech found",
            f"The {name} transcriber heard no words. Indexed before a transcriber was "
            "installed? Re-index it.",
        )

    def text_absence(self, video_id: str) -> tuple[str, str]:
        """(title, hint) for a video with no on-screen text: where it comes from, why none."""
        ran = self.store.last_run_settings(video_id)
        if str(ran.get("ocr_engine", "")).strip().lower() == OFF:
            return (
                "No on-screen text: reading it was off when this video was indexed",
                "Set ocr_engine to auto and re-index the video to read titles and slides.",
            )
        try:
            status = text_reader_status(self.settings)
        except VideoIdxError as exc:
            return ("No on-screen text:", public_text(str(exc)))
        if not status.on:
            return ("No on-screen text:", public_text(status.describe()))
        return (
            "No on-screen text found:",
            f"text is read by {status.engine} on the first frame and where the picture "
            "changes; it found none legible in this video (or the video was indexed before "
            "a reader was installed: re-index it).",
        )

    def _transcriber_state(self) -> tuple[str, str]:
        """(display name, "") of the transcriber the page's settings choose, ("", "") when
        they switch it off, or ("", why) when it cannot run here. Asked once per setting: a
        local model is loaded to know (and stays loaded for the page's own indexing)."""
        key = repr(self.settings.speech)
        if key not in self._speech_engine:
            try:
                transcriber, why = open_transcriber(self.settings)
            except VideoIdxError as exc:
                transcriber, why = None, str(exc)
            name = ""
            if transcriber is not None:
                name = transcriber.display_name or transcriber.name
                transcriber.close()
            self._speech_engine[key] = (name, why)
        return self._speech_engine[key]

    # -- characters and causes -----------------------------------------------------------------

    def character_cards(self, video_id: str) -> list[CharacterCard]:
        cards = []
        clip_of = {cc.id: cc.clip_index for cc in self.store.clip_characters(video_id)}
        spans = {c.clip_index: (c.start_s, c.end_s) for c in self.store.clips(video_id)}
        for c in self.store.characters(video_id):
            seen = self.store.appearances(video_id, character_id=c.id)
            thumb = next(
                (t for a in seen if a.event_id and (t := self.store.thumbnail(a.event_id))), None
            )
            first = c.first_seen_s if c.first_seen_s is not None else (
                seen[0].start_s if seen else None
            )  # fmt: skip
            indices = sorted({clip_of[m] for m in c.member_ids if m in clip_of})
            clips = tuple(spans[i] for i in indices if i in spans)
            cards.append(CharacterCard(c.id, c.name, c.description, first, len(seen), thumb, clips))
        return cards

    def chains(self, video_id: str) -> list[list[ChainStep]]:
        """Causal links joined into chains: each link extends the chain that ends at its cause."""
        events = {e.id: e for e in self.store.events(video_id)}
        chains: list[list[ChainStep]] = []
        tail_of: dict[str, list[ChainStep]] = {}
        for link in self.store.links(video_id):
            cause, effect = events.get(link.cause_id), events.get(link.effect_id)
            if cause is None or effect is None:
                continue
            chain = tail_of.pop(cause.id, None)
            if chain is None:
                chain = [_step(cause)]
                chains.append(chain)
            chain[-1] = _step(cause, link.relation or "causes", link.explanation)
            chain.append(_step(effect))
            tail_of[effect.id] = chain
        return chains

    # -- indexing ------------------------------------------------------------------------------

    @property
    def path_rule(self) -> PathRule:
        """Which server folders the page's folder field (and the API) may queue from."""
        return PathRule(allowed_folders(self.settings, self.upload_dir))

    def job_views(self) -> list[JobView]:
        preparing = self.player.preparing_ids()
        return [_job_view(j, preparing) for j in self.jobs.snapshot()[:20]]

    def estimate(self, paths: Sequence[str], settings: Settings) -> str:
        """The dry-run line shown before indexing starts: clips, frames and cost per file."""
        if not paths:
            return "Add videos to see what indexing them will cost."
        chosen = videoidx.indexer_choice(settings.provider.indexer)
        providers = [settings.provider.provider] if chosen.offers_providers else []
        priced = chosen.priced and bool(providers)
        lines, total_usd, total_s = [], 0.0, 0.0
        for path in paths:
            plan = videoidx.plan_video(path, settings, providers)
            name = md_text(Path(path).name)
            if plan.info is None:
                why = md_text(public_text(without_path(plan.error, path)))
                lines.append(f"- **{name}**: cannot be indexed: {why}")
                continue
            total_s += plan.info.duration_s
            frames = sum(c.frames for c in plan.clips)
            cost = sum(e.cost_usd for e in plan.estimates)
            total_usd += cost
            price = f", about **${cost:.4f}**" if priced else ""
            lines.append(
                f"- **{name}**: {clock(plan.info.duration_s)}, {len(plan.clips)} clips, "
                f"{frames} frames{price}"
            )
        if priced:
            model = md_text(settings.provider.model or "its default model")
            lines.append(
                f"\nEstimated total on **{md_text(settings.provider.provider)}** ({model}): "
                f"**${total_usd:.4f}** for {clock(total_s)} of video. Real runs snap clips to "
                "shot cuts, so the count can differ slightly."
            )
        else:
            lines.append(f"\n{_free_note(chosen)}")
        return "\n".join(lines)

    @staticmethod
    def key_problem(settings: Settings) -> str:
        """Why indexing cannot start with these settings (the indexer's own check), or ""."""
        try:
            videoidx.check_ready(settings)
        except VideoIdxError as exc:
            return str(exc)
        return ""


def _free_note(chosen: videoidx.IndexerChoice) -> str:
    """What running an indexer that costs nothing involves, from what it declares."""
    where = "sends frames over the network" if chosen.needs_network else "runs on this machine"
    key = "needs an API key" if chosen.needs_key else "no key"
    network = "" if chosen.needs_network else ", no network"
    return f"The {md_text(chosen.display_name)} indexer {where}: {key}{network}, **no cost**."


def _step(e: StoredEvent, relation: str = "", explanation: str = "") -> ChainStep:
    return ChainStep(e.id, e.start_s, e.end_s, e.label, e.description, relation, explanation)


def _job_view(job: Job, preparing_copies: frozenset[str] = frozenset()) -> JobView:
    p = job.progress
    r = job.result
    return JobView(
        title=job.title,
        status=job.status,
        stage=p.stage if p else "waiting",
        fraction=1.0
        if r is not None and job.status == JobStatus.DONE
        else (p.fraction if p else 0.0),
        clips_done=p.clips_done if p else 0,
        clips_total=p.clips_total if p else 0,
        clips_cached=p.clips_cached if p else 0,
        clips_failed=p.clips_failed if p else 0,
        events=p.events if p else 0,
        tokens=p.tokens if p else 0,
        cost_usd=p.cost_usd if p else 0.0,
        eta_s=p.eta_s if p else None,
        error=public_text(job.error),
        video_id=(r.video_id if r else "") or (p.video_id if p else ""),
        openable=r is not None and not job.active and r.events > 0,
        batch_id=job.batch_id,
        batch_cost_cap_usd=job.settings.pipeline.max_cost_usd,
        batch_concurrency=job.settings.pipeline.concurrency,
        preparing_copy=bool(r and r.video_id in preparing_copies),
    )


def _speech_off(settings: Settings, transcriber: str) -> bool:
    """Whether ``transcriber`` (a run's setting) is the value that switches speech off."""
    try:
        return create_transcriber(settings.replace(transcriber=transcriber)) is None
    except VideoIdxError:
        return False


def without_path(text: str, path: str | Path) -> str:
    """``text`` naming ``path`` by its file name only: a server folder may hold spaces, which
    :func:`public_text` cannot tell from the words around it."""
    return text.replace(str(path), Path(path).name)


def parse_clock(text: str | None, field_name: str) -> float | None:
    """``1:05``, ``1:02:03``, ``95`` or ``95s`` to seconds; blank is no filter."""
    if text is None or not text.strip():
        return None
    seconds = videoidx.parse_seconds(text)
    if seconds is None:
        raise ConfigError(
            f"{field_name} time {text!r} is not a time; write it as m:ss, h:mm:ss or seconds"
        )
    return seconds


def error_text(exc: VideoIdxError) -> str:
    """An error for a Markdown view: file names without the server's folders, shown as text."""
    return f"⚠️ {md_text(public_text(str(exc)))}"


HIT_KINDS = {"speech": "said", "screen_text": "on screen"}
"""How the search table names hits that are not events."""


def _hit_cells(hit: SearchHit) -> list[object]:
    """The label and text cells of a search hit."""
    if hit.kind in HIT_KINDS:
        return [HIT_KINDS[hit.kind], f"“{hit.label}”"]
    return [hit.label, hit.description]

"""Dry runs: the clip plan with estimated tokens and cost per provider, calling nothing.

A dry run probes each file and plans its clips (without the shot pass, so it takes seconds even
on hours of video). A real run snaps each boundary to a shot cut, so the count it makes can differ
from this plan by a few; the plan says how few and how many clips any cuts could give
(:func:`clip_count_range`), so "10 clips" is never followed by a run of 9 without warning. It
then counts the frames each clip would send and asks each provider profile's indexer what that
costs. Nothing is decoded beyond the probe and no model is called. A provider is priced by the
registered indexer that offers it (the configured indexer first), so a dry run knows no adapter.

The table says first which indexer the run would use and what it costs; when that indexer is
free (it declares ``priced = False``), the provider prices are shown only as "if you used ...":
pricing a paid model without saying the run would not call it reads as the run's cost.

Speech is priced too (:class:`SpeechEstimate`): the minutes of audio the run would transcribe
(every clip of a video with an audio stream), the requests (a remote service takes each clip in
pieces of at most its ``max_seconds_per_request``, 30 s for Z.AI), and the cost where the
transcriber's profile has a price; the offline default says it is free. Its cost is part of the
run's total. So are embeddings (:mod:`videoidx.pipeline.embed_estimate`): the texts a run would
embed, estimated from the clips' expected replies and the audio, priced by the embedder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from indexers import Transcriber, create_indexer, create_transcriber
from videoidx.catalog import indexer_choice, provider_choices
from videoidx.errors import ConfigError, VideoIdxError
from videoidx.media.plan import clip_count_range, plan_clips
from videoidx.media.probe import probe
from videoidx.media.sample import output_size_px
from videoidx.pipeline.bulk import Unmatched, expand_inputs, videos_of
from videoidx.pipeline.embed_estimate import EmbeddingEstimate, embedding_line, estimate_embeddings
from videoidx.settings import Settings
from videoidx.times import clock
from videoidx.types import ClipSpec, VideoInfo
from videoidx.wording import count


@dataclass(frozen=True)
class ClipEstimate:
    clip: ClipSpec
    frames: int
    frame_size_px: tuple[int, int]


@dataclass(frozen=True)
class ProviderEstimate:
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    indexer: str = ""
    """The registered indexer that offers the provider (and priced it)."""


@dataclass(frozen=True)
class RunChoice:
    """What a real run with these settings would use, as a dry run reports it."""

    indexer: str
    display_name: str
    priced: bool
    needs_network: bool
    provider: str = ""
    """The provider the run would call; empty when the indexer offers none."""

    def uses(self, estimate: ProviderEstimate) -> bool:
        """True when ``estimate`` prices what the run would call."""
        return bool(self.provider) and (estimate.indexer, estimate.provider) == (
            self.indexer,
            self.provider,
        )


def run_choice(settings: Settings) -> RunChoice:
    """The indexer (and provider) a real run with ``settings`` would use, from the registry."""
    chosen = indexer_choice(settings.provider.indexer)
    return RunChoice(
        indexer=chosen.name,
        display_name=chosen.display_name,
        priced=chosen.priced,
        needs_network=chosen.needs_network,
        provider=settings.provider.provider if chosen.offers_providers else "",
    )


@dataclass(frozen=True)
class SpeechEstimate:
    """What transcribing one video's speech would take: audio, requests and money."""

    transcriber: str
    """The registry name (``local``, ``remote``...)."""
    display_name: str
    model: str
    audio_s: float
    """Seconds of audio sent to the transcriber (0 without an audio stream)."""
    requests: int
    """Requests to a service (0 for an engine on this machine)."""
    cost_usd: float
    priced: bool
    needs_network: bool

    @property
    def audio_min(self) -> float:
        return self.audio_s / 60.0


@dataclass
class VideoPlan:
    path: str
    info: VideoInfo | None = None
    clips: list[ClipEstimate] = field(default_factory=list)
    estimates: list[ProviderEstimate] = field(default_factory=list)
    error: str = ""
    speech: SpeechEstimate | None = None
    """None when the settings switch speech off."""
    embeddings: EmbeddingEstimate | None = None
    """None when the settings switch embeddings off."""
    clips_fewest: int = 0
    clips_most: int = 0
    """The range of clip counts a real run can make once it snaps to shot cuts."""

    def clips_said(self) -> str:
        """The clip count as the plan can promise it: "10 clips (9 to 11 ...)"."""
        said = count(len(self.clips), "clip")
        if self.clips_fewest == self.clips_most:
            return said
        return f"{said} ({self.clips_fewest} to {self.clips_most} once snapped to shot cuts)"


def frames_per_clip(clip: ClipSpec, settings: Settings) -> int:
    """Frames the sampler would send: uniform fill at ``frame_max_gap_s``, within the budget."""
    media = settings.media
    uniform = math.ceil(clip.duration_s / media.frame_max_gap_s) + 1
    return max(1, min(media.frame_budget, uniform))


def plan_inputs(
    paths_or_glob: str | Path | Sequence[str | Path], settings: Settings, providers: Sequence[str]
) -> list[VideoPlan]:
    """Plan every video the arguments name, as a real run expands them (``expand_inputs``): a
    folder or glob without videos is one plan with its reason, and the others are planned."""
    entries = expand_inputs(paths_or_glob)
    videos_of(entries)  # nothing at all to plan is an error, as for a real run
    return [
        VideoPlan(path=e.item, error=e.reason)
        if isinstance(e, Unmatched)
        else plan_video(e, settings, providers)
        for e in entries
    ]


def plan_video(path: str | Path, settings: Settings, providers: Sequence[str]) -> VideoPlan:
    """Plan one file and price it for each named provider profile."""
    plan = VideoPlan(path=str(path))
    try:
        info = probe(path, ffmpeg_path=settings.media.ffmpeg_path)
    except VideoIdxError as exc:
        plan.error = str(exc)
        return plan
    plan.info = info
    size = output_size_px(info.width_px, info.height_px, settings.media.frame_long_side_px)
    plan.clips = [
        ClipEstimate(clip, frames_per_clip(clip, settings), size)
        for clip in plan_clips(info, [], settings.media)
    ]
    plan.clips_fewest, plan.clips_most = clip_count_range(info.duration_s, settings.media)
    plan.speech = estimate_speech(info, [c.clip for c in plan.clips], settings)
    for name in providers:
        offered_by = indexer_offering(name, settings)
        indexer = create_indexer(settings.replace(indexer=offered_by, provider=name))
        try:
            prompt = completion = 0
            cost = 0.0
            for est in plan.clips:
                usage = indexer.estimate_usage(
                    [est.frame_size_px] * est.frames, est.clip.duration_s
                )
                prompt += usage.prompt_tokens
                completion += usage.completion_tokens
                cost += usage.cost_usd
            plan.estimates.append(
                ProviderEstimate(name, indexer.model_id, prompt, completion, cost, offered_by)
            )
        finally:
            indexer.close()
    plan.embeddings = estimate_embeddings(
        _reply_tokens(plan, settings), plan.speech.audio_s if plan.speech else 0.0, settings
    )
    return plan


def _reply_tokens(plan: VideoPlan, settings: Settings) -> list[int]:
    """Each clip's expected reply by the run's own indexer (0 when it writes none)."""
    run = run_choice(settings)
    if not run.priced and not run.provider:
        return [0] * len(plan.clips)
    indexer = create_indexer(settings)
    try:
        return [
            indexer.estimate_usage(
                [c.frame_size_px] * c.frames, c.clip.duration_s
            ).completion_tokens
            for c in plan.clips
        ]
    finally:
        indexer.close()


def estimate_speech(
    info: VideoInfo, clips: Sequence[ClipSpec], settings: Settings
) -> SpeechEstimate | None:
    """Speech of one video as the run would transcribe it: clip by clip (each clip's audio is
    one call of the transcriber), nothing without an audio stream; None when speech is off."""
    transcriber = create_transcriber(settings)
    if transcriber is None:
        return None
    try:
        return _speech_of(transcriber, clips if info.has_audio else [])
    finally:
        transcriber.close()


def _speech_of(transcriber: Transcriber, clips: Sequence[ClipSpec]) -> SpeechEstimate:
    audio_s, requests, cost = 0.0, 0, 0.0
    for clip in clips:
        usage = transcriber.estimate_usage(clip.duration_s)
        audio_s += clip.duration_s
        requests += usage.requests
        cost += usage.cost_usd
    return SpeechEstimate(
        transcriber=transcriber.name,
        display_name=transcriber.display_name or transcriber.name,
        model=transcriber.model_id,
        audio_s=audio_s,
        requests=requests if transcriber.needs_network else 0,
        cost_usd=cost,
        priced=transcriber.priced,
        needs_network=transcriber.needs_network,
    )


def speech_line(speech: SpeechEstimate | None, has_audio: bool) -> str:
    """One line saying what transcribing a video's speech would take."""
    if speech is None:
        return "speech: off (transcriber = none)"
    if not has_audio:
        return "speech: none (no audio stream)"
    what = f"{speech.display_name}, {speech.model}"
    minutes = f"{speech.audio_min:.1f} min of audio"
    if not speech.needs_network:
        return f"speech: {what}: {minutes} on this machine, free"
    price = f"${speech.cost_usd:.4f}" if speech.priced else "no price known (free or unpriced)"
    return f"speech: {what}: {minutes}, {count(speech.requests, 'request')}, {price}"


def indexer_offering(provider: str, settings: Settings) -> str:
    """The indexer that prices ``provider``: the configured one when it offers it, else the
    first registered indexer that does."""
    offering = [c.indexer for c in provider_choices() if c.name == provider]
    if not offering:
        known = ", ".join(sorted({c.name for c in provider_choices()})) or "(none)"
        raise ConfigError(f"no indexer offers provider {provider!r}; choose one of: {known}")
    return settings.provider.indexer if settings.provider.indexer in offering else offering[0]


def format_plans(plans: Sequence[VideoPlan], run: RunChoice | None = None) -> str:
    """A human-readable table of the plans, one block per video and a total per provider.

    With ``run`` (what a real run would use), the table opens with that indexer and its cost,
    and every price of something the run would not call reads "if you used ..."."""
    lines: list[str] = [] if run is None else [_run_line(run)]
    totals: dict[tuple[str, str], float] = {}
    hours = 0.0
    speech_usd = embed_usd = 0.0
    for plan in plans:
        if plan.info is None:
            lines.append(f"{plan.path}: cannot index: {plan.error}")
            continue
        frames = sum(c.frames for c in plan.clips)
        w, h = plan.clips[0].frame_size_px if plan.clips else (0, 0)
        hours += plan.info.duration_s / 3600
        lines.append(
            f"{plan.info.title}: {clock(plan.info.duration_s)}, {plan.clips_said()}, "
            f"{count(frames, 'frame')} at {w}x{h}"
        )
        lines.append("  " + speech_line(plan.speech, plan.info.has_audio))
        if plan.speech is not None and plan.info.has_audio:
            speech_usd += plan.speech.cost_usd
        lines.append("  " + embedding_line(plan.embeddings))
        if plan.embeddings is not None:
            embed_usd += plan.embeddings.cost_usd
        for label, group in _by_label(plan.estimates, run):
            lines.append(f"  {label}:")
            for est in group:
                key = (label, est.provider)
                totals[key] = totals.get(key, 0.0) + est.cost_usd
                lines.append(
                    f"    {est.provider:<12} {est.model:<18} ~{est.prompt_tokens:>9,} in "
                    f"~{est.completion_tokens:>7,} out  ${est.cost_usd:.4f}"
                )
    besides = [
        (what, usd) for what, usd in (("speech", speech_usd), ("embeddings", embed_usd)) if usd > 0
    ]
    said = " and ".join(f"${usd:.4f} for {what}" for what, usd in besides)
    if run is not None and not run.priced:
        if len(besides) == 1:
            lines.append(f"total for this run: {said} ({run.display_name} is free)")
        elif besides:
            total = f"${speech_usd + embed_usd:.4f}"
            lines.append(f"total for this run: {total} ({said}; {run.display_name} is free)")
        else:
            lines.append(f"total for this run: $0 ({run.display_name} is free)")
    elif besides:
        lines.append(f"for this run besides the indexer's cost: {said}")
    if totals:
        lines.append("total:")
        shown = ""
        for (label, provider), cost in totals.items():
            if label != shown:
                lines.append(f"  {label}:")
                shown = label
            per_hour = f" (${cost / hours:.3f} per hour of video)" if hours > 0 else ""
            lines.append(f"    {provider:<12} ${cost:.4f}{per_hour}")
    return "\n".join(lines)


def _run_line(run: RunChoice) -> str:
    """The first line of a dry run: what the real run would use and whether it costs money."""
    if not run.priced:
        where = "sends nothing off this machine" if not run.needs_network else "calls a service"
        return f"this run would use the {run.display_name} indexer ({run.indexer}): free, {where}"
    if not run.provider:  # a priced indexer without providers: the dry run prices providers
        return (
            f"this run would use the {run.display_name} indexer ({run.indexer}): it costs "
            "money, and a dry run has no estimate for it"
        )
    return (
        f"this run would use the {run.display_name} indexer ({run.indexer}) via {run.provider}: "
        'priced under "this run" (estimates; real runs snap clips to shot cuts)'
    )


def _by_label(
    estimates: Sequence[ProviderEstimate], run: RunChoice | None
) -> list[tuple[str, list[ProviderEstimate]]]:
    """The estimates grouped under "this run" or "if you used <indexer> (--indexer name)"."""
    groups: dict[str, list[ProviderEstimate]] = {}
    for est in estimates:
        if run is None:
            label = "estimates"
        elif run.uses(est):
            label = "this run"
        elif est.indexer == run.indexer:
            label = "if you used another provider instead (--provider NAME)"
        else:
            offered = indexer_choice(est.indexer) if est.indexer else None
            name = offered.display_name if offered else est.provider
            flag = f" (--indexer {offered.name} --provider NAME)" if offered else ""
            label = f"if you used {name} instead{flag}"
        groups.setdefault(label, []).append(est)
    return list(groups.items())

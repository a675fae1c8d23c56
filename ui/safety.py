"""Who may reach the page, and what of the server it may see.

Loopback by default; anything wider needs credentials. The page can upload files, spend money on
a paid provider and delete videos, so exposing it without a password is refused rather than warned
about. Credentials come from a file (``--auth-file``) or ``VIDEOIDX_AUTH`` so the password is not
on a command line that every local user can read with ``ps``.

Visitors see file names, never the server's folders: :func:`public_text` cuts the directories
out of every absolute path in a message (Gradio's upload copies under ``/tmp/gradio/<hash>/``,
the upload directory, the library's own folders).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from videoidx import ConfigError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

# The folders of an absolute path (POSIX ``/a/b/`` or Windows ``C:\a\``), not of a URL's path:
# a path starts after a space, a quote or a bracket, never after a host name or a ``/``.
_PATH_DIRS = re.compile(
    r"(?<![\w:/.\\-])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"`<>|]+[/\\])+(?=[^\s/\\'\"`])"
)


# A quoted absolute path may hold spaces in its folders: drop everything up to its last slash.
_QUOTED_PATH = re.compile(r"""(['"`])(?:/|[A-Za-z]:\\)[^'"`\n]*[/\\]([^/\\'"`\n]+)\1""")


def public_text(text: str) -> str:
    """``text`` with every absolute path shortened to its file name, for showing to visitors."""
    return _PATH_DIRS.sub("", _QUOTED_PATH.sub(r"\1\2\1", text))


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
            "set it with --auth-file PATH or VIDEOIDX_AUTH"
        )
    return user, password


def read_auth_file(path: str | Path) -> str:
    """The ``user:password`` line of an auth file (``videoidx serve --auth-file``).

    Refuses, in one line that never quotes the file, a file that cannot be read or does not hold
    exactly one ``user:password`` line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"cannot read the auth file {p}: {reason}; it must hold one line user:password"
        ) from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or parse_auth_or_none(lines[0]) is None:
        raise ConfigError(
            f"the auth file {p} must hold exactly one line user:password (both non-empty)"
        )
    return lines[0]


def parse_auth_or_none(auth: str) -> tuple[str, str] | None:
    try:
        return parse_auth(auth)
    except ConfigError:
        return None


def check_exposure(host: str, port: int, *, share: bool, auth: str | None) -> Exposure:
    """Refuse to serve beyond this machine without credentials; describe what will be served."""
    credentials = parse_auth(auth)
    loopback = is_loopback(host) and not share
    if not loopback and credentials is None:
        where = "a public share link" if share else f"host {host}"
        raise ConfigError(
            f"refusing to serve on {where} without a password: anyone who can reach it could "
            "upload files, spend your provider credit and delete videos. Give a password with "
            "--auth-file PATH (a file holding user:password) or VIDEOIDX_AUTH (--auth "
            "user:password works too, but other local users can read it in ps), or serve on "
            "127.0.0.1"
        )
    shown = f"[{host}]" if ":" in host else host
    return Exposure(url=f"http://{shown}:{port}", loopback=loopback, auth=credentials)

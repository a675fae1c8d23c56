"""``python -m tests``: the whole check, exactly as CI runs it.

Lint (ruff), type check (mypy), then the test suite (pytest). Each step prints what it runs, and
the first failing step stops the run with its exit code, so a red CI names the step that failed.
Extra arguments go to pytest (``python -m tests -k search -x``).

The browser tests drive Debian's Chromium (Playwright cannot download its own browser on these
machines), so a missing ``/usr/bin/chromium`` is installed with apt first, when we may; so is
``espeak-ng``, which the speech tests use to say words at known times (they skip without it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def step(name: str, cmd: list[str]) -> None:
    print(f"==> {name}: {' '.join(cmd)}", flush=True)
    started = time.monotonic()
    code = subprocess.call(cmd, cwd=ROOT)
    print(f"==> {name}: exit {code} in {time.monotonic() - started:.1f} s", flush=True)
    if code != 0:
        sys.exit(code)


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """Install Debian's chromium when it is missing and apt is usable; else say what will skip."""
    if CHROMIUM.exists():
        return
    apt = shutil.which("apt-get")
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if apt is None or sudo is None:
        print(f"==> chromium: {CHROMIUM} missing and apt-get is not usable here; "
              "the browser tests will be skipped", flush=True)  # fmt: skip
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        print(f"==> chromium: {' '.join(cmd)}", flush=True)
        code = subprocess.call([*sudo, *cmd], env=env, stdout=subprocess.DEVNULL)
        if code != 0:
            print(f"==> chromium: install failed (exit {code})", flush=True)
            sys.exit(code)


ESPEAK = "espeak-ng"


def ensure_espeak() -> None:
    """Install Debian's espeak-ng when it is missing and apt is usable; the tests that need it
    skip (and say why) when it cannot be installed."""
    if shutil.which(ESPEAK):
        return
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if shutil.which("apt-get") is None or sudo is None:
        print(f"==> {ESPEAK}: missing and apt-get is not usable here; the generated-speech "
              "tests will be skipped", flush=True)  # fmt: skip
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", ESPEAK]):
        print(f"==> {ESPEAK}: {' '.join(cmd)}", flush=True)
        if subprocess.call([*sudo, *cmd], env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"==> {ESPEAK}: install failed; the generated-speech tests will be skipped",
                  flush=True)  # fmt: skip
            return


def main() -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    ensure_chromium()
    ensure_espeak()
    step("lint", [PY, "-m", "ruff", "check", "."])
    step("format", [PY, "-m", "ruff", "format", "--check", "."])
    step("types", [PY, "-m", "mypy"])
    step("tests", [PY, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    main()

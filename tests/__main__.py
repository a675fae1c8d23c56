"""``python -m tests``: the whole check, exactly as CI runs it.

Lint (ruff), type check (mypy), then the test suite (pytest). Each step prints what it runs, and
the first failing step stops the run with its exit code, so a red CI names the step that failed.
Extra arguments go to pytest (``python -m tests -k search -x``).
"""

from __future__ import annotations

import os
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


def main() -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    step("lint", [PY, "-m", "ruff", "check", "."])
    step("format", [PY, "-m", "ruff", "format", "--check", "."])
    step("types", [PY, "-m", "mypy"])
    step("tests", [PY, "-m", "pytest", *sys.argv[1:]])


if __name__ == "__main__":
    main()

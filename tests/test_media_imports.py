"""The media package imports one way: no module imports (even lazily) one that imports it back.

``sample`` (pure frame choice) and ``shots`` (the cut detector) are leaves; ``scan`` drives the
decode pass on top of them. A cycle here once made the import order matter (``sample`` ->
``scan`` -> ``sample``), so both the static graph and real imports in a fresh interpreter are
checked.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT / "videoidx" / "media"
MODULES = sorted(p.stem for p in MEDIA.glob("*.py") if p.stem != "__init__")


def media_imports(module: str) -> set[str]:
    """The ``videoidx.media`` modules that ``module`` imports, at the top or inside functions."""
    tree = ast.parse((MEDIA / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["videoidx", "media"] and len(parts) > 2 and parts[2] in MODULES:
                found.add(parts[2])
    found.discard(module)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_media_import_graph_has_no_cycle() -> None:
    graph = {m: media_imports(m) for m in MODULES}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_frame_choice_and_cut_detection_are_leaves() -> None:
    assert media_imports("sample") == set()
    assert media_imports("shots") == set()


ORDERS = [
    *[(m,) for m in MODULES],
    *itertools.permutations(("sample", "scan", "shots")),
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(o))
def test_media_modules_import_alone_in_any_order(order: tuple[str, ...]) -> None:
    code = "import importlib\n" + "".join(
        f"importlib.import_module('videoidx.media.{m}')\n" for m in order
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]

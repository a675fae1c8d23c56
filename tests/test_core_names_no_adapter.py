"""The core (``videoidx/``, ``ui/``) names capabilities, never adapters.

The source is read, not imported, so the check covers code that only runs on some paths. Only
the composition root (``indexers/__init__.py``) turns a name into an indexer; the core reads
what the registry's classes declare. In every module of ``videoidx/`` and ``ui/``:

* no import of an adapter package: ``indexers`` and ``indexers.base`` only;
* no string in the code (docstrings are prose and are not read) equal to an adapter's name,
  except the settings' default indexer (``indexer: str = "local"``), and the engine's own
  vocabulary (``engine="local"`` is where work runs, not an indexer);
* no text that picks an adapter by name (``--indexer glm``, ``indexer="local"``, ``indexer glm``),
  in code, comments or docstrings;
* no display name of an adapter (``"GLM-4.5V"``) in strings: the page and the CLI read it from
  the registry.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexers import REGISTRY, TRANSCRIBERS
from indexers.text import TEXT_READERS

ROOT = Path(__file__).resolve().parents[1]
CORE = [ROOT / "videoidx", ROOT / "ui"]
# indexers.text is the on-screen text readers' own composition root (their registry), as
# indexers is the indexers'; the core may ask it what reads text, never name an engine.
ALLOWED_IMPORTS = {"indexers", "indexers.base", "indexers.text", "indexers.text.base"}
REGISTRY_PACKAGES = {"text"}
"""Packages under ``indexers/`` that hold another kind of adapter, not an indexer."""


def adapter_names() -> set[str]:
    """Every registered name (indexers, transcribers and text readers) and every adapter
    package under ``indexers/``."""
    packages = {p.parent.name for p in (ROOT / "indexers").glob("*/__init__.py")}
    return {n.lower() for n in [*REGISTRY, *TRANSCRIBERS, *TEXT_READERS]} | {
        p.lower() for p in packages - REGISTRY_PACKAGES
    }


def display_names() -> set[str]:
    return {d for cls in REGISTRY.values() if (d := getattr(cls, "display_name", ""))}


def core_files() -> list[Path]:
    return sorted(p for folder in CORE for p in folder.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
        # Attribute docstrings: a bare string right after an assignment in a class body.
        if isinstance(node, ast.ClassDef):
            for stmt in node.body[1:]:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    out.add(id(stmt.value))
    return out


def _allowed_constant(rel: str, line: str) -> bool:
    if rel == "videoidx/settings.py" and re.fullmatch(
        r'\s*(indexer|transcriber): str = "local"\s*', line
    ):
        return True  # the default indexer (transcriber) is a value of the settings, not a branch
    return "engine" in line.lower()  # the engine vocabulary (local | ray) is not an indexer


def violations(rel: str, source: str) -> Iterator[str]:
    """What in ``source`` (the file ``rel``, relative to the repository) names an adapter."""
    lines = source.splitlines()
    tree = ast.parse(source)
    names, shown, docs = adapter_names(), display_names(), _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for module in modules:
                if module.startswith("indexers") and module not in ALLOWED_IMPORTS:
                    yield f"{rel}:{node.lineno}: imports adapter module {module}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docs:
                continue
            line = lines[node.lineno - 1]
            if node.value.strip().lower() in names and not _allowed_constant(rel, line):
                yield f"{rel}:{node.lineno}: names adapter {node.value!r}"
            for display in shown:
                if display in node.value:
                    yield f"{rel}:{node.lineno}: shows adapter display name {display!r}"
    picks = re.compile(
        r"(?:--indexer[ =]|\bindexer\s*[=:]\s*[\"'`]*|\bindexer\s+)(" + "|".join(names) + r")\b",
        re.IGNORECASE,
    )
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.STRING, tokenize.COMMENT):
            for match in picks.finditer(token.string):
                lineno = token.start[0] + token.string[: match.start()].count("\n")
                if not _allowed_constant(rel, lines[lineno - 1]):
                    yield f"{rel}:{lineno}: picks adapter {match.group(0)!r}"


def test_the_core_names_no_adapter() -> None:
    assert {"glm", "local"} <= adapter_names()  # the check knows what it looks for
    found = [
        v
        for path in core_files()
        for v in violations(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        "from indexers.glm.parse import extract_json_text\n",
        "import indexers.local.decode\n",
        'if settings.provider.indexer == "glm":\n    pass\n',
        'choices = [("Offline", "local")]\n',
        'HELP = "run videoidx index --indexer glm for characters"\n',
        "def f():\n    # with indexer='local' there is no model\n    return 1\n",
        'LABEL = "GLM-4.5V (provider below)"\n',
    ],
)
def test_the_check_catches_each_way_of_naming_an_adapter(snippet: str) -> None:
    assert list(violations("ui/probe.py", snippet)), snippet


def test_the_allowed_forms_pass() -> None:
    settings = "videoidx/settings.py"
    assert not list(violations(settings, 'class P:\n    indexer: str = "local"\n'))
    assert not list(violations(settings, 'ENGINES = ("local", "ray")  # engine\n'))
    assert not list(violations(settings, '"""Docstring about the glm adapter."""\n'))
    assert list(violations("ui/app.py", 'class P:\n    indexer: str = "local"\n'))

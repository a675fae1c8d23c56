"""Only the store writes SQL against its tables: everything else reads through named methods.

``Store.sql`` runs any query; it is the escape hatch for notebooks, tests and ad-hoc checks. If
the package, the page, the indexers or the benchmarks used it, the schema would have owners
outside ``videoidx/store/`` and a column rename would break code nobody thought of. The source is
read, not imported (like ``test_core_names_no_adapter``), so code on rare paths is covered.
Notebooks and the README show plain ``duckdb.connect(...).sql(...)`` for ad-hoc SQL, which is
what they are for, so only Python modules are checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = (ROOT / "videoidx" / "store", ROOT / "tests")
SKIP_PARTS = {".venv", "venv", "build", "dist", "__pycache__", "node_modules"}
SQL_CALL = re.compile(r"\.sql\s*\(")


def checked_files() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if not SKIP_PARTS & set(p.relative_to(ROOT).parts)
        and not any(p.is_relative_to(a) for a in ALLOWED)
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
    )


def violations(rel: str, source: str) -> Iterator[str]:
    for lineno, line in enumerate(source.splitlines(), 1):
        if SQL_CALL.search(line):
            yield f"{rel}:{lineno}: {line.strip()}"


def test_no_sql_outside_the_store() -> None:
    files = checked_files()
    rels = {p.relative_to(ROOT).as_posix() for p in files}
    # The check reaches what it must: the package, the page, the indexers and the benchmarks.
    assert {"videoidx/pipeline/job.py", "ui/context.py", "benchmarks/search.py"} <= rels
    assert not any(r.startswith(("videoidx/store/", "tests/")) for r in rels)
    found = [
        v
        for path in files
        for v in violations(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    ]
    assert not found, "read through a named Store method instead:\n" + "\n".join(found)


def test_the_check_catches_a_query() -> None:
    snippet = 'rows = self.store.sql(\n    "SELECT status FROM index_runs"\n)\n'
    assert list(violations("ui/probe.py", snippet))
    assert list(violations("ui/probe.py", "n = store.sql ('SELECT 1')[0][0]\n"))
    assert not list(violations("ui/probe.py", "rows = store.library_fingerprint()\n"))

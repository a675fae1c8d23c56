"""What more than one tab uses: tables whose rows jump to a moment, the query row, scopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]

import videoidx

SCOPE_VIDEO, SCOPE_LIBRARY = "This video", "Whole library"

Updates = dict[Any, Any]


def table(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([[str(c) for c in r] for r in rows], columns=list(columns))


def query_row(
    label: str, placeholder: str, name: str, *, scope_label: str, button: str = ""
) -> tuple[Any, Any, Any]:
    """A text box with its button, and the this-video / whole-library choice under it.

    Element ids are ``<name>-box``, ``<name>-btn`` and ``<name>-scope`` (the browser tests use
    them)."""
    with gr.Row():
        box = gr.Textbox(label=label, placeholder=placeholder, elem_id=f"{name}-box", scale=4)
        btn = gr.Button(button or label, variant="primary" if button else "secondary",
                        elem_id=f"{name}-btn", scale=1)  # fmt: skip
    scope = gr.Radio(
        [SCOPE_VIDEO, SCOPE_LIBRARY], value=SCOPE_VIDEO, label=scope_label, elem_id=f"{name}-scope"
    )
    return box, btn, scope


def row_key(row: Sequence[object] | None) -> str:
    return "\x1f".join(str(c) for c in row or ())


def row_index(
    table_rows: Sequence[Sequence[object]], items: Sequence[Any], *, video_id: str = ""
) -> dict[str, tuple[str, float, str]]:
    """Table row text -> (video_id, start_s, id); a row is found by what it shows, so a table
    the visitor sorted still jumps to the right moment."""
    out: dict[str, tuple[str, float, str]] = {}
    for row, item in zip(table_rows, items, strict=True):
        vid = video_id or getattr(item, "video_id", "")
        item_id = getattr(item, "event_id", None) or getattr(item, "id", "")
        out.setdefault(row_key(row), (str(vid), float(item.start_s), str(item_id or "")))
    return out


def finders(what: str) -> list[str]:
    """The registered indexers that find ``characters`` or ``links``, as the empty states name
    them: ``"<display name> (indexer <name>)"``."""
    return [
        f"{c.display_name} (indexer {c.name})"
        for c in videoidx.indexer_choices()
        if (c.finds_characters if what == "characters" else c.finds_links)
    ]

"""The Characters tab: who appears in the video on show, with the moments to see them."""

from __future__ import annotations

import gradio as gr

from ui import render
from ui.context import PageContext
from ui.render import CLICK_JS
from ui.tabs.common import finders


class CharactersTab:
    """One card per character; a click on a moment goes through the page's ``open_at``."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        self.chars_html = gr.HTML(elem_id="characters", js_on_load=CLICK_JS)

    def view(self, video_id: str) -> str:
        """The cards of ``video_id`` (an empty state names the indexers that find characters)."""
        return render.characters_html(
            video_id, self.ctx.character_cards(video_id), finders=finders("characters")
        )

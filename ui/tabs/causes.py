"""The Causes tab: what led to what in the video on show, as chains of clickable steps."""

from __future__ import annotations

import gradio as gr

from ui import render
from ui.context import PageContext
from ui.render import CLICK_JS
from ui.tabs.common import finders


class CausesTab:
    """The causal chains; a click on a step goes through the page's ``open_at``."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        gr.Markdown("What led to what. Click any step to see it.")
        self.causes_html = gr.HTML(elem_id="causes", js_on_load=CLICK_JS)

    def view(self, video_id: str) -> str:
        """The chains of ``video_id`` (an empty state names the indexers that find links)."""
        return render.causes_html(video_id, self.ctx.chains(video_id), finders=finders("links"))

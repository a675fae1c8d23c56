"""The Library tab: every indexed video with its status and cost; open, re-index or delete the
selected one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

import videoidx
from ui.context import error_text
from ui.render import md_text
from ui.tabs.common import Updates
from videoidx import VideoIdxError

if TYPE_CHECKING:
    from ui.app import Page

LIBRARY_COLUMNS = ["Title", "Length", "Status", "Clips", "Failed", "Events", "Cost", "video_id"]


class LibraryTab:
    """The library table and its buttons; the selected video is the page's ``lib_selected``."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.ctx = page.ctx

    def build(self) -> None:
        self.library = gr.Dataframe(
            headers=LIBRARY_COLUMNS,
            interactive=False,
            elem_id="library",
            wrap=True,
            column_widths=["30%", "8%", "10%", "7%", "7%", "8%", "10%", "20%"],
        )
        with gr.Row():
            self.open_btn = gr.Button("Open in timeline", elem_id="lib-open")
            self.reindex_btn = gr.Button("Re-index with the Index tab's settings")
            self.delete_btn = gr.Button("Delete…", variant="stop", elem_id="lib-delete")
            self.confirm_btn = gr.Button(
                "Yes, delete it", variant="stop", visible=False, elem_id="lib-confirm"
            )
        self.lib_msg = gr.Markdown("Select a row first.", elem_id="lib-msg")

    def wire(self) -> None:
        """The events that stay on this tab; opening, re-indexing and deleting reach other tabs
        and are wired by the page."""
        page = self.page
        self.library.select(self.on_library_select, None, [page.lib_selected, self.lib_msg])
        self.delete_btn.click(
            self.on_delete_ask, [page.lib_selected], [self.confirm_btn, self.lib_msg]
        )

    # -- handlers ------------------------------------------------------------------------------

    def on_library_select(self, evt: gr.SelectData) -> tuple[str, str]:
        row = evt.row_value or []
        if len(row) < len(LIBRARY_COLUMNS):
            return "", "Select a row first."
        return str(row[-1]), f"Selected **{md_text(row[0])}**."

    def on_open_selected(
        self, video_id: str, current: str, last_pos: float, colour_by: str, rows: dict
    ) -> Updates:
        if not video_id:
            return {self.page.timeline.player_note: "Select a video in the library first."}
        return self.page.open_at(
            video_id, 0.0, "", current, last_pos, colour_by, rows, tab="timeline"
        )

    def on_reindex(self, video_id: str, *settings_values: Any) -> tuple[list[str], str]:
        info = self.ctx.video(video_id)
        if info is None:
            return [], "Select a video in the library first."
        try:
            settings = self.page.index.job_settings(*settings_values)
            videoidx.check_ready(settings)
        except VideoIdxError as exc:
            return [], error_text(exc)
        if not Path(info.path).is_file():
            name = md_text(Path(info.path).name)
            return [], f"⚠️ The file {name} is gone; its timeline stays searchable."
        jobs = self.ctx.jobs.submit([Path(info.path)], settings)
        return [j.job_id for j in jobs], (
            f"Re-indexing **{md_text(info.title)}**; clips already indexed with the same "
            "settings come from the cache at no cost; its progress is on the Index tab."
        )

    def on_delete_ask(self, video_id: str) -> tuple[Any, str]:
        info = self.ctx.video(video_id)
        if info is None:
            return gr.update(visible=False), "Select a video in the library first."
        return gr.update(visible=True), (
            f"Delete **{md_text(info.title)}** and its whole timeline from the library? The "
            "video file itself is not touched."
        )

    def on_delete(self, video_id: str) -> tuple[Any, ...]:
        ctx = self.ctx
        info = ctx.video(video_id)
        if info is not None and video_id in ctx.live_status():
            msg = f"⚠️ **{md_text(info.title)}** is being indexed; cancel that first."
            return (gr.update(visible=False), msg, video_id, "", *self.page.on_tick("")[:4])
        removed = ctx.store.delete_video(video_id) if video_id else False
        if removed and info is not None:
            ctx.player.withdraw(info)
            ctx.jobs.forget_video(video_id)  # its card would open a timeline that is gone
        msg = f"Deleted **{md_text(info.title)}**." if removed and info else "Nothing was deleted."
        return (gr.update(visible=False), msg, "", "", *self.page.on_tick("")[:4])

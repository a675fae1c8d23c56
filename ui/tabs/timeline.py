"""The Timeline tab: the player with its transcript and captions, the selected moment, search
with filters, the timeline (events, speech and on-screen text lanes) and the event list of the
video on show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from ui import render
from ui.context import error_text
from ui.render import CLICK_JS, TRANSCRIPT_JS, md_text
from ui.tabs.common import SCOPE_LIBRARY, Updates, query_row, row_index, table
from videoidx import VideoIdxError

if TYPE_CHECKING:
    from ui.app import Page

EVENT_COLUMNS = ["Time", "Label", "What happens", "Who"]
# Honest for the offline indexer (words said and shown, measures of picture and sound); an
# indexer with a vision model finds what happens and who besides.
SEARCH_PLACEHOLDER = "words said or shown, colours, sounds…"


SEARCH_MODES = ["auto", "hybrid", "keyword", "semantic"]
"""The search's "Match" choice: by words (keyword), by meaning (semantic), both fused."""


class TimelineTab:
    """The player and what is shown beside and under it; a click on a row, bar or shot goes
    through the page's :meth:`~ui.app.Page.open_at`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.ctx = page.ctx

    def build(self) -> None:
        self.video_dd = gr.Dropdown([], label="Video", elem_id="video-select")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, elem_id="player-col"):
                self.player = gr.Video(
                    interactive=False, elem_id="player", label="Player", autoplay=False
                )
                self.player_note = gr.Markdown(elem_id="player-note")
                self.captions_cb = gr.Checkbox(
                    False, label="Captions (what is said, as subtitles)", elem_id="captions"
                )
                self.transcript_html = gr.HTML(elem_id="transcript", js_on_load=TRANSCRIPT_JS)
                with gr.Row():
                    self.thumb = gr.Image(
                        label="Keyframe",
                        interactive=False,
                        height=120,
                        scale=1,
                        elem_id="thumb",
                        visible=False,
                    )
                    self.selected_md = gr.Markdown(elem_id="selected")
            with gr.Column(scale=2):
                self.search_tb, self.search_btn, self.scope_rd = query_row(
                    "Search", SEARCH_PLACEHOLDER, "search", scope_label="In"
                )
                # Folded away with the filters: "auto" (hybrid when the library has vectors of
                # the embedder, else keyword) is right for most searches, and open it would
                # push the timeline below a laptop's first screen.
                with gr.Accordion("Match and filters", open=False, elem_id="search-options"):
                    self.mode_rd = gr.Radio(
                        SEARCH_MODES, value="auto", label="Match", elem_id="search-mode"
                    )
                    with gr.Row():
                        self.from_tb = gr.Textbox(label="From", placeholder="0:00")
                        self.to_tb = gr.Textbox(label="To", placeholder="end")
                        self.char_dd = gr.Dropdown([], label="Character", allow_custom_value=True)
                        self.label_dd = gr.Dropdown([], label="Label", allow_custom_value=True)
                self.search_info = gr.Markdown(elem_id="search-info")
                self.results = gr.Dataframe(
                    table([], ["Time", "Label", "What happens"]),
                    interactive=False,
                    elem_id="search-results",
                    wrap=True,
                    max_height=420,
                )
        with gr.Row():
            gr.Markdown("### Timeline")
            self.colour_rd = gr.Radio(
                ["label", "character"], value="label", label="Colour by", elem_id="colour-by"
            )
        self.timeline_html = gr.HTML(elem_id="timeline-viz", js_on_load=CLICK_JS)
        self.events_table = gr.Dataframe(
            headers=EVENT_COLUMNS,
            interactive=False,
            elem_id="event-list",
            wrap=True,
            max_height=480,
            column_widths=["14%", "14%", "56%", "16%"],
        )

    def wire(self) -> None:
        """The events that stay on this tab; picking a video or clicking a row opens a moment
        and is wired by the page."""
        page = self.page
        self.colour_rd.change(
            self.on_recolour, [page.current_video, self.colour_rd], [self.timeline_html]
        )
        self.captions_cb.input(
            self.on_captions, [page.current_video, self.captions_cb], [self.player]
        )
        search_inputs = [
            self.search_tb, self.scope_rd, self.from_tb, self.to_tb, self.char_dd,
            self.label_dd, page.current_video, page.rows_state, self.mode_rd,
        ]  # fmt: skip
        search_outputs = [self.results, self.search_info, page.rows_state]
        self.search_btn.click(self.on_search, search_inputs, search_outputs)
        self.search_tb.submit(self.on_search, search_inputs, search_outputs)

    # -- handlers ------------------------------------------------------------------------------

    def on_video_pick(
        self, video_id: str, current: str, last_pos: float, colour_by: str, rows: dict
    ) -> Updates:
        return self.page.open_at(video_id, 0.0, "", current, last_pos, colour_by, rows, tab=None)

    def on_recolour(self, video_id: str, colour_by: str) -> str:
        return self.timeline_view(video_id, colour_by, "")

    def on_captions(self, video_id: str, on: bool) -> Any:
        """Show (or hide) what is said as the player's captions track."""
        info = self.ctx.video(video_id)
        if not on or info is None:
            return gr.update(subtitles=None)
        path = self.ctx.player.captions_for(info, self.ctx.store)
        return gr.update(subtitles=str(path) if path else None)

    def on_search(
        self,
        query: str,
        scope: str,
        start_text: str,
        end_text: str,
        character: str | None,
        label: str | None,
        current: str,
        rows: dict,
        mode: str = "auto",
    ) -> tuple[Any, str, dict]:
        whole = scope == SCOPE_LIBRARY or not current
        chosen = None if mode in ("auto", "", None) else mode
        try:
            ran = self.ctx.search_mode(chosen)
            hits = self.ctx.search(
                query or "",
                mode=chosen,
                video_id=None if whole else current,
                start_text=start_text,
                end_text=end_text,
                character=character,
                label=label,
            )
        except VideoIdxError as exc:
            return gr.update(), error_text(exc), rows
        table_rows = self.ctx.hit_rows(hits, show_video=whole)
        columns = ["Time", *(["Video"] if whole else []), "Label", "What happens"]
        where = "the whole library" if whole else "this video"
        if not (query or "").strip():
            info = "Type what you are looking for."
        elif not hits:
            info = (
                f"No match for **{md_text(query)}** in {where}. "
                "Try other words or widen the filters."
            )
        else:
            plural = "es" if len(hits) != 1 else ""
            info = (
                f"{len(hits)} match{plural} for **{md_text(query)}** in {where} ({ran}); "
                "click one to jump."
            )
        new_rows = {**rows, "hits": row_index(table_rows, hits)}
        widths = ["16%", "22%", "14%", "48%"] if whole else ["16%", "16%", "68%"]
        return gr.update(value=table(table_rows, columns), column_widths=widths), info, new_rows

    # -- views ---------------------------------------------------------------------------------

    def timeline_view(self, video_id: str, colour_by: str, selected_id: str) -> str:
        """The timeline bars and shots of ``video_id``, ``selected_id`` highlighted."""
        info = self.ctx.video(video_id)
        if info is None:
            return render.empty_state("No video selected", "Pick one above.")
        speech, texts = self.ctx.speech(video_id), self.ctx.screen_texts(video_id)
        return render.timeline_html(
            video_id,
            info.duration_s,
            self.ctx.bars(self.ctx.events(video_id)),
            self.ctx.store.shots(video_id),
            colour_by=colour_by,
            selected_id=selected_id,
            speech=speech,
            texts=texts,
            speech_note="" if speech else self.ctx.speech_absence(video_id)[0],
            text_note="" if texts else self.ctx.text_absence(video_id)[0],
        )

    def transcript_view(self, video_id: str) -> str:
        """What was said in ``video_id``, line by line, or where speech comes from and why
        there is none; a note when no on-screen text was read either."""
        speech = self.ctx.speech(video_id)
        empty = ("", "") if speech else self.ctx.speech_absence(video_id)
        texts = self.ctx.screen_texts(video_id)
        note = ("", "") if texts else self.ctx.text_absence(video_id)
        return render.transcript_html(video_id, speech, empty=empty, text_note=note)

"""The Gradio page: the shell that composes the tabs (``ui/tabs/``, one module each) and wires
what crosses them. Content comes from ``context.py`` and ``render.py``.

One rule runs through the wiring: everything a person can click that has a time (a search hit,
an event row or bar, a shot, a character, a causal step, a citation) goes through
:meth:`Page.open_at`, which loads the right video if needed, seeks the player to the start and
highlights the item. Views of a video are rebuilt only when the video changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ui import render
from ui.context import PageContext
from ui.player import CopyState
from ui.render import md_text
from ui.tabs.ask import AskTab
from ui.tabs.causes import CausesTab
from ui.tabs.characters import CharactersTab
from ui.tabs.common import Updates, row_index, row_key, table
from ui.tabs.index import IndexTab
from ui.tabs.library import LIBRARY_COLUMNS, LibraryTab
from ui.tabs.timeline import EVENT_COLUMNS, TimelineTab
from videoidx import Settings, VideoInfo

log = logging.getLogger(__name__)

TICK_S = 1.0

# Runs in the browser after every handler that opens a moment, with the position it chose.
# Gradio applies ``playback_position`` at once, but a NEW source resets the player to 0:00 when
# its metadata loads, after that position was set: so the position waits for the player's
# ``loadedmetadata`` (captured on the document: media events do not bubble, and Gradio may make a
# new <video> element) and is applied then, once; a player already loaded seeks at once too. A
# negative position means the handler opened nothing, and nothing moves.
SEEK_JS = """(pos) => {
  if (pos === null || pos === undefined || pos < 0) return;
  const w = window;
  w.vxSeekTo = pos;
  if (!w.vxSeekInstalled) {
    w.vxSeekInstalled = true;
    document.addEventListener('loadedmetadata', (e) => {
      const v = e.target;
      if (!(v instanceof HTMLVideoElement) || !v.closest('#player')) return;
      if (typeof w.vxSeekTo === 'number') { v.currentTime = w.vxSeekTo; w.vxSeekTo = null; }
    }, true);
  }
  const v = document.querySelector('#player video');
  if (v && v.readyState >= 1) v.currentTime = pos;
}"""


class Page:
    """Builds the Blocks from the tabs and holds the state they share."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.index = IndexTab(ctx)
        self.library = LibraryTab(self)
        self.timeline = TimelineTab(self)
        self.characters = CharactersTab(ctx)
        self.causes = CausesTab(ctx)
        self.ask = AskTab(self)

    # -- layout --------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="videoidx") as blocks:
            self.header = gr.HTML(elem_id="vx-header", js_on_load=None)
            self.current_video = gr.State("")
            self.last_pos = gr.State(-1.0)
            # The position the last click chose, for SEEK_JS (a State never reaches the browser).
            self.seek_s = gr.Number(-1.0, visible=False, elem_id="vx-seek")
            # The video whose browser copy is being made while it is on show, and the position
            # the player takes when the copy is ready (the copy is made in the background).
            self.copy_wait = gr.State("")
            self.ready_seek_s = gr.Number(-1.0, visible=False, elem_id="vx-ready-seek")
            self.rows_state = gr.State({})
            self.batch = gr.State([])
            self.lib_selected = gr.State("")
            self.seen_version = gr.State("")
            with gr.Tabs(selected="index", elem_id="vx-tabs") as self.tabs:
                with gr.Tab("Index", id="index", elem_id="tab-index"):
                    self.index.build()
                with gr.Tab("Library", id="library", elem_id="tab-library"):
                    self.library.build()
                with gr.Tab("Timeline", id="timeline", elem_id="tab-timeline"):
                    self.timeline.build()
                with gr.Tab("Characters", id="characters", elem_id="tab-characters"):
                    self.characters.build()
                with gr.Tab("Causes", id="causes", elem_id="tab-causes"):
                    self.causes.build()
                with gr.Tab("Ask", id="ask", elem_id="tab-ask"):
                    self.ask.build()
            self.timer = gr.Timer(TICK_S)
            self._wire(blocks)
        return blocks

    # -- the Index tab's form and handlers, reachable on the page (tests and scripts use them) -

    @property
    def indexer_dd(self) -> gr.Dropdown:
        return self.index.indexer_dd

    def job_settings(self, *settings_values: Any) -> Settings:
        return self.index.job_settings(*settings_values)

    def on_indexer(self, name: str, provider: str) -> list[Any]:
        return self.index.on_indexer(name, provider)

    def on_estimate(self, files: list[str] | None, *settings_values: Any) -> str:
        return self.index.on_estimate(files, *settings_values)

    def on_start(self, files: list[str] | None, *settings_values: Any) -> tuple[Any, ...]:
        return self.index.on_start(files, *settings_values)

    # -- wiring --------------------------------------------------------------------------------

    @property
    def view_outputs(self) -> list[Any]:
        tl = self.timeline
        return [
            self.tabs, tl.player, tl.player_note, self.current_video, self.last_pos,
            tl.video_dd, tl.timeline_html, tl.events_table, tl.selected_md, tl.thumb,
            self.characters.chars_html, self.causes.causes_html, tl.label_dd, tl.char_dd,
            self.rows_state, tl.transcript_html, tl.captions_cb, self.seek_s, self.copy_wait,
            tl.colour_rd,
        ]  # fmt: skip

    @property
    def _state_inputs(self) -> list[Any]:
        return [self.current_video, self.last_pos, self.timeline.colour_rd, self.rows_state]

    def _wire(self, blocks: gr.Blocks) -> None:
        """Each tab wires the events that stay on it; here are the ones that cross tabs: the
        live status, the Index tab's form used elsewhere, and every click that opens a moment."""
        index, library, timeline, ask = self.index, self.library, self.timeline, self.ask
        for tab in (index, library, timeline, ask):
            tab.wire()
        settings_inputs = index.settings_inputs
        live = [self.header, index.jobs_html, library.library, timeline.video_dd, self.seen_version]
        # On load: live status first, then the newest indexed video opens in the timeline, then
        # body[data-vx-loaded] tells scripts (and the browser tests) the page is settled.
        self._seeks(
            blocks.load(self.on_tick, [self.seen_version], live).then(
                self.on_first_view, self._state_inputs, self.view_outputs
            )
        ).then(index.on_provider_labels, [index.indexer_dd], [index.provider_dd]).then(
            None, js="() => { document.body.dataset.vxLoaded = '1'; }"
        )
        self.timer.tick(self.on_tick, [self.seen_version], live, show_progress="hidden")
        self.timer.tick(
            self.on_copy_ready,
            [self.copy_wait, self.current_video, self.last_pos],
            [self.timeline.player, self.timeline.player_note, self.copy_wait, self.ready_seek_s],
            show_progress="hidden",
        ).then(None, [self.ready_seek_s], None, js=SEEK_JS)

        index.start_btn.click(
            index.on_start,
            [index.files, *settings_inputs],
            [self.batch, index.index_msg, index.files, index.jobs_html],
        )
        index.cancel_btn.click(index.on_cancel, [self.batch], [index.index_msg])
        index.folder_btn.click(
            index.on_queue_folder,
            [index.folder_tb, *settings_inputs],
            [self.batch, index.index_msg, index.jobs_html],
        )
        # Once the visitor's batch is over, its "Indexing ..." line says how it ended.
        self.timer.tick(
            index.batch_line, [self.batch, index.index_msg], [index.index_msg],
            show_progress="hidden",
        )  # fmt: skip

        self._seeks(library.open_btn.click(library.on_open_selected,
                    [self.lib_selected, *self._state_inputs], self.view_outputs))  # fmt: skip
        library.reindex_btn.click(
            self.on_reindex,
            [self.lib_selected, *settings_inputs],
            [self.batch, library.lib_msg, self.tabs, index.index_msg],
        )
        library.confirm_btn.click(
            library.on_delete,
            [self.lib_selected],
            [library.confirm_btn, library.lib_msg, self.lib_selected, self.seen_version,
             *live[:4]],
        )  # fmt: skip

        self._seeks(timeline.video_dd.input(timeline.on_video_pick,
                    [timeline.video_dd, *self._state_inputs], self.view_outputs))  # fmt: skip
        self._seeks(
            timeline.results.select(
                self.on_row("hits", None), self._state_inputs, self.view_outputs
            )
        )
        self._seeks(
            timeline.events_table.select(
                self.on_row("events", None), self._state_inputs, self.view_outputs
            )
        )
        # Every clickable custom view: its items carry data-start (see render.CLICK_JS).
        for source, switch_to in [
            (timeline.timeline_html, None),
            (timeline.transcript_html, None),
            (self.characters.chars_html, "timeline"),
            (self.causes.causes_html, "timeline"),
            (index.jobs_html, "timeline"),
        ]:
            self._seeks(source.click(self.on_pick(switch_to=switch_to), self._state_inputs,
                                     self.view_outputs))  # fmt: skip

        ask_inputs: list[Any] = [ask.ask_tb, ask.ask_scope, self.current_video, self.rows_state]
        ask_inputs += [ask.chat, ask.chat_citations, *settings_inputs]
        ask_outputs = [ask.chat, ask.citations, self.rows_state, ask.chat_citations, ask.ask_tb]
        ask.ask_btn.click(ask.on_ask, ask_inputs, ask_outputs)
        ask.ask_tb.submit(ask.on_ask, ask_inputs, ask_outputs)
        self._seeks(
            ask.citations.select(
                self.on_row("citations", "timeline"), self._state_inputs, self.view_outputs
            )
        )

    def _seeks(self, opened: Any) -> Any:
        """Chain the browser-side seek (SEEK_JS) after an event that opens a moment."""
        return opened.then(None, [self.seek_s], None, js=SEEK_JS)

    # -- handlers: what crosses tabs ------------------------------------------------------------

    def on_reindex(self, video_id: str, *settings_values: Any) -> tuple[Any, ...]:
        """Re-index from the Library, then show the Index tab where its progress is."""
        batch, message = self.library.on_reindex(video_id, *settings_values)
        if not batch:
            return batch, message, gr.update(), gr.update()
        return batch, message, gr.Tabs(selected="index"), message

    # -- handlers: live status -----------------------------------------------------------------

    def on_tick(self, seen_version: str) -> tuple[Any, ...]:
        ctx = self.ctx
        videos = ctx.store.list_videos()
        costs = ctx.costs_by_video()
        live = ctx.live_status()
        header = render.header_html(
            len(videos), sum(v.events for v in videos), sum(costs.values()), len(live)
        )
        jobs = render.jobs_html(ctx.job_views())
        # Redraw the library only when it changed (a clip, run or video came or went), so a
        # visitor's selection is not reset every second.
        version = f"{ctx.library_fingerprint()}|{sorted(live.items())}"
        if version == seen_version:
            return header, jobs, gr.update(), gr.update(), seen_version
        library = table(render.library_rows(videos, costs, live), LIBRARY_COLUMNS)
        choices = gr.update(choices=ctx.video_choices())
        return header, jobs, library, choices, version

    def on_first_view(self, current: str, last_pos: float, colour_by: str, rows: dict) -> Updates:
        videos = self.ctx.store.list_videos()
        indexed = [v for v in videos if v.events]
        if current or not indexed:
            return self.unchanged()
        return self.open_at(
            indexed[-1].video_id, 0.0, "", current, last_pos, colour_by, rows, tab="timeline"
        )

    def on_copy_ready(self, waiting: str, current: str, last_pos: float) -> tuple[Any, ...]:
        """Load the player once the browser copy of the video on show is ready, at the position
        last clicked; until then (and when nothing waits) change nothing."""
        idle = (gr.update(), gr.update(), waiting, -1.0)
        if not waiting:
            return idle
        if waiting != current:
            return gr.update(), gr.update(), "", -1.0  # another video was opened meanwhile
        info = self.ctx.video(waiting)
        state = self.ctx.player.state(info) if info is not None else CopyState.MISSING
        if info is None or state.pending:
            return idle
        playable = self.ctx.player.path_for(info)
        pos = max(last_pos, 0.0)
        player = gr.update(value=str(playable) if playable else None, playback_position=pos)
        return player, _player_note(info, state), "", pos

    # -- handlers: a click that opens a moment -------------------------------------------------

    def on_row(self, kind: str, tab: str | None) -> Callable[..., Updates]:
        def handler(
            current: str, last_pos: float, colour_by: str, rows: dict, evt: gr.SelectData
        ) -> Updates:
            target = (rows or {}).get(kind, {}).get(row_key(evt.row_value))
            if target is None:
                return self.unchanged()
            video_id, start_s, item_id = target
            return self.open_at(
                video_id, start_s, item_id, current, last_pos, colour_by, rows, tab=tab
            )

        return handler

    def on_pick(self, *, switch_to: str | None) -> Callable[..., Updates]:
        """A click on a custom view's item (``data-start``); ``switch_to`` shows the player."""

        def handler(
            current: str, last_pos: float, colour_by: str, rows: dict, evt: gr.EventData
        ) -> Updates:
            data = evt._data or {}
            video_id = str(data.get("video_id") or current or "")
            if not video_id:
                return self.unchanged()
            return self.open_at(
                video_id,
                float(data.get("start_s") or 0.0),
                str(data.get("event_id") or ""),
                current,
                last_pos,
                colour_by,
                rows,
                tab=switch_to,
            )

        return handler

    # -- the one way to show a moment ----------------------------------------------------------

    def unchanged(self) -> Updates:
        """Updates that change nothing (Gradio rejects an empty dict as too few values); the
        negative seek tells SEEK_JS not to move the player."""
        return {self.timeline.player_note: gr.update(), self.seek_s: -1.0}

    def open_at(
        self,
        video_id: str,
        start_s: float,
        item_id: str,
        current: str,
        last_pos: float,
        colour_by: str,
        rows: dict,
        *,
        tab: str | None,
    ) -> Updates:
        """Load ``video_id`` if it is not already shown, seek to ``start_s``, highlight the item.

        What does not apply to the video is hidden: without characters (an indexer that does
        not find them), the Who column, the Character filter and colouring by character."""
        ctx, tl = self.ctx, self.timeline
        info = ctx.video(video_id)
        events = ctx.events(video_id) if video_id != current else []
        labels, names = ctx.labels_and_characters(video_id) if video_id != current else ([], [])
        people = bool(names) or any(e.characters for e in events)
        if video_id != current and not people and colour_by == "character":
            colour_by = "label"
        if info is None:
            return {tl.player_note: "⚠️ That video is no longer in the library.", self.seek_s: -1.0}
        # Seeking to the position the player already had would not move it (the value would not
        # change), so a repeated click nudges by a tenth of a millisecond.
        pos = start_s + 1e-4 if abs(start_s - last_pos) < 1e-6 else start_s
        event_id = item_id if ctx.store.event(item_id) is not None else ""
        thumb = _thumbnail(ctx, event_id)
        out: Updates = {
            self.last_pos: pos,
            self.seek_s: pos,
            tl.selected_md: ctx.selected_markdown(
                event_id, start_s, video_id=video_id, item_id=item_id
            ),
            tl.thumb: gr.update(value=thumb, visible=thumb is not None),
            tl.timeline_html: tl.timeline_view(video_id, colour_by, event_id),
        }
        if tab:
            out[self.tabs] = gr.Tabs(selected=tab)
        if video_id == current:
            out[tl.player] = gr.update(playback_position=pos)
            return out
        playable = ctx.player.path_for(info)
        copy_state = CopyState.READY if playable else ctx.player.state(info)
        event_rows = ctx.event_rows(events)
        columns = EVENT_COLUMNS if people else EVENT_COLUMNS[:-1]
        event_rows = [row[: len(columns)] for row in event_rows]
        widths = ["14%", "14%", "56%", "16%"] if people else ["14%", "16%", "70%"]
        out.update(
            {
                tl.player: gr.update(
                    value=str(playable) if playable else None,
                    playback_position=pos,
                    subtitles=None,  # another video's captions: the toggle starts off again
                ),
                tl.captions_cb: gr.update(value=False, interactive=bool(ctx.speech(video_id))),
                tl.transcript_html: tl.transcript_view(video_id),
                tl.player_note: _player_note(info, copy_state),
                self.current_video: video_id,
                self.copy_wait: video_id if copy_state.pending else "",
                tl.video_dd: gr.update(choices=ctx.video_choices(), value=video_id),
                tl.events_table: gr.update(value=table(event_rows, columns), column_widths=widths),
                self.characters.chars_html: self.characters.view(video_id),
                self.causes.causes_html: self.causes.view(video_id),
                tl.label_dd: gr.update(choices=labels, value=None),
                tl.char_dd: gr.update(choices=names, value=None, visible=people),
                tl.colour_rd: gr.update(value=colour_by, visible=people),
                self.rows_state: {
                    **(rows or {}),
                    "events": row_index(event_rows, events, video_id=video_id),
                },
            }
        )
        return out


def _player_note(info: VideoInfo, copy_state: CopyState) -> str:
    """What the Timeline says under a player that has no file (yet)."""
    name = md_text(Path(info.path).name)
    if copy_state is CopyState.READY:
        return ""
    if copy_state.pending:
        return (
            f"⏳ Preparing the browser copy of {name}… its timeline, search and answers work "
            "meanwhile; the player appears here when the copy is ready."
        )
    return (
        f"⚠️ The file {name} is gone or cannot be played; its timeline, search and answers "
        "still work."
    )


def _thumbnail(ctx: PageContext, event_id: str) -> Any:
    if not event_id:
        return None
    jpeg = ctx.store.thumbnail(event_id)
    if jpeg is None:
        return None
    import io

    from PIL import Image

    return Image.open(io.BytesIO(jpeg))


def build_app(ctx: PageContext) -> gr.Blocks:
    """The page for ``ctx``; launch it with :func:`ui.server.serve` (which adds the safety)."""
    return Page(ctx).build()

"""The Gradio page: layout and event wiring. Content comes from ``context.py`` and ``render.py``.

One rule runs through the wiring: everything a person can click that has a time (a search hit,
an event row or bar, a shot, a character, a causal step, a citation) goes through
:meth:`Page.open_at`, which loads the right video if needed, seeks the player to the start and
highlights the item. Views of a video are rebuilt only when the video changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]

import videoidx
from ui import render
from ui.context import PageContext, error_text
from ui.render import CLICK_JS, md_text, span
from ui.safety import public_text
from ui.uploads import accept_uploads
from videoidx import Settings, VideoIdxError
from videoidx.vocab import AnswerMode

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["Time", "Label", "What happens", "Who"]
LIBRARY_COLUMNS = ["Title", "Length", "Status", "Clips", "Failed", "Events", "Cost", "video_id"]
CITATION_COLUMNS = ["#", "Time", "Video", "Evidence"]
SCOPE_VIDEO, SCOPE_LIBRARY = "This video", "Whole library"
TICK_S = 1.0

Updates = dict[Any, Any]


def _table(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([[str(c) for c in r] for r in rows], columns=list(columns))


class Page:
    """Builds the Blocks and holds the components the handlers update."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    # -- layout --------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="videoidx") as blocks:
            self.header = gr.HTML(elem_id="vx-header", js_on_load=None)
            self.current_video = gr.State("")
            self.last_pos = gr.State(-1.0)
            self.rows_state = gr.State({})
            self.batch = gr.State([])
            self.lib_selected = gr.State("")
            self.seen_version = gr.State("")
            with gr.Tabs(selected="index", elem_id="vx-tabs") as self.tabs:
                with gr.Tab("Index", id="index", elem_id="tab-index"):
                    self._index_tab()
                with gr.Tab("Library", id="library", elem_id="tab-library"):
                    self._library_tab()
                with gr.Tab("Timeline", id="timeline", elem_id="tab-timeline"):
                    self._timeline_tab()
                with gr.Tab("Characters", id="characters", elem_id="tab-characters"):
                    self.chars_html = gr.HTML(elem_id="characters", js_on_load=CLICK_JS)
                with gr.Tab("Causes", id="causes", elem_id="tab-causes"):
                    gr.Markdown("What led to what. Click any step to see it.")
                    self.causes_html = gr.HTML(elem_id="causes", js_on_load=CLICK_JS)
                with gr.Tab("Ask", id="ask", elem_id="tab-ask"):
                    self._ask_tab()
            self.timer = gr.Timer(TICK_S)
            self._wire(blocks)
        return blocks

    def _index_tab(self) -> None:
        s = self.ctx.settings
        with gr.Row():
            with gr.Column(scale=3):
                self.files = gr.File(
                    label="Videos to index",
                    file_count="multiple",
                    file_types=["video"],
                    type="filepath",
                    elem_id="upload",
                )
                self.upload_note = gr.HTML(
                    render.upload_note_html(s.ui.upload_max_mb),
                    elem_id="upload-note",
                    js_on_load=render.UPLOAD_GUARD_JS,
                )
                self.estimate_md = gr.Markdown(
                    "Add videos to see what indexing them will cost.", elem_id="estimate"
                )
                with gr.Row():
                    self.start_btn = gr.Button(
                        "Start indexing", variant="primary", elem_id="start-index"
                    )
                    self.cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel-index")
                self.index_msg = gr.Markdown(elem_id="index-msg")
            with gr.Column(scale=2), gr.Group():
                # The registry's indexers, each as it declares itself; the provider fields show
                # for one that offers providers, the cost cap for one that costs money.
                choices = videoidx.indexer_choices()
                chosen = next((c for c in choices if c.name == s.provider.indexer), choices[0])
                model_chosen = chosen.offers_providers
                self.indexer_dd = gr.Dropdown(
                    [(c.label, c.name) for c in choices],
                    value=s.provider.indexer,
                    label="Indexer",
                    elem_id="indexer",
                )
                self.provider_dd = gr.Dropdown(
                    _provider_options(s.provider.indexer),
                    value=s.provider.provider,
                    label="Provider",
                    visible=model_chosen,
                    elem_id="provider",
                )
                self.model_tb = gr.Textbox(
                    s.provider.model or "",
                    label="Model",
                    placeholder="the provider's default",
                    visible=model_chosen,
                    elem_id="model",
                )
                self.base_url_tb = gr.Textbox(
                    s.provider.base_url or "",
                    label="Base URL",
                    placeholder="the provider's default (set it for vLLM, SGLang or openai)",
                    info="API keys go only to the provider's own endpoint or to a URL this "
                    "server's operator allowed (allowed_base_urls).",
                    visible=model_chosen,
                    elem_id="base-url",
                )
                self.thinking_cb = gr.Checkbox(
                    s.provider.thinking,
                    label="Thinking (slower, more tokens)",
                    visible=model_chosen,
                )
                self.clip_sl = gr.Slider(
                    8, 60, value=s.media.clip_target_s, step=1, label="Clip length (s)"
                )
                self.conc_sl = gr.Slider(
                    1,
                    16,
                    value=s.pipeline.concurrency,
                    step=1,
                    label="Requests at once",
                    elem_id="concurrency",
                )
                self.cap_nb = gr.Number(
                    s.pipeline.max_cost_usd,
                    label="Stop at cost (USD, 0 = no cap)",
                    visible=chosen.priced,
                )
        gr.Markdown("### Indexing")
        self.jobs_html = gr.HTML(elem_id="jobs", js_on_load=CLICK_JS)

    def _library_tab(self) -> None:
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

    def _timeline_tab(self) -> None:
        self.video_dd = gr.Dropdown([], label="Video", elem_id="video-select")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.player = gr.Video(
                    interactive=False, elem_id="player", label="Player", autoplay=False
                )
                self.player_note = gr.Markdown(elem_id="player-note")
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
                self.search_tb, self.search_btn, self.scope_rd = _query_row(
                    "Search", "what happens, who, what is on screen…", "search", scope_label="In"
                )
                with gr.Accordion("Filters", open=False), gr.Row():
                    self.from_tb = gr.Textbox(label="From", placeholder="0:00")
                    self.to_tb = gr.Textbox(label="To", placeholder="end")
                    self.char_dd = gr.Dropdown([], label="Character", allow_custom_value=True)
                    self.label_dd = gr.Dropdown([], label="Label", allow_custom_value=True)
                self.search_info = gr.Markdown(elem_id="search-info")
                self.results = gr.Dataframe(
                    _table([], ["Time", "Label", "What happens"]),
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

    def _ask_tab(self) -> None:
        self.ask_tb, self.ask_btn, self.ask_scope = _query_row(
            "Question",
            "why did the car stop?  what happened between 5:00 and 6:00?",
            "ask",
            scope_label="About",
            button="Ask",
        )
        gr.Markdown(
            "Answers use the indexer chosen on the Index tab: one with a language model writes "
            "an answer that cites the best-matching moments; the others list those moments."
        )
        self.chat = gr.Chatbot(
            label="Conversation (click an answer to list its citations)",
            elem_id="chat",
            height=380,
        )
        self.chat_citations = gr.State({})
        gr.Markdown("**Citations**: click one to see the moment.")
        self.citations = gr.Dataframe(
            headers=CITATION_COLUMNS,
            interactive=False,
            elem_id="citations",
            wrap=True,
            column_widths=["6%", "16%", "24%", "54%"],
        )

    # -- wiring --------------------------------------------------------------------------------

    @property
    def view_outputs(self) -> list[Any]:
        return [
            self.tabs, self.player, self.player_note, self.current_video, self.last_pos,
            self.video_dd, self.timeline_html, self.events_table, self.selected_md, self.thumb,
            self.chars_html, self.causes_html, self.label_dd, self.char_dd, self.rows_state,
        ]  # fmt: skip

    def _wire(self, blocks: gr.Blocks) -> None:
        settings_inputs = [
            self.indexer_dd, self.provider_dd, self.model_tb, self.base_url_tb, self.thinking_cb,
            self.clip_sl, self.conc_sl, self.cap_nb,
        ]  # fmt: skip
        live = [self.header, self.jobs_html, self.library, self.video_dd, self.seen_version]
        # On load: live status first, then the newest indexed video opens in the timeline, then
        # body[data-vx-loaded] tells scripts (and the browser tests) the page is settled.
        blocks.load(self.on_tick, [self.seen_version], live).then(
            self.on_first_view, self._state_inputs, self.view_outputs
        ).then(self.on_provider_labels, [self.indexer_dd], [self.provider_dd]).then(
            None, js="() => { document.body.dataset.vxLoaded = '1'; }"
        )
        self.timer.tick(self.on_tick, [self.seen_version], live, show_progress="hidden")

        estimate_triggers: list[Any] = [self.files, *settings_inputs]
        for comp in estimate_triggers:
            comp.change(
                self.on_estimate, [self.files, *settings_inputs], [self.estimate_md],
                show_progress="hidden",
            )  # fmt: skip
        self.start_btn.click(
            self.on_start,
            [self.files, *settings_inputs],
            [self.batch, self.index_msg, self.files, self.jobs_html],
        )
        self.cancel_btn.click(self.on_cancel, [self.batch], [self.index_msg])
        self.indexer_dd.change(
            self.on_indexer,
            [self.indexer_dd, self.provider_dd],
            [self.provider_dd, self.model_tb, self.base_url_tb, self.thinking_cb, self.cap_nb],
            show_progress="hidden",
        )

        self.library.select(self.on_library_select, None, [self.lib_selected, self.lib_msg])
        self.open_btn.click(self.on_open_selected, [self.lib_selected, *self._state_inputs],
                            self.view_outputs)  # fmt: skip
        self.reindex_btn.click(
            self.on_reindex, [self.lib_selected, *settings_inputs], [self.batch, self.lib_msg]
        )
        self.delete_btn.click(
            self.on_delete_ask, [self.lib_selected], [self.confirm_btn, self.lib_msg]
        )
        self.confirm_btn.click(
            self.on_delete,
            [self.lib_selected],
            [self.confirm_btn, self.lib_msg, self.lib_selected, self.seen_version, *live[:4]],
        )

        self.video_dd.input(self.on_video_pick, [self.video_dd, *self._state_inputs],
                            self.view_outputs)  # fmt: skip
        self.colour_rd.change(
            self.on_recolour, [self.current_video, self.colour_rd], [self.timeline_html]
        )
        search_inputs = [
            self.search_tb, self.scope_rd, self.from_tb, self.to_tb, self.char_dd,
            self.label_dd, self.current_video, self.rows_state,
        ]  # fmt: skip
        search_outputs = [self.results, self.search_info, self.rows_state]
        self.search_btn.click(self.on_search, search_inputs, search_outputs)
        self.search_tb.submit(self.on_search, search_inputs, search_outputs)
        self.results.select(self.on_row("hits", None), self._state_inputs, self.view_outputs)
        self.events_table.select(self.on_row("events", None), self._state_inputs, self.view_outputs)
        # Every clickable custom view: its items carry data-start (see render.CLICK_JS).
        for source, switch_to in [
            (self.timeline_html, None),
            (self.chars_html, "timeline"),
            (self.causes_html, "timeline"),
            (self.jobs_html, "timeline"),
        ]:
            source.click(self.on_pick(switch_to=switch_to), self._state_inputs, self.view_outputs)

        ask_inputs: list[Any] = [self.ask_tb, self.ask_scope, self.current_video, self.rows_state]
        ask_inputs += [self.chat, self.chat_citations, *settings_inputs]
        ask_outputs = [self.chat, self.citations, self.rows_state, self.chat_citations, self.ask_tb]
        self.ask_btn.click(self.on_ask, ask_inputs, ask_outputs)
        self.ask_tb.submit(self.on_ask, ask_inputs, ask_outputs)
        self.chat.select(
            self.on_chat_select, [self.chat_citations, self.rows_state],
            [self.citations, self.rows_state],
        )  # fmt: skip
        self.citations.select(
            self.on_row("citations", "timeline"), self._state_inputs, self.view_outputs
        )

    @property
    def _state_inputs(self) -> list[Any]:
        return [self.current_video, self.last_pos, self.colour_rd, self.rows_state]

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
        table = _table(render.library_rows(videos, costs, live), LIBRARY_COLUMNS)
        choices = gr.update(choices=ctx.video_choices())
        return header, jobs, table, choices, version

    def on_provider_labels(self, indexer: str) -> Any:
        """Key status as it is now (a key set after the server started shows as set)."""
        return gr.update(choices=_provider_options(indexer))

    @staticmethod
    def on_indexer(name: str, provider: str) -> list[Any]:
        """Show the fields the chosen indexer takes: its providers (with model, base URL and
        thinking) when it offers any, the cost cap when it costs money."""
        try:
            chosen = videoidx.indexer_choice(name)
        except VideoIdxError:
            return [gr.update()] * 5
        offers = chosen.offers_providers
        options = _provider_options(name)
        names = [value for _, value in options]
        provider_dd = (
            gr.update(
                visible=True, choices=options, value=provider if provider in names else names[0]
            )
            if offers
            else gr.update(visible=False)
        )
        return [provider_dd, *[gr.update(visible=offers)] * 3, gr.update(visible=chosen.priced)]

    def on_first_view(self, current: str, last_pos: float, colour_by: str, rows: dict) -> Updates:
        videos = self.ctx.store.list_videos()
        indexed = [v for v in videos if v.events]
        if current or not indexed:
            return self.unchanged()
        return self.open_at(
            indexed[-1].video_id, 0.0, "", current, last_pos, colour_by, rows, tab="timeline"
        )

    # -- handlers: indexing --------------------------------------------------------------------

    def job_settings(
        self,
        indexer: str,
        provider: str,
        model: str,
        base_url: str,
        thinking: bool,
        clip_s: float,
        concurrency: float,
        cap_usd: float | None,
    ) -> Settings:
        return self.ctx.settings.replace(
            indexer=indexer,
            provider=provider,
            model=(model or "").strip() or None,
            base_url=(base_url or "").strip() or None,
            thinking=bool(thinking),
            **videoidx.clip_length_settings(float(clip_s), self.ctx.settings.media),
            concurrency=int(concurrency),
            max_cost_usd=cap_usd if cap_usd not in (None, 0) else None,
        )

    def on_estimate(self, files: list[str] | None, *settings_values: Any) -> str:
        try:
            settings = self.job_settings(*settings_values)
            problem = self.ctx.key_problem(settings)
            estimate = self.ctx.estimate(list(files or []), settings)
        except VideoIdxError as exc:
            return error_text(exc)
        return f"{estimate}\n\n⚠️ {md_text(public_text(problem))}" if problem else estimate

    def on_start(self, files: list[str] | None, *settings_values: Any) -> tuple[Any, ...]:
        ctx = self.ctx
        if not files:
            return [], "Add at least one video first.", gr.update(), gr.update()
        try:
            settings = self.job_settings(*settings_values)
            videoidx.check_ready(settings)
            paths = accept_uploads(files, ctx.upload_dir, max_mb=ctx.settings.ui.upload_max_mb)
        except VideoIdxError as exc:
            return [], error_text(exc), gr.update(), gr.update()
        jobs = ctx.jobs.submit(paths, settings)
        names = md_text(", ".join(j.title for j in jobs))
        return (
            [j.job_id for j in jobs],
            f"Indexing {names}. You can search and browse while it runs.",
            None,
            render.jobs_html(ctx.job_views()),
        )

    def on_cancel(self, batch: list[str]) -> str:
        n = self.ctx.jobs.cancel(batch or [])
        if not n:
            return "Nothing of yours is running."
        return f"Cancelling {n} video(s): clips in flight finish and are kept; the rest stop."

    # -- handlers: library ---------------------------------------------------------------------

    def on_library_select(self, evt: gr.SelectData) -> tuple[str, str]:
        row = evt.row_value or []
        if len(row) < len(LIBRARY_COLUMNS):
            return "", "Select a row first."
        return str(row[-1]), f"Selected **{md_text(row[0])}**."

    def on_open_selected(
        self, video_id: str, current: str, last_pos: float, colour_by: str, rows: dict
    ) -> Updates:
        if not video_id:
            return {self.player_note: "Select a video in the library first."}
        return self.open_at(video_id, 0.0, "", current, last_pos, colour_by, rows, tab="timeline")

    def on_reindex(self, video_id: str, *settings_values: Any) -> tuple[list[str], str]:
        info = self.ctx.video(video_id)
        if info is None:
            return [], "Select a video in the library first."
        try:
            settings = self.job_settings(*settings_values)
            videoidx.check_ready(settings)
        except VideoIdxError as exc:
            return [], error_text(exc)
        if not Path(info.path).is_file():
            name = md_text(Path(info.path).name)
            return [], f"⚠️ The file {name} is gone; its timeline stays searchable."
        jobs = self.ctx.jobs.submit([Path(info.path)], settings)
        return [j.job_id for j in jobs], (
            f"Re-indexing **{md_text(info.title)}**; clips already indexed with the same "
            "settings come from the cache at no cost. Progress is on the Index tab."
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
            return (gr.update(visible=False), msg, video_id, "", *self.on_tick("")[:4])
        removed = ctx.store.delete_video(video_id) if video_id else False
        if removed and info is not None:
            ctx.player.withdraw(info)
        msg = f"Deleted **{md_text(info.title)}**." if removed and info else "Nothing was deleted."
        return (gr.update(visible=False), msg, "", "", *self.on_tick("")[:4])

    # -- handlers: timeline --------------------------------------------------------------------

    def on_video_pick(
        self, video_id: str, current: str, last_pos: float, colour_by: str, rows: dict
    ) -> Updates:
        return self.open_at(video_id, 0.0, "", current, last_pos, colour_by, rows, tab=None)

    def on_recolour(self, video_id: str, colour_by: str) -> str:
        return self._timeline(video_id, colour_by, "")

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
    ) -> tuple[Any, str, dict]:
        whole = scope == SCOPE_LIBRARY or not current
        try:
            hits = self.ctx.search(
                query or "",
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
                f"{len(hits)} match{plural} for **{md_text(query)}** in {where}; click one to jump."
            )
        new_rows = {**rows, "hits": _row_index(table_rows, hits)}
        widths = ["16%", "22%", "14%", "48%"] if whole else ["16%", "16%", "68%"]
        return gr.update(value=_table(table_rows, columns), column_widths=widths), info, new_rows

    def on_row(self, kind: str, tab: str | None) -> Callable[..., Updates]:
        def handler(
            current: str, last_pos: float, colour_by: str, rows: dict, evt: gr.SelectData
        ) -> Updates:
            target = (rows or {}).get(kind, {}).get(_row_key(evt.row_value))
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

    # -- handlers: ask -------------------------------------------------------------------------

    def on_ask(
        self,
        question: str,
        scope: str,
        current: str,
        rows: dict,
        chat: list[dict[str, Any]] | None,
        chat_citations: dict[str, Any],
        *settings_values: Any,
    ) -> tuple[Any, ...]:
        """Answer, add the exchange to the conversation, and list the answer's citations.

        Answers use the model chosen on the Index tab (the offline choice gives retrieved,
        extractive answers), so one choice governs what the page pays for."""
        chat = list(chat or [])
        if not (question or "").strip():
            return chat, gr.update(), rows, chat_citations, question
        whole = scope == SCOPE_LIBRARY or not current
        chat.append({"role": "user", "content": md_text(question)})
        try:
            answer = videoidx.ask(
                question,
                store=self.ctx.store,
                settings=self.job_settings(*settings_values),
                video_ids=None if whole else [current],
            )
        except VideoIdxError as exc:
            chat.append({"role": "assistant", "content": error_text(exc)})
            return chat, gr.update(), rows, chat_citations, question
        table_rows = [
            [f"[{c.n}]", span(c.start_s, c.end_s), c.title, c.description or c.label]
            for c in answer.citations
        ]
        targets = [(c.video_id, c.start_s, c.event_id or "") for c in answer.citations]
        chat.append({"role": "assistant", "content": _answer_markdown(answer)})
        # Each answer keeps its own citations, so clicking an earlier answer lists them again.
        chat_citations = {**chat_citations, str(len(chat) - 1): (table_rows, targets)}
        return (chat, *self._citation_view(table_rows, targets, rows), chat_citations, "")

    def on_chat_select(
        self, chat_citations: dict[str, Any], rows: dict, evt: gr.SelectData
    ) -> tuple[Any, dict]:
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        entry = chat_citations.get(str(index))
        if entry is None:
            return gr.update(), rows
        table_rows, targets = entry
        return self._citation_view(table_rows, targets, rows)

    @staticmethod
    def _citation_view(
        table_rows: Sequence[Sequence[object]], targets: Sequence[Any], rows: dict
    ) -> tuple[Any, dict]:
        index = {_row_key(r): tuple(t) for r, t in zip(table_rows, targets, strict=True)}
        return _table(table_rows, CITATION_COLUMNS), {**rows, "citations": index}

    # -- the one way to show a moment ----------------------------------------------------------

    def unchanged(self) -> Updates:
        """Updates that change nothing (Gradio rejects an empty dict as too few values)."""
        return {self.player_note: gr.update()}

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
        """Load ``video_id`` if it is not already shown, seek to ``start_s``, highlight the item."""
        ctx = self.ctx
        info = ctx.video(video_id)
        if info is None:
            return {self.player_note: "⚠️ That video is no longer in the library."}
        # Seeking to the position the player already had would not move it (the value would not
        # change), so a repeated click nudges by a tenth of a millisecond.
        pos = start_s + 1e-4 if abs(start_s - last_pos) < 1e-6 else start_s
        event_id = item_id if ctx.store.event(item_id) is not None else ""
        thumb = _thumbnail(ctx, event_id)
        out: Updates = {
            self.last_pos: pos,
            self.selected_md: ctx.selected_markdown(event_id, start_s),
            self.thumb: gr.update(value=thumb, visible=thumb is not None),
            self.timeline_html: self._timeline(video_id, colour_by, event_id),
        }
        if tab:
            out[self.tabs] = gr.Tabs(selected=tab)
        if video_id == current:
            out[self.player] = gr.update(playback_position=pos)
            return out
        playable = ctx.player.path_for(info)
        events = ctx.events(video_id)
        event_rows = ctx.event_rows(events)
        labels, names = ctx.labels_and_characters(video_id)
        note = (
            ""
            if playable
            else (
                f"⚠️ The file {md_text(Path(info.path).name)} is gone or cannot be played; its "
                "timeline, search and answers still work."
            )
        )
        out.update(
            {
                self.player: gr.update(
                    value=str(playable) if playable else None, playback_position=pos
                ),
                self.player_note: note,
                self.current_video: video_id,
                self.video_dd: gr.update(choices=ctx.video_choices(), value=video_id),
                self.events_table: _table(event_rows, EVENT_COLUMNS),
                self.chars_html: render.characters_html(
                    video_id, ctx.character_cards(video_id), finders=_finders("characters")
                ),
                self.causes_html: render.causes_html(
                    video_id, ctx.chains(video_id), finders=_finders("links")
                ),
                self.label_dd: gr.update(choices=labels, value=None),
                self.char_dd: gr.update(choices=names, value=None),
                self.rows_state: {
                    **(rows or {}),
                    "events": _row_index(event_rows, events, video_id=video_id),
                },
            }
        )
        return out

    def _timeline(self, video_id: str, colour_by: str, selected_id: str) -> str:
        info = self.ctx.video(video_id)
        if info is None:
            return render.empty_state("No video selected", "Pick one above.")
        return render.timeline_html(
            video_id,
            info.duration_s,
            self.ctx.bars(self.ctx.events(video_id)),
            self.ctx.store.shots(video_id),
            colour_by=colour_by,
            selected_id=selected_id,
        )


def _query_row(
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


def _row_key(row: Sequence[object] | None) -> str:
    return "\x1f".join(str(c) for c in row or ())


def _row_index(
    table_rows: Sequence[Sequence[object]], items: Sequence[Any], *, video_id: str = ""
) -> dict[str, tuple[str, float, str]]:
    """Table row text -> (video_id, start_s, id); a row is found by what it shows, so a table
    the visitor sorted still jumps to the right moment."""
    out: dict[str, tuple[str, float, str]] = {}
    for row, item in zip(table_rows, items, strict=True):
        vid = video_id or getattr(item, "video_id", "")
        item_id = getattr(item, "event_id", None) or getattr(item, "id", "")
        out.setdefault(_row_key(row), (str(vid), float(item.start_s), str(item_id or "")))
    return out


def _thumbnail(ctx: PageContext, event_id: str) -> Any:
    if not event_id:
        return None
    jpeg = ctx.store.thumbnail(event_id)
    if jpeg is None:
        return None
    import io

    from PIL import Image

    return Image.open(io.BytesIO(jpeg))


def _finders(what: str) -> list[str]:
    """The registered indexers that find ``characters`` or ``links``, as the empty states name
    them: ``"<display name> (indexer <name>)"``."""
    return [
        f"{c.display_name} (indexer {c.name})"
        for c in videoidx.indexer_choices()
        if (c.finds_characters if what == "characters" else c.finds_links)
    ]


def _provider_options(indexer: str) -> list[tuple[str, str]]:
    """(label, name) of the providers ``indexer`` offers; when it offers none, every provider
    the registry holds (the field is hidden then, but keeps a valid value)."""
    try:
        offered = videoidx.provider_choices(indexer=indexer)
    except VideoIdxError:
        offered = []
    choices = offered or videoidx.provider_choices()
    return list({p.name: (_provider_label(p), p.name) for p in choices}.values())


def _provider_label(p: videoidx.ProviderChoice) -> str:
    key = "no key needed" if p.key_env is None else (
        f"{p.key_env} set" if p.key_set else f"set {p.key_env} to use"
    )  # fmt: skip
    return f"{p.name} · {p.model or 'any model'} · {key}"


def _answer_markdown(answer: videoidx.Answer) -> str:
    badges = {
        AnswerMode.GENERATED: "Answered by the model from the indexed events",
        AnswerMode.LOOKED_AGAIN: "Answered by the model after looking at the clip again",
        AnswerMode.RETRIEVED: "Retrieved, not generated",
        AnswerMode.UNANSWERABLE: "The index does not answer this",
    }
    badge = badges.get(answer.mode, answer.mode)
    usage = answer.usage
    tokens = usage.prompt_tokens + usage.completion_tokens
    cost = f" · {tokens:,} tokens · ${usage.cost_usd:.4f}" if tokens else ""
    dropped = (
        f" · {answer.dropped_citations} invented citation(s) removed"
        if answer.dropped_citations
        else ""
    )
    # The answer quotes stored descriptions and titles (model text): shown as text, not Markdown.
    return f"<span class='vx-badge'>{badge}</span>{cost}{dropped}\n\n{md_text(answer.text)}"


def build_app(ctx: PageContext) -> gr.Blocks:
    """The page for ``ctx``; launch it with :func:`ui.server.serve` (which adds the safety)."""
    return Page(ctx).build()

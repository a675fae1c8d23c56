"""The Index tab: the upload, the indexing form (indexer, provider, clip length, cost cap), the
estimate, starting and cancelling a batch, and the live list of jobs.

The form's values are the page's settings: :meth:`IndexTab.job_settings` turns them into
``Settings`` for indexing here, re-indexing on the Library tab and answering on the Ask tab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

import videoidx
from ui import render
from ui.context import PageContext, error_text, without_path
from ui.render import CLICK_JS, md_text
from ui.safety import public_text
from videoidx import Settings, VideoIdxError
from videoidx.service.uploads import accept_uploads


class IndexTab:
    """The upload and the indexing form; its handlers start and cancel batches."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
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
                with gr.Row():
                    self.folder_tb = gr.Textbox(
                        label="Or a folder or glob on this server",
                        placeholder="/videos/talks or /videos/**/*.mp4",
                        info="Only under the folders the operator allows (allowed_folders).",
                        elem_id="folder",
                        scale=4,
                    )
                    self.folder_btn = gr.Button("Queue folder", elem_id="queue-folder", scale=1)
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
                    visible=chosen.needs_network,  # an indexer on this machine sends none
                )
                self.cap_nb = gr.Number(
                    s.pipeline.max_cost_usd,
                    label="Stop at cost (USD, 0 = no cap)",
                    visible=chosen.priced,
                )
        with gr.Row():
            gr.Markdown("### Indexing")
            self.clear_btn = gr.Button(
                "Clear finished", size="sm", elem_id="clear-jobs", scale=0, min_width=140
            )
        self.jobs_html = gr.HTML(elem_id="jobs", js_on_load=CLICK_JS)

    @property
    def settings_inputs(self) -> list[Any]:
        """The form, in the order :meth:`job_settings` takes it."""
        return [
            self.indexer_dd, self.provider_dd, self.model_tb, self.base_url_tb, self.thinking_cb,
            self.clip_sl, self.conc_sl, self.cap_nb,
        ]  # fmt: skip

    def wire(self) -> None:
        """The events that stay on this tab; starting and cancelling touch the page's batch and
        are wired by the page."""
        settings_inputs = self.settings_inputs
        estimate_triggers: list[Any] = [self.files, *settings_inputs]
        for comp in estimate_triggers:
            comp.change(
                self.on_estimate, [self.files, *settings_inputs], [self.estimate_md],
                show_progress="hidden",
            )  # fmt: skip
        self.clear_btn.click(self.on_clear, [], [self.jobs_html], show_progress="hidden")
        self.indexer_dd.change(
            self.on_indexer,
            [self.indexer_dd, self.provider_dd],
            [
                self.provider_dd,
                self.model_tb,
                self.base_url_tb,
                self.thinking_cb,
                self.cap_nb,
                self.conc_sl,
            ],
            show_progress="hidden",
        )

    # -- handlers ------------------------------------------------------------------------------

    def on_provider_labels(self, indexer: str) -> Any:
        """Key status as it is now (a key set after the server started shows as set)."""
        return gr.update(choices=_provider_options(indexer))

    @staticmethod
    def on_indexer(name: str, provider: str) -> list[Any]:
        """Show the fields the chosen indexer takes: its providers (with model, base URL and
        thinking) when it offers any, the cost cap when it costs money, the requests at once
        when it sends requests."""
        try:
            chosen = videoidx.indexer_choice(name)
        except VideoIdxError:
            return [gr.update()] * 6
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
        return [
            provider_dd,
            *[gr.update(visible=offers)] * 3,
            gr.update(visible=chosen.priced),
            gr.update(visible=chosen.needs_network),
        ]

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
        unreadable = self.unreadable(paths, settings)
        if len(unreadable) == len(paths):  # the estimate said so already: nothing would run
            return [], _nothing_to_index(unreadable), gr.update(), gr.update()
        jobs = ctx.jobs.submit(paths, settings)
        names = md_text(", ".join(j.title for j in jobs))
        return (
            [j.job_id for j in jobs],
            f"Indexing {names}. You can search and browse while it runs.",
            None,
            render.jobs_html(ctx.job_views()),
        )

    def unreadable(self, paths: list[Any], settings: Settings) -> list[tuple[str, str]]:
        """(file name, why) of each file the estimate finds cannot be indexed."""
        out = []
        for path in paths:
            plan = videoidx.plan_video(path, settings, [])
            if plan.info is None:
                out.append((Path(path).name, without_path(plan.error, path)))
        return out

    def on_queue_folder(self, folder: str, *settings_values: Any) -> tuple[Any, ...]:
        """Queue the videos of an allowed folder or glob on the server as one batch."""
        ctx = self.ctx
        folder = (folder or "").strip()
        try:
            # The settings first: a provider address the operator did not allow is refused
            # whatever the folder, so the visitor learns that before typing one.
            settings = self.job_settings(*settings_values)
            videoidx.check_ready(settings)
            if not folder:
                return [], "Type a folder or a glob on this server first.", gr.update()
            paths, _skipped = ctx.path_rule.expand([folder])
        except VideoIdxError as exc:
            return [], error_text(exc), gr.update()
        if not paths:
            return [], f"No video files in {md_text(folder)}.", gr.update()
        jobs = ctx.jobs.submit(paths, settings)
        return (
            [j.job_id for j in jobs],
            f"Indexing {len(jobs)} video(s) from {md_text(folder)}. You can search and browse "
            "while it runs.",
            render.jobs_html(ctx.job_views()),
        )

    def on_clear(self) -> str:
        self.ctx.jobs.forget_finished()
        return render.jobs_html(self.ctx.job_views())

    def batch_line(self, batch: list[str] | None, shown: str | None = None) -> Any:
        """The line under Start once the visitor's batch is over, in place of the "Indexing
        ..." it showed while it ran; any other line (an error, "Cancelling ...") stays, and so
        does everything while the batch runs."""
        if shown is not None and not str(shown).startswith("Indexing"):
            return gr.update()
        jobs = {j.job_id: j for j in self.ctx.jobs.snapshot()}
        mine = [jobs[i] for i in batch or [] if i in jobs]
        if not mine or any(j.active for j in mine):
            return gr.update()
        counts: dict[str, int] = {}
        for j in mine:
            counts[j.status.value] = counts.get(j.status.value, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        return f"Finished: {summary}. The cards below say more."

    def on_cancel(self, batch: list[str]) -> str:
        n = self.ctx.jobs.cancel(batch or [])
        if not n:
            return "Nothing of yours is running."
        return f"Cancelling {n} video(s): clips in flight finish and are kept; the rest stop."


def _nothing_to_index(unreadable: list[tuple[str, str]]) -> str:
    reasons = "; ".join(
        f"**{md_text(name)}**: {md_text(public_text(why))}" for name, why in unreadable
    )
    return f"Nothing to index: no file can be read as a video ({reasons})."


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

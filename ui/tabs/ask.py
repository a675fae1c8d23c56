"""The Ask tab: questions about the video on show or the whole library, answered with the Index
tab's indexer, each answer with its citations to click."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gradio as gr

import videoidx
from ui.context import error_text
from ui.render import md_text, span
from ui.tabs.common import SCOPE_LIBRARY, query_row, row_key, table
from videoidx import VideoIdxError
from videoidx.vocab import AnswerMode

if TYPE_CHECKING:
    from ui.app import Page

CITATION_COLUMNS = ["#", "Time", "Video", "Evidence"]


class AskTab:
    """The conversation and the citations of the answer last asked or clicked."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.ctx = page.ctx

    def build(self) -> None:
        self.ask_tb, self.ask_btn, self.ask_scope = query_row(
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
        # The heading sits above the chat, not on it: Gradio draws a Chatbot's own label over
        # the scrolling messages, where it hid the text scrolled under it.
        gr.Markdown(
            "**Conversation**: click an answer to list its citations.", elem_id="chat-heading"
        )
        self.chat = gr.Chatbot(
            label="Conversation",
            show_label=False,
            buttons=["copy", "copy_all"],  # sharing to Hugging Face does not apply here
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

    def wire(self) -> None:
        """The events that stay on this tab; asking takes the Index tab's form and a citation
        opens a moment, so those are wired by the page."""
        rows_state = self.page.rows_state
        self.chat.select(
            self.on_chat_select, [self.chat_citations, rows_state], [self.citations, rows_state]
        )

    # -- handlers ------------------------------------------------------------------------------

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
                settings=self.page.index.job_settings(*settings_values),
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
        index = {row_key(r): tuple(t) for r, t in zip(table_rows, targets, strict=True)}
        return table(table_rows, CITATION_COLUMNS), {**rows, "citations": index}


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

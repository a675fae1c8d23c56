"""Questions over the timeline: answers that cite moments, checked against the evidence.

``ask(question)`` reads time expressions (``timeexpr``), gathers numbered evidence from the store
(``retrieve``), then answers in one of three ways, chosen by what the configured indexer declares:

* an indexer that ``can_complete_text`` (a model): the model answers from the evidence and must
  cite it (``answer``); invented citations are dropped and counted; when it also ``can_look``,
  thin evidence can make it look again at the best clip's frames (``look_again``, the
  ``qa_look_again`` setting);
* any other (the offline default): an extractive answer, labelled as retrieved (``offline``);
* no evidence at all: an answer that says so, without calling anything.

Model replies are read with :func:`videoidx.replyjson.answer_text` (no reasoning, no wrappers).

Every answer is logged in the store's ``qa_log``. Like the pipeline, this package is a
composition root (it turns the configured name into an indexer), so ``videoidx`` loads it lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexers import create_indexer, indexer_class
from indexers.base import Indexer
from videoidx.errors import ConfigError, StoreError
from videoidx.pipeline.embed import query_embedder
from videoidx.qa.answer import CheckedReply, build_messages, check_citations, number_in_order
from videoidx.qa.look_again import SYSTEM, clip_around, clip_frames, look_prompt
from videoidx.qa.offline import LABEL, extractive_answer
from videoidx.qa.records import Answer, Citation
from videoidx.qa.retrieve import Evidence, gather_evidence
from videoidx.qa.timeexpr import parse_time_filter
from videoidx.replyjson import answer_text
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store
from videoidx.types import Usage
from videoidx.vocab import AnswerMode

NOTHING_FOUND = "The indexed videos do not answer this: nothing in the index matches the question."


def qa_indexer(settings: Settings) -> Indexer | None:
    """The indexer that answers questions: the configured one, with ``qa_model`` swapped in;
    None when it cannot complete text (the offline default has no language model)."""
    if not indexer_class(settings.provider.indexer).can_complete_text:
        return None
    qa_model = settings.qa.qa_model
    return create_indexer(settings.replace(model=qa_model) if qa_model else settings)


def ask(
    question: str,
    *,
    store: Store | None = None,
    settings: Settings | None = None,
    video_ids: Sequence[str] | None = None,
    look_again: bool | None = None,
    thinking: bool | None = None,
    indexer: Indexer | None = None,
) -> Answer:
    """Answer ``question`` from the indexed videos (all, or ``video_ids``), citing moments.

    ``store=None`` opens ``settings.db_path`` and closes it again; ``indexer=None`` builds the
    configured one (and closes it). ``look_again`` and ``thinking`` override the
    ``qa_look_again`` and ``qa_thinking`` settings.
    """
    if not question or not question.strip():
        raise ConfigError("the question is empty; ask something about the indexed videos")
    settings = settings or resolve_settings()
    if store is None and indexer is None:
        from videoidx.routing import served_client

        client = served_client(settings.db_path)
        if client is not None:  # a running server holds the file: it answers
            with client:
                return client.ask(
                    question, video_ids=video_ids, look_again=look_again, thinking=thinking
                )
    own_indexer = indexer is None
    model = qa_indexer(settings) if indexer is None else indexer
    own_store = store is None
    try:
        if model is not None:
            model.check_ready()  # a missing key fails now, with what to set
        if store is None:
            if not Path(settings.db_path).is_file():
                raise StoreError(
                    f"no store at {settings.db_path}; index a video first, or point the "
                    "db_path setting at the store (resolve_settings({'db_path': PATH}), "
                    "VIDEOIDX_DB or the config file) or pass store=Store.open(PATH)"
                )
            store = Store.open(settings.db_path)
        return _ask(question, store, settings, video_ids, look_again, thinking, model)
    finally:
        if own_store and store is not None:
            store.close()
        if own_indexer and model is not None:
            model.close()


def _ask(
    question: str,
    store: Store,
    settings: Settings,
    video_ids: Sequence[str] | None,
    look_again: bool | None,
    thinking: bool | None,
    indexer: Indexer | None,
) -> Answer:
    if video_ids is not None:
        for vid in video_ids:
            if store.video(vid) is None:
                raise ConfigError(f"video {vid} is not in the store; `videoidx videos` lists them")
    tf = parse_time_filter(question)
    evidence = gather_evidence(
        store,
        question,
        tf,
        video_ids=video_ids,
        max_evidence=settings.qa.qa_max_evidence,
        embedder=query_embedder(settings),
    )
    evidence.readings[:0] = tf.readings
    answer = Answer(
        question=question,
        text="",
        citations=[],
        mode=AnswerMode.UNANSWERABLE,
        usage=Usage(),
        evidence=list(evidence.items),
        filters="; ".join(evidence.readings),
    )
    if indexer is None or not indexer.can_complete_text:
        text, cited = extractive_answer(evidence)
        answer.text, answer.citations = text, cited
        answer.mode = AnswerMode.RETRIEVED if cited else AnswerMode.UNANSWERABLE
    else:
        answer.model = indexer.model_id
        think = settings.qa.qa_thinking if thinking is None else thinking
        looks = settings.qa.qa_look_again if look_again is None else look_again
        _ModelAnswer(answer, store, settings, evidence, indexer, think).run(looks)
    answer.text, answer.citations, answer.evidence = number_in_order(
        answer.text, answer.citations, answer.evidence
    )
    cited_videos = list(dict.fromkeys(c.video_id for c in answer.citations))
    answer.qa_id = store.log_question(
        question,
        answer.text,
        answer.citations,
        answer.usage,
        video_ids=cited_videos or list(video_ids or ()),
        model=answer.model,
    )
    return answer


@dataclass
class _ModelAnswer:
    """One question answered by a model; fills ``answer`` in place."""

    answer: Answer
    store: Store
    settings: Settings
    evidence: Evidence
    model: Indexer
    thinking: bool

    def run(self, look_again: bool) -> None:
        """From the evidence, or from the best clip's frames when looking again is on and the
        evidence is thin (or did not answer)."""
        ev, answer = self.evidence, self.answer
        tried = look_again and ev.thin
        looked = tried and self.look_again()
        if answer.mode == AnswerMode.LOOKED_AGAIN:
            return
        if not ev.items:
            if not looked:
                answer.text = NOTHING_FOUND
            return
        messages = build_messages(answer.question, ev.items, ev.links, ev.readings)
        checked = check_citations(self.complete(messages), ev.items)
        _apply(answer, checked, AnswerMode.GENERATED)
        if not checked.answered and look_again and not tried:
            self.look_again()

    def look_again(self) -> bool:
        """Ask about the best clip's frames; False when there is no clip, file or image
        support. A look that does not answer either leaves its own "not answered" text."""
        ev = self.evidence
        if not self.model.can_look:
            return False
        primary = ev.primary()
        target = primary[0] if primary else (ev.items[0] if ev.items else None)
        clip = clip_around(self.store, target, len(ev.items) + 1) if target is not None else None
        frames = clip_frames(self.store, clip, self.settings) if clip is not None else []
        if clip is None or not frames:
            return False
        question, closing = look_prompt(self.answer.question, clip)
        text, used = self.model.look(
            frames, question, system=SYSTEM, closing=closing, thinking=self.thinking
        )
        self.answer.usage.add(used)
        checked = check_citations(answer_text(text), [clip])
        _apply(self.answer, checked, AnswerMode.LOOKED_AGAIN)
        self.answer.evidence = [*self.answer.evidence, clip]
        return True

    def complete(self, messages: list[dict[str, Any]]) -> str:
        text, used = self.model.complete_text(messages, thinking=self.thinking)
        self.answer.usage.add(used)
        return answer_text(text)


def _apply(answer: Answer, checked: CheckedReply, mode: AnswerMode) -> None:
    answer.text = checked.text
    answer.citations = checked.citations
    answer.dropped_citations += checked.dropped
    answer.mode = mode if checked.answered else AnswerMode.UNANSWERABLE


__all__ = ["LABEL", "Answer", "Citation", "ask"]

"""Reading a model's reply text: the one tolerant reader every adapter and the core share.

Replies are untrusted text. Models wrap what was asked for in things that are not part of it:
``<think>…</think>`` reasoning left in the content, ``<|begin_of_box|>…<|end_of_box|>`` box
tokens, Markdown code fences, prose before and after the JSON, trailing commas, and a JSON value
cut off at the token limit. In order:

1. :func:`split_thinking` separates the reasoning from the answer.
2. :func:`answer_text` is the answer alone (no reasoning, no box tokens): what a text reply
   (a Q&A answer) shows.
3. :func:`extract_json_text` takes the boxed span when there is one, drops fences and prose
   around the JSON, and cuts the first JSON value out.
4. :func:`loads_lenient` parses it, forgiving trailing commas and, for a reply cut off at the
   token limit, keeping every item that was complete.

:func:`read_json` does 3 and 4 at once. Nothing here raises anything but
:class:`ReplyParseError` (a ``ValueError``), so the caller decides how an unreadable reply is
reported. Adapters read their clip analyses with these functions; the core reads consolidation
replies (``pipeline.consolidate``) and answers (``qa``) with them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
BOX_OPEN, BOX_CLOSE = "<|begin_of_box|>", "<|end_of_box|>"


class ReplyParseError(ValueError):
    """The reply holds no JSON value that can be read."""


# -- text -> answer text -----------------------------------------------------------------------


def split_thinking(content: str) -> tuple[str, str]:
    """``(reasoning, answer)``: ``<think>`` blocks taken out of ``content``.

    A ``</think>`` without an opening tag (a template that pre-fills ``<think>``) ends the
    reasoning; an unclosed ``<think>`` (reply cut off while thinking) makes the rest reasoning.
    """
    reasoning: list[str] = []
    text = content
    if THINK_CLOSE in text and THINK_OPEN not in text.split(THINK_CLOSE, 1)[0]:
        head, text = text.split(THINK_CLOSE, 1)
        reasoning.append(head)
    while THINK_OPEN in text:
        before, rest = text.split(THINK_OPEN, 1)
        if THINK_CLOSE in rest:
            inner, after = rest.split(THINK_CLOSE, 1)
            reasoning.append(inner)
            text = before + after
        else:
            reasoning.append(rest)
            text = before
    return "\n".join(r.strip() for r in reasoning if r.strip()), text.strip()


def answer_text(content: str) -> str:
    """The answer of a text reply: without its reasoning and without box tokens."""
    _, answer = split_thinking(content or "")
    return answer.replace(BOX_OPEN, "").replace(BOX_CLOSE, "").strip()


# -- text -> JSON text -------------------------------------------------------------------------


def _take_box(text: str) -> str:
    if BOX_OPEN not in text:
        return text.replace(BOX_CLOSE, "")
    inner = text.split(BOX_OPEN, 1)[1]
    return inner.split(BOX_CLOSE, 1)[0]


_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


def _strip_fences(text: str) -> str:
    match = _FENCE.search(text)
    return match.group(1) if match else text


def _json_span(text: str) -> str:
    """The first JSON object/array in ``text``, up to its matching bracket or the text's end."""
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        return text.strip()
    start = min(starts)
    depth = 0
    for i, ch, quoted in _scan_strings(text[start:]):
        if quoted:
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : start + i + 1]
    return text[start:].strip()  # unbalanced: a truncated reply, repaired by loads_lenient


def extract_json_text(content: str) -> str:
    """The JSON part of a reply: no thinking, box tokens, fences or surrounding prose.

    Returns the best candidate text even when it is not valid JSON (``json.loads`` then raises
    ``ValueError``, which callers already handle).
    """
    _, answer = split_thinking(content or "")
    return _json_span(_strip_fences(_take_box(answer)))


# -- JSON text -> Python value -----------------------------------------------------------------


def _scan_strings(text: str) -> Iterator[tuple[int, str, bool]]:
    """Each character with its index and whether it belongs to a JSON string (quotes included),
    honouring backslash escapes: the one place that knows where strings start and end."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            yield i, ch, True
        elif ch == '"':
            in_string = True
            yield i, ch, True
        else:
            yield i, ch, False


def _remove_trailing_commas(text: str) -> str:
    out: list[str] = []
    for i, ch, quoted in _scan_strings(text):
        if not quoted and ch == ",":
            nxt = text[i + 1 :].lstrip()
            if not nxt or nxt[0] in "}]":
                continue
        out.append(ch)
    return "".join(out)


def _complete_prefix(text: str) -> str | None:
    """Close a truncated JSON text after its last complete list item (or top-level member).

    Safe cut points are right after an object that sits in an array (an event, a character)
    and right after an array that is a member of the top-level object (``"events": [...]``);
    an object cut in half is dropped rather than half-kept.
    """
    stack: list[str] = []
    best: tuple[int, list[str]] | None = None
    for i, ch, quoted in _scan_strings(text):
        if quoted:
            continue
        if ch in "{[":
            stack.append(ch)
        elif ch in "}]":
            if not stack:
                return None
            closed = stack.pop()
            if not stack:
                return text[: i + 1]  # balanced after all
            if (closed == "{" and stack[-1] == "[") or (closed == "[" and len(stack) == 1):
                best = (i + 1, list(stack))
    if best is None:
        return None
    cut, open_stack = best
    closers = "".join("}" if c == "{" else "]" for c in reversed(open_stack))
    return _remove_trailing_commas(text[:cut] + closers)


@dataclass
class LenientResult:
    value: Any
    repaired: bool = False
    """True when a truncated text was cut back to its complete items."""


def loads_lenient(text: str) -> LenientResult:
    """Parse JSON forgiving trailing commas and truncation; raise ReplyParseError otherwise."""
    for candidate in (text, _remove_trailing_commas(text)):
        try:
            return LenientResult(json.loads(candidate))
        except ValueError:
            pass
    fixed = _complete_prefix(text)
    if fixed is not None:
        try:
            return LenientResult(json.loads(fixed), repaired=True)
        except ValueError:
            pass
    raise ReplyParseError("the reply contains no readable JSON")


def read_json(content: str) -> Any:
    """The JSON value in a reply (see the module docstring); ReplyParseError when there is none."""
    return loads_lenient(extract_json_text(content)).value

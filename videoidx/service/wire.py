"""Dataclasses to JSON and back, so an API client gets the same types the library returns.

The API sends ``dataclasses.asdict`` of the library's own results (hits, videos, answers, run
results, progress); :func:`decode` rebuilds them from their type hints, nested dataclasses,
lists, tuples and string enums included. One codec for the server and the client keeps the two
from drifting apart.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    """A JSON-ready copy of a dataclass (or a list of them, or plain data)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    return value


def decode(cls: type[T], data: Any) -> T:
    """``cls`` rebuilt from what :func:`encode` made of it; unknown keys are ignored, so an
    older client reads a newer server's replies."""
    return typing.cast(T, _decode(cls, data))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(typ: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(typ)
    if origin is typing.Union or isinstance(typ, types.UnionType):
        options = [a for a in typing.get_args(typ) if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data
    if origin in (list, typing.Sequence) or typ is list:
        (item,) = typing.get_args(typ) or (Any,)
        return [_decode(item, v) for v in data]
    if origin is tuple:
        args = typing.get_args(typ)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=False))
    if origin is dict:
        return dict(data)
    if isinstance(typ, type) and dataclasses.is_dataclass(typ):
        hints = _hints(typ)
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(typ)
            if f.init and f.name in data
        }
        return typ(**kwargs)
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return typ(data)
    if typ is float and isinstance(data, int):
        return float(data)
    return data

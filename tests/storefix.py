"""Hand-built analyses for the store, search and export tests (no video needed)."""

from __future__ import annotations

import io
from pathlib import Path

from videoidx.store import Store
from videoidx.types import (
    Appearance,
    CausalLink,
    Character,
    ClipAnalysis,
    ClipSpec,
    Event,
    Frame,
    Usage,
    VideoInfo,
)


def video_info(
    video_id: str = "vid-a", title: str = "Cup final", duration_s: float = 120.0
) -> VideoInfo:
    return VideoInfo(
        video_id=video_id,
        path=f"/videos/{video_id}.mp4",
        title=title,
        duration_s=duration_s,
        fps_avg=25.0,
        fps_nominal=25.0,
        frame_count=int(duration_s * 25),
        width_px=640,
        height_px=360,
        rotation_deg=0,
        codec="h264",
        has_audio=True,
        start_offset_s=0.0,
        size_bytes=123456,
    )


def clip(video_id: str, index: int, length_s: float = 10.0) -> ClipSpec:
    return ClipSpec(video_id, index, index * length_s, (index + 1) * length_s)


def analysis(spec: ClipSpec, *, words: str = "", n_events: int = 2) -> ClipAnalysis:
    """Events spread over the clip; event 1 causes event 2; one character in every event."""
    step = spec.duration_s / max(n_events, 1)
    events = [
        Event(
            key=f"e{i + 1}",
            start_s=spec.start_s + i * step,
            end_s=spec.start_s + (i + 1) * step,
            label="pass" if i % 2 == 0 else "shot",
            description=f"clip {spec.index} event {i + 1} {words}".strip(),
            characters=("c1",),
            objects=("ball",),
            location="pitch",
            on_screen_text=f"{spec.index}-{i}",
            confidence=0.9,
        )
        for i in range(n_events)
    ]
    links = (
        [CausalLink("e1", "e2", "causes", "the pass sets up the shot", 0.8)] if n_events > 1 else []
    )
    return ClipAnalysis(
        events=events,
        characters=[Character("c1", "Striker", "number nine in red", spec.start_s)],
        appearances=[Appearance("c1", e.start_s, e.end_s, e.key, (1, 2, 30, 40)) for e in events],
        links=links,
        summary=f"clip {spec.index} summary",
        raw_reply='{"events": []}',
        usage=Usage(prompt_tokens=100, completion_tokens=20, cost_usd=0.001, requests=1),
        model="test-model",
    )


def jpeg_frame(time_s: float, size: tuple[int, int] = (320, 180)) -> Frame:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="JPEG")
    return Frame(time_s=time_s, jpeg=buf.getvalue(), width_px=size[0], height_px=size[1])


def filled_store(path: Path, video_ids: tuple[str, ...] = ("vid-a",), clips: int = 3) -> Store:
    """A store with ``clips`` done clips per video, one run each, finished."""
    store = Store.open(path)
    for vid in video_ids:
        store.upsert_video(video_info(vid, title=f"Title {vid}"))
        run = start(store, vid)
        for i in range(clips):
            spec = clip(vid, i)
            store.write_clip(
                run, spec, f"{vid}-k{i}", analysis(spec), frames=[jpeg_frame(spec.start_s)]
            )
        store.finish_run(run, "done", Usage(prompt_tokens=300))
    return store


def start(store: Store, video_id: str, model: str = "m1") -> str:
    return store.start_run(
        video_id, indexer="test", model=model, provider="", prompt_version="v1", settings={"x": 1}
    )


def count(store: Store, sql: str, params: list[object] | None = None) -> int:
    return int(store.sql(sql, list(params or []))[0][0])


TABLES_WITH_VIDEO = (
    "videos", "index_runs", "clips", "events", "clip_characters", "characters",
    "event_characters", "appearances", "causal_links", "shots", "thumbnails",
)  # fmt: skip


def index_is_consistent(store: Store) -> bool:
    """The BM25 bookkeeping matches the events table exactly."""
    n_docs, total_len = store.sql("SELECT n_docs, total_len FROM search_stats")[0]
    events, lengths = store.sql("SELECT count(*), coalesce(sum(doc_len), 0) FROM events")[0]
    tf_sum = count(store, "SELECT coalesce(sum(tf), 0) FROM postings")
    orphans = count(
        store, "SELECT count(*) FROM postings WHERE doc NOT IN (SELECT doc FROM events)"
    )
    bad_df = count(
        store,
        "SELECT count(*) FROM terms t LEFT JOIN (SELECT term_id, count(*) n FROM postings "
        "GROUP BY term_id) p USING (term_id) WHERE t.df <> coalesce(p.n, 0)",
    )
    return (
        (n_docs, total_len) == (events, lengths)
        and tf_sum == lengths
        and not orphans
        and not bad_df
    )

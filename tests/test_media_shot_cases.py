"""Hard cuts on generated shot-truth videos (media.synth_shots): every cut found within a frame,
nothing else reported.

Each case breaks a detector that lacks one of its tests: fades from and to black or white and a
fade through black (no linearity test, or HSV scores), dissolves (no isolation test), flashes
and strobes (no flash test), whip pans (no isolation test), a cut in half of a split screen or
in an inset over a panning picture (no per-cell region test), grain to a flat picture of the same
colour (no texture test), dark and same-palette cuts (a high absolute floor), and 4:4:4 / VP8 /
VP9 inputs (decoder paths).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from videoidx import detect_shots
from videoidx.media.shots import ShotDetector
from videoidx.media.synth_shots import ShotCase, make_shot_case, shot_cases

CASES = {case.name: case for case in shot_cases()}


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shot_cases")


def _video(case: ShotCase, folder: Path) -> Path:
    path = folder / f"{case.name}{case.suffix}"
    return path if path.is_file() else make_shot_case(case, folder)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_case_cuts_within_one_frame(case_dir: Path, name: str) -> None:
    case = CASES[name]
    found = [cut.frame for cut in detect_shots(_video(case, case_dir))]
    truth = case.cut_frames()
    assert len(found) == len(truth), (case.note, truth, found)
    for frame, expected in zip(found, truth, strict=True):
        assert abs(frame - expected) <= 1, (case.note, truth, found)


def test_cases_cover_what_the_issue_names() -> None:
    # The generated truth holds cuts and no-cut cases of every kind the detector must handle.
    names = set(CASES)
    for needed in (
        "fade_black",
        "fade_white",
        "fade_through",
        "dissolves",
        "flashes",
        "strobe",
        "fast_pans",
        "split_screen",
        "pip_inset_cuts",
        "chroma_444",
        "webm_vp8",
        "webm_vp9",
    ):
        assert needed in names
    assert CASES["fade_through"].cut_frames() == []
    assert sum(len(c.cut_frames()) for c in CASES.values()) >= 30


def test_generated_files_have_the_promised_format(case_dir: Path) -> None:
    from videoidx.media.probe import probe

    assert probe(_video(CASES["webm_vp8"], case_dir)).codec == "vp8"
    assert probe(_video(CASES["webm_vp9"], case_dir)).codec == "vp9"
    info = probe(_video(CASES["chroma_444"], case_dir))
    assert info.codec == "h264"


def test_streaming_decisions_do_not_depend_on_batch_size(case_dir: Path) -> None:
    # The detector decides with a look-ahead across batches: one frame at a time must give the
    # cuts that whole batches give.
    from videoidx.media.decode import iter_frames
    from videoidx.media.probe import probe

    info = probe(_video(CASES["flashes"], case_dir))
    batches = list(iter_frames(info, info.width_px, info.height_px))
    whole = ShotDetector(info.fps_nominal)
    single = ShotDetector(info.fps_nominal)
    for batch in batches:
        whole.push_batch(batch.indices, batch.times_s, batch.analysis)
        for k in range(len(batch.indices)):
            single.push_batch(
                batch.indices[k : k + 1], batch.times_s[k : k + 1], batch.analysis[k : k + 1]
            )
    whole.finish()
    single.finish()
    assert whole.cuts == single.cuts
    assert [c.frame for c in whole.cuts] == CASES["flashes"].cut_frames()


# Each test of the detector, switched off (or a floor raised), and a case that then fails.
BROKEN: list[tuple[str, dict[str, float]]] = [
    ("flashes", {"FLASH_RETURN": 0.0}),
    ("strobe", {"FLASH_RETURN": 0.0, "NEAR_SHARE": 100.0}),
    ("dissolves", {"NEAR_SHARE": 100.0}),
    ("fast_pans", {"NEAR_SHARE": 100.0}),
    ("fade_through", {"LINEAR_BELOW": 0.0}),
    ("pip_inset_cuts", {"CELL_FACTOR": 100.0}),
    ("texture_cuts", {"TEXTURE_FACTOR": 100.0}),
    ("dark_cuts", {"threshold": 0.04}),
    ("split_screen", {"threshold": 0.04}),
]


@pytest.mark.parametrize(("name", "broken"), BROKEN, ids=[name for name, _ in BROKEN])
def test_case_fails_a_detector_without_the_test_it_needs(
    case_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str, broken: dict[str, float]
) -> None:
    from videoidx.media import shots
    from videoidx.settings import MediaSettings

    settings = MediaSettings()
    for key, value in broken.items():
        if key == "threshold":
            settings = MediaSettings(shot_threshold=value)
        else:
            monkeypatch.setattr(shots, key, value)
    case = CASES[name]
    found = [cut.frame for cut in detect_shots(_video(case, case_dir), settings)]
    truth = case.cut_frames()
    matched = len(found) == len(truth) and all(
        abs(f - t) <= 1 for f, t in zip(found, truth, strict=True)
    )
    assert not matched, f"{name} passes a detector with {broken}: it tests nothing there"


def test_skipping_the_loop_filter_changes_neither_cuts_nor_what_is_seen(case_dir: Path) -> None:
    # The scan decodes without H.264 deblocking (media.scan.SKIP_LOOP_FILTER): the cuts must be
    # the same and the sampling-size pictures within what nobody can see at that size.
    import numpy as np

    from videoidx.media.decode import iter_frames
    from videoidx.media.probe import probe

    info = probe(_video(CASES["hard_cuts"], case_dir))
    results = []
    for skip in (False, True):
        detector = ShotDetector(info.fps_nominal)
        pictures = {}
        for batch in iter_frames(info, 448, 252, skip_loop_filter=skip):
            detector.push_batch(batch.indices, batch.times_s, batch.analysis)
            for k, index in enumerate(batch.indices.tolist()):
                if index % 25 == 0:
                    pictures[index] = batch.rgb(k).astype(np.float64)
        detector.finish()
        results.append(([c.frame for c in detector.cuts], pictures))
    (cuts, filtered), (cuts_skipped, skipped) = results
    assert cuts == cuts_skipped == CASES["hard_cuts"].cut_frames()
    for index, picture in filtered.items():
        mse = float(((picture - skipped[index]) ** 2).mean())
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 32, index

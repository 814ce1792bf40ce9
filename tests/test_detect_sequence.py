"""detect_sequence: given keypoints, the detection cache, cancelling, never writing the input."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from _make_sequence import (
    keypoints_only_sequence,
    random_keypoints,
    sequence_from_images,
    snapshot,
    video_sequence,
)
from _render_person import render_person

from core.detect import DETECTIONS_NPZ, default_cache_dir, detect_sequence
from core.detect.cache import read_detections
from core.errors import CancelledError, InputError
from core.io import MultiViewSequence
from core.keypoints import COCO17_NAMES

CHECKED = [COCO17_NAMES.index(n) for n in
           ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee")]
NUM_FRAMES = 2


def person_views():
    """Two views of the person: 480x640 and a 360x480 copy; true keypoints (2, 17, 2)."""
    image, truth = render_person(480, 640)
    small = cv2.resize(image, (360, 480), interpolation=cv2.INTER_AREA)
    return [image, small], np.stack([truth, truth * 0.75])


@pytest.fixture
def person_seq(tmp_path):
    images, truth = person_views()
    return sequence_from_images(tmp_path / "seq", images, NUM_FRAMES, kind="images"), truth


class Progress:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))


def test_detects_every_frame_and_view(person_seq, tmp_path):
    root, truth = person_seq
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        keypoints = detect_sequence(seq, tmp_path / "out", progress=progress, show_progress_bar=False)
    assert keypoints.shape == (NUM_FRAMES, 2, 17, 3) and keypoints.dtype == np.float32
    errors = np.linalg.norm(keypoints[:, :, CHECKED, :2] - truth[None, :, CHECKED], axis=-1)
    assert errors.max() < 25
    total = NUM_FRAMES * 2
    assert progress.calls == [(i, total) for i in range(total + 1)]
    assert (tmp_path / "out" / DETECTIONS_NPZ).is_file()


def test_video_views_are_tracked(tmp_path):
    images, truth = person_views()
    root = sequence_from_images(tmp_path / "seq", images, 3, kind="video")
    with MultiViewSequence.open(root) as seq:
        assert seq.view_kinds == ["video", "video"]
        keypoints = detect_sequence(seq, tmp_path / "out", show_progress_bar=False)
    errors = np.linalg.norm(keypoints[:, :, CHECKED, :2] - truth[None, :, CHECKED], axis=-1)
    assert errors.max() < 25


def test_cache_is_reused_until_the_input_changes(person_seq, tmp_path):
    root, _ = person_seq
    cache = tmp_path / "cache"
    with MultiViewSequence.open(root) as seq:
        first = detect_sequence(seq, cache, show_progress_bar=False)
    cache_file = cache / DETECTIONS_NPZ
    written = cache_file.stat().st_mtime_ns

    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        again = detect_sequence(seq, cache, progress=progress, show_progress_bar=False)
    np.testing.assert_array_equal(again, first)
    assert cache_file.stat().st_mtime_ns == written  # not rewritten
    assert progress.calls == [(4, 4)]  # the detector did not run: no per-image progress

    # Touch one input image: the cache no longer matches, the detector runs and rewrites it.
    image = root / "images" / "cam02" / "0001.png"
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        detect_sequence(seq, cache, progress=progress, show_progress_bar=False)
    assert progress.calls[0] == (0, 4) and len(progress.calls) == 5
    assert cache_file.stat().st_mtime_ns != written

    # force reruns even when the cache matches.
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        detect_sequence(seq, cache, progress=progress, show_progress_bar=False, force=True)
    assert len(progress.calls) == 5


def test_cache_records_what_it_was_made_for(person_seq, tmp_path):
    root, _ = person_seq
    with MultiViewSequence.open(root) as seq:
        detect_sequence(seq, tmp_path / "c", show_progress_bar=False)
        fingerprint = seq.fingerprint()
    with np.load(tmp_path / "c" / DETECTIONS_NPZ) as data:
        assert str(data["fingerprint"]) == fingerprint
        assert int(data["model_complexity"]) == 1
        assert data["view_names"].tolist() == ["cam01", "cam02"]
        assert data["frame_indices"].tolist() == [0, 1]
        assert data["keypoint_names"].tolist() == list(COCO17_NAMES)
        assert data["image_sizes"].tolist() == [[480, 640], [360, 480]]
        assert str(data["detector"]).startswith("mediapipe-pose ")
        meta = {k: data[k] for k in ("fingerprint", "model_complexity", "detector", "view_names",
                                     "frame_indices", "image_sizes")}
    path = tmp_path / "c" / DETECTIONS_NPZ
    assert read_detections(path, meta) is not None
    assert read_detections(path, {**meta, "model_complexity": np.int64(2)}) is None
    assert read_detections(path, {**meta, "fingerprint": np.array("other")}) is None


def test_damaged_cache_is_recomputed(person_seq, tmp_path):
    root, _ = person_seq
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / DETECTIONS_NPZ).write_bytes(b"not a zip")
    with MultiViewSequence.open(root) as seq:
        keypoints = detect_sequence(seq, tmp_path / "c", show_progress_bar=False)
    assert keypoints[..., 2].max() > 0.5
    with np.load(tmp_path / "c" / DETECTIONS_NPZ) as data:
        np.testing.assert_array_equal(data["keypoints2d"], keypoints)


def test_input_folder_is_never_written(person_seq, tmp_path):
    root, _ = person_seq
    before = snapshot(root)
    with MultiViewSequence.open(root) as seq:
        detect_sequence(seq, default_cache_dir(root), show_progress_bar=False)
        with pytest.raises(InputError, match="inside the input sequence"):
            detect_sequence(seq, root / "cache", show_progress_bar=False)
        with pytest.raises(InputError, match="inside the input sequence"):
            detect_sequence(seq, root, show_progress_bar=False)
    assert snapshot(root) == before


def test_given_keypoints_skip_the_detector(tmp_path):
    root = keypoints_only_sequence(tmp_path / "seq", num_frames=5)
    with MultiViewSequence.open(root) as seq:
        keypoints = detect_sequence(seq, tmp_path / "cache", show_progress_bar=False)
    np.testing.assert_array_equal(keypoints, random_keypoints(5, 3))
    keypoints[0, 0, 0, 0] = -1  # the caller's copy is writable
    assert not (tmp_path / "cache").exists()


def test_cancel_stops_and_writes_nothing(tmp_path):
    root = video_sequence(tmp_path / "seq", num_frames=(6, 6))
    calls = Progress()
    with MultiViewSequence.open(root) as seq, pytest.raises(CancelledError, match="after 3 of 12"):
        detect_sequence(seq, tmp_path / "cache", progress=calls, should_cancel=lambda: len(calls.calls) > 3,
                        show_progress_bar=False)
    assert not (tmp_path / "cache" / DETECTIONS_NPZ).exists()


def test_frames_without_a_person(tmp_path):
    root = video_sequence(tmp_path / "seq", num_frames=(3, 3))
    with MultiViewSequence.open(root) as seq:
        keypoints = detect_sequence(seq, tmp_path / "cache", show_progress_bar=False)
    np.testing.assert_array_equal(keypoints, np.zeros((3, 2, 17, 3), np.float32))


def test_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMANET_CACHE_DIR", str(tmp_path / "base"))
    a = default_cache_dir(tmp_path / "seq_a")
    assert a.parent == tmp_path / "base" / "detections"
    assert default_cache_dir(tmp_path / "seq_a" / ".." / "seq_a") == a  # same folder, same cache
    assert default_cache_dir(tmp_path / "seq_b") != a
    monkeypatch.delenv("CMANET_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir(tmp_path / "seq_a").parent == tmp_path / "home" / ".cache" / "cmanet" / "detections"

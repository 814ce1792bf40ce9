"""detect_people and the detection cache: per-frame entries keyed by content in the user cache,
resuming after an interruption, damaged entries, given keypoints, never writing the input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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
from core.detect import cached_people, detect_people, view_cache_dirs
from core.detect.cache import cache_base_dir, entry_path
from core.errors import CancelledError, InputError
from core.io import MultiViewSequence
from core.keypoints import COCO17_NAMES

REPO = Path(__file__).resolve().parent.parent
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


def entries(seq_root: Path) -> list[Path]:
    with MultiViewSequence.open(seq_root) as seq:
        return sorted(p for d in view_cache_dirs(seq) if d.is_dir() for p in d.glob("f*.npz"))


def test_detects_every_frame_and_view(person_seq):
    root, truth = person_seq
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        people = detect_people(seq, progress=progress, show_progress_bar=False)
    assert people.keypoints.shape[:2] == (NUM_FRAMES, 2) and people.keypoints.shape[3:] == (17, 3)
    assert (people.count == 1).all()
    keypoints = people.keypoints[:, :, 0]
    errors = np.linalg.norm(keypoints[:, :, CHECKED, :2] - truth[None, :, CHECKED], axis=-1)
    assert errors.max() < 25
    assert people.boxes.shape == (NUM_FRAMES, 2, 1, 4) and (people.scores > 0.5).all()
    total = NUM_FRAMES * 2
    assert progress.calls == [(i, total) for i in range(total + 1)]
    # One entry per frame and view, in the user cache.
    found = entries(root)
    assert len(found) == total
    assert all(cache_base_dir() / "detections" in p.parents for p in found)


def test_video_views_are_tracked(tmp_path):
    images, truth = person_views()
    root = sequence_from_images(tmp_path / "seq", images, 3, kind="video")
    with MultiViewSequence.open(root) as seq:
        assert seq.view_kinds == ["video", "video"]
        people = detect_people(seq, show_progress_bar=False)
    assert (people.count == 1).all()
    errors = np.linalg.norm(people.keypoints[:, :, 0, CHECKED, :2] - truth[None, :, CHECKED], axis=-1)
    assert errors.max() < 25


def test_cache_is_reused_and_keyed_by_content(person_seq, tmp_path):
    root, _ = person_seq
    with MultiViewSequence.open(root) as seq:
        first = detect_people(seq, show_progress_bar=False)
    stamps = {p: p.stat().st_mtime_ns for p in entries(root)}

    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        again = detect_people(seq, progress=progress, show_progress_bar=False)
    np.testing.assert_array_equal(again.keypoints, first.keypoints)
    assert progress.calls == [(4, 4)]  # the detector did not run

    # Touching a file changes no content: still cached.
    image = root / "images" / "cam02" / "0001.png"
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        detect_people(seq, progress=progress, show_progress_bar=False)
    assert progress.calls == [(4, 4)]

    # The moved (renamed) sequence keeps its detections.
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    shutil.move(root, moved)
    progress = Progress()
    with MultiViewSequence.open(moved) as seq:
        detect_people(seq, progress=progress, show_progress_bar=False)
    assert progress.calls == [(4, 4)]
    assert {p: p.stat().st_mtime_ns for p in entries(moved)} == stamps

    # Changing one view's content detects that view again (and only it).
    flipped = cv2.imread(str(moved / "images" / "cam02" / "0001.png"))[:, ::-1]
    cv2.imwrite(str(moved / "images" / "cam02" / "0001.png"), flipped)
    progress = Progress()
    with MultiViewSequence.open(moved) as seq:
        detect_people(seq, progress=progress, show_progress_bar=False)
    assert progress.calls[0] == (2, 4) and progress.calls[-1] == (4, 4) and len(progress.calls) == 3

    # force reruns even when the cache matches.
    progress = Progress()
    with MultiViewSequence.open(moved) as seq:
        detect_people(seq, progress=progress, show_progress_bar=False, force=True)
    assert len(progress.calls) == 5


def test_changing_a_video_invalidates_its_entries(tmp_path):
    images, _ = person_views()
    root = sequence_from_images(tmp_path / "seq", images, 2, kind="video")
    with MultiViewSequence.open(root) as seq:
        detect_people(seq, show_progress_bar=False)
        old_dirs = view_cache_dirs(seq)
    # Re-encode cam01 with the person mirrored: a different video.
    sequence_from_images(tmp_path / "other", [images[0][:, ::-1].copy()], 2, kind="video")
    shutil.copyfile(tmp_path / "other" / "videos" / "cam01.avi", root / "videos" / "cam01.avi")
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        people = detect_people(seq, progress=progress, show_progress_bar=False)
        new_dirs = view_cache_dirs(seq)
    assert new_dirs[0] != old_dirs[0] and new_dirs[1] == old_dirs[1]
    assert progress.calls[0] == (2, 4) and len(progress.calls) == 3
    assert (people.count == 1).all()


def test_damaged_entries_are_misses(person_seq):
    root, _ = person_seq
    with MultiViewSequence.open(root) as seq:
        first = detect_people(seq, show_progress_bar=False)
        dirs = view_cache_dirs(seq)
    entry_path(dirs[0], 0).write_bytes(b"not a zip")
    np.savez(entry_path(dirs[1], 1), keypoints=np.zeros((1, 5, 3)), format_version=np.int64(2), frame=np.int64(1))
    with MultiViewSequence.open(root) as seq:
        assert cached_people(seq) is None  # damaged: not usable, and no crash
        progress = Progress()
        again = detect_people(seq, progress=progress, show_progress_bar=False)
    assert progress.calls[0] == (2, 4) and len(progress.calls) == 3
    np.testing.assert_allclose(again.keypoints, first.keypoints, atol=1e-4)


def test_cancelled_detection_resumes_where_it_stopped(tmp_path):
    images, _ = person_views()
    root = sequence_from_images(tmp_path / "seq", images, 6, kind="video")
    calls = Progress()
    with MultiViewSequence.open(root) as seq, pytest.raises(CancelledError, match="after 3 of 12"):
        detect_people(seq, progress=calls, should_cancel=lambda: len(calls.calls) > 3, show_progress_bar=False)
    assert len(entries(root)) == 3
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        resumed = detect_people(seq, progress=progress, show_progress_bar=False)
        uninterrupted = detect_people(seq, show_progress_bar=False, cache_root=tmp_path / "fresh")
    assert progress.calls[0] == (3, 12) and progress.calls[-1] == (12, 12) and len(progress.calls) == 10
    np.testing.assert_allclose(resumed.keypoints, uninterrupted.keypoints, atol=1e-4)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_killed_detection_resumes(tmp_path, sig):
    """A real ``cmanet detect`` killed part-way: what it finished stays, the rerun does the rest."""
    images, _ = person_views()
    root = sequence_from_images(tmp_path / "seq", images, 30, kind="video")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "detect", str(root)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(entries(root)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(sig)
    process.wait(timeout=60)
    done = len(entries(root))
    assert 3 <= done < 60, "the detection was not stopped part-way"
    progress = Progress()
    with MultiViewSequence.open(root) as seq:
        resumed = detect_people(seq, progress=progress, show_progress_bar=False)
        uninterrupted = detect_people(seq, show_progress_bar=False, cache_root=tmp_path / "fresh")
    assert progress.calls[0][0] >= done - 1  # at most the entry being written when killed is redone
    assert (resumed.count == 1).all()
    np.testing.assert_allclose(resumed.keypoints, uninterrupted.keypoints, atol=1e-4)


def test_input_folder_is_never_written(person_seq):
    root, _ = person_seq
    before = snapshot(root)
    with MultiViewSequence.open(root) as seq:
        detect_people(seq, show_progress_bar=False)
        with pytest.raises(InputError, match="must be outside the input sequence"):
            detect_people(seq, show_progress_bar=False, cache_root=root / "cache")
    assert snapshot(root) == before


@pytest.mark.parametrize("people", [False, True], ids=["one-person", "several"])
def test_given_keypoints_skip_the_detector(tmp_path, people):
    root = keypoints_only_sequence(tmp_path / "seq", num_frames=5)
    given = random_keypoints(5, 3)
    if people:  # (F, V, P, 17, 3): a second person, absent from frame 0 of view 1
        second = random_keypoints(5, 3, seed=1)
        second[0, 1] = 0
        given = np.stack([second, given], axis=2)
        np.savez(root / "keypoints.npz", keypoints2d=given)
    with MultiViewSequence.open(root) as seq:
        found = detect_people(seq, show_progress_bar=False)
    if people:
        assert found.count.tolist() == [[2, 1, 2]] + [[2, 2, 2]] * 4
        np.testing.assert_array_equal(found.keypoints[0, 1, 0], given[0, 1, 1])
    else:
        assert (found.count == 1).all()
        np.testing.assert_array_equal(found.keypoints[:, :, 0], given)
    assert not (cache_base_dir() / "detections").exists()


def test_frames_without_a_person(tmp_path):
    root = video_sequence(tmp_path / "seq", num_frames=(3, 3))
    with MultiViewSequence.open(root) as seq:
        people = detect_people(seq, show_progress_bar=False)
    assert (people.count == 0).all() and people.keypoints.shape == (3, 2, 0, 17, 3)
    assert len(entries(root)) == 6  # "nobody" is cached too


def test_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("CMANET_CACHE_DIR", str(tmp_path / "base"))
    assert cache_base_dir() == tmp_path / "base"
    monkeypatch.delenv("CMANET_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_base_dir() == tmp_path / "home" / ".cache" / "cmanet"

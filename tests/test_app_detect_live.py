"""While detecting, each image's people reach the views as soon as they are found."""

from __future__ import annotations

import numpy as np
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import make_walk_slice, open_and_wait


def test_the_frame_on_screen_shows_its_detections_before_the_rest_is_detected(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("CMANET_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing detected yet
    seq = make_walk_slice(tmp_path / "walk", 0, 3)
    open_and_wait(qtbot, window, seq, tmp_path / "area")
    window.state.set_keypoints(None)
    window.state.set_frame(1)
    seen_at_change = []
    found = []
    window.state.keypoints_changed.connect(lambda: seen_at_change.append(np.array(window.state.keypoints, copy=True)))
    task = window.controller.detect()
    task.found.connect(found.append)
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=180000)
    assert task.state == "succeeded"
    assert sorted((i, v) for i, v, _ in found) == [(i, v) for i in range(3) for v in range(4)]
    live = seen_at_change[:-1]  # the last change is the finished detection's main person
    assert live, "the frame on screen was never updated while detecting"
    # Only frame 1 (on screen) triggers an update; the others fill in quietly.
    assert len(live) == 4
    first_view = next(v for i, v, _ in found if i == 1)
    assert (live[0][1, first_view, :, 2] > 0).any()
    assert (live[-1][1, :, :, 2] > 0).any(axis=-1).all()  # by the last, every view of frame 1 is shown
    assert window.state.keypoints.shape == (3, 4, 17, 3)

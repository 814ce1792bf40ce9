"""The app's side of the bad-input cases (docs/reliability.md): the same core calls as the command
line, so the same one-line message, shown in a dialog; what core warns about (views cut to a
common part, frames without the person) is shown after the job; nothing is written on failure."""

from __future__ import annotations

import numpy as np
import yaml
from _make_sequence import video_sequence
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait


def wait_job(qtbot, window, task, timeout=120000):
    assert task is not None
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=timeout)
    return task


def keypoints_sequence(root, keypoints):
    root.mkdir(parents=True)
    views = keypoints.shape[1]
    (root / "sequence.yaml").write_text(yaml.safe_dump(
        {"fps": 25, "cameras": [{"name": f"cam{v + 1:02d}", "image_size": [1280, 720]} for v in range(views)]}))
    np.savez(root / "keypoints.npz", keypoints2d=keypoints.astype(np.float32))
    return root


def test_views_cut_to_a_common_part_are_reported(qtbot, window, tmp_path):
    seq = video_sequence(tmp_path / "seq", num_frames=(6, 9))
    open_and_wait(qtbot, window, seq)
    assert window.state.sequence.num_frames == 6
    notes = [m for m in window.reporter.messages if m.level == "warning"]
    assert notes and "frame counts differ" in notes[-1].message and notes[-1].title == "Open: please note"


def test_no_person_is_an_error_dialog_and_writes_nothing(qtbot, window, small_sequence, tmp_path):
    with np.load(small_sequence / "keypoints.npz") as data:
        kp = data["keypoints2d"] * 0
    seq = keypoints_sequence(tmp_path / "nobody", kp)
    open_and_wait(qtbot, window, seq, tmp_path / "result")
    task = wait_job(qtbot, window, window.controller.fit())
    assert task.state == "failed"
    report = window.reporter.messages[-1]
    assert report.level == "error" and "no frame shows the person" in report.message
    assert "\n" not in report.message and report.details == ""  # bad input: no traceback
    assert not (tmp_path / "result" / "result.npz").exists()


def test_frames_without_the_person_are_noted_after_the_fit(qtbot, window, small_sequence, tmp_path):
    with np.load(small_sequence / "keypoints.npz") as data:
        kp = data["keypoints2d"].copy()
    kp[1, :, :, 2] = 0.0
    seq = keypoints_sequence(tmp_path / "gap", kp)
    open_and_wait(qtbot, window, seq, tmp_path / "result")
    task = wait_job(qtbot, window, window.controller.fit())
    assert task.state == "succeeded" and window.state.result is not None
    notes = [m for m in window.reporter.messages if m.level == "warning"]
    assert notes and "in fewer than two views in frames 1 (1 of 3)" in notes[-1].message


def test_a_result_folder_that_cannot_be_created_is_an_error_dialog(qtbot, window, small_sequence):
    open_and_wait(qtbot, window, small_sequence, "/proc/cmanet-results")
    task = wait_job(qtbot, window, window.controller.fit())
    assert task.state == "failed"
    report = window.reporter.messages[-1]
    assert "/proc/cmanet-results" in report.message and "cannot create the folder" in report.message
    assert report.details == ""


def test_a_damaged_earlier_result_is_not_used_and_said_so(qtbot, window, fitted_sequence):
    seq, result = fitted_sequence
    (result / "result.npz").write_bytes(b"damaged")
    open_and_wait(qtbot, window, seq, result)
    assert window.state.result is None
    report = window.reporter.messages[-1]
    assert report.title == "Earlier result not used" and "not an .npz archive" in report.message


def test_damaged_keypoint_import_and_calibration_are_error_dialogs(qtbot, window, small_sequence, tmp_path):
    open_and_wait(qtbot, window, small_sequence)
    (tmp_path / "coco.json").write_text("{not json")
    task = window.controller.import_keypoints(tmp_path / "coco.json")
    qtbot.waitUntil(lambda: task.done, timeout=30000)
    assert "coco.json" in window.reporter.messages[-1].message and window.reporter.messages[-1].level == "error"
    (tmp_path / "Calib.toml").write_text("[cam_1]\nmatrix = 'x'\n")
    window.controller.import_calibration(tmp_path / "Calib.toml")
    assert "Calib.toml" in window.reporter.messages[-1].message and window.reporter.messages[-1].details == ""

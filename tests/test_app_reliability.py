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
    """Views a frame apart open at once, cut to the common part, and the notice bar says so; views of
    very different lengths are asked about first (opened anyway, the cut is noted as well)."""
    from PySide6.QtWidgets import QMessageBox

    seq = video_sequence(tmp_path / "close", num_frames=(9, 10))
    open_and_wait(qtbot, window, seq)
    assert window.open_question is None and window.state.sequence.num_frames == 9
    assert window.notice_bar.isVisible() and "frame counts differ" in window.notice_bar.text()

    seq = video_sequence(tmp_path / "apart", num_frames=(6, 9))
    window.controller.open_sequence(seq)
    qtbot.waitUntil(lambda: window.open_question is not None and window.open_question.isVisible(), timeout=30000)
    assert "very different numbers of frames" in window.open_question.text()
    window.open_question.button(QMessageBox.StandardButton.Open).click()
    qtbot.waitUntil(lambda: window.state.sequence is not None and window.state.sequence.root == seq.resolve(),
                    timeout=30000)
    assert window.state.sequence.num_frames == 6 and "frame counts differ" in window.notice_bar.text()


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
    assert window.state.sequence is not None and window.state.result is None
    assert window.notice_bar.isVisible()
    text = window.notice_bar.text()
    assert "earlier result(s) not used" in text and "result.npz" in text and "not an .npz archive" in text


def test_damaged_keypoint_import_and_calibration_are_error_dialogs(qtbot, window, small_sequence, tmp_path):
    open_and_wait(qtbot, window, small_sequence)
    (tmp_path / "coco.json").write_text("{not json")
    task = window.controller.import_keypoints(tmp_path / "coco.json")
    qtbot.waitUntil(lambda: task.done, timeout=30000)
    assert "coco.json" in window.reporter.messages[-1].message and window.reporter.messages[-1].level == "error"
    (tmp_path / "Calib.toml").write_text("[cam_1]\nmatrix = 'x'\n")
    window.controller.import_calibration(tmp_path / "Calib.toml")
    assert "Calib.toml" in window.reporter.messages[-1].message and window.reporter.messages[-1].details == ""

"""Fitting from the app (progress, Cancel, the saved result reopened instantly), detection, the
IRV-vs-IEV comparison with ground-truth metrics, and File > Export."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait

from core.fit.config import load_fit_config
from core.io.results import FitResult


def test_fit_shows_progress_saves_and_compares(qtbot, window, small_sequence):
    open_and_wait(qtbot, window, small_sequence)
    assert window.state.result is None
    stages = []
    window.controller.job_progress.connect(lambda job, stage, done, total: stages.append(stage))
    assert window.run_panel.fit_button.isEnabled()
    window.run_panel.fit_button.click()
    assert window.state.busy == "fit" and window.run_panel.cancel_button.isEnabled()
    assert not window.run_panel.fit_button.isEnabled()
    qtbot.waitUntil(lambda: window.state.result is not None, timeout=120000)
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert not window.reporter.messages, window.reporter.messages
    assert {"irv", "iev"} <= set(stages)
    assert window.run_panel.progress.value() == 0 and window.run_panel.stage_label.text() == "Fitting finished"

    # Saved as a run in the sequence's result area (default: the user cache), with summary.json.
    result_dir = window.state.result_dir
    assert (result_dir / "result.npz").is_file() and (result_dir / "summary.json").is_file()
    assert result_dir.parent == window.state.area / "runs" and window.state.run.folder == result_dir
    assert not (small_sequence / "result.npz").exists()  # the input is never written
    result = window.state.result
    assert result.num_views == 2 and result.num_frames == 3

    # Comparison: per-view means of both modules, and the paper's metrics against gt.npz.
    rows = window.compare_panel.table_values()
    assert [r[0] for r in rows] == ["cam01", "cam02", "all views"]
    irv = float(rows[-1][1])
    assert irv == pytest.approx(float(np.nanmean(result.irv_reproj_px)), abs=0.01)
    assert len(window.compare_panel.curves) == 4
    qtbot.waitUntil(lambda: window.state.eval_report is not None, timeout=60000)
    text = window.compare_panel.gt_text.toPlainText()
    assert "MPJPE" in text and "IRV" in text and "IEV" in text
    assert window.state.eval_report["iev"]["mpjpe_mm"] > 0

    # The marker follows the frame, and dragging it moves the frame.
    window.state.set_frame(2)
    assert window.compare_panel.marker.value() == 2
    window.compare_panel.marker.setValue(1)
    window.compare_panel.marker.sigDragged.emit(window.compare_panel.marker)
    assert window.state.frame == 1

    # Next time the sequence opens with its result, no fitting.
    window.state.set_sequence(None)
    open_and_wait(qtbot, window, small_sequence)
    assert window.state.result is not None and window.state.result_dir == result_dir


def test_cancel_stops_the_fit_without_an_error(qtbot, window, small_sequence):
    open_and_wait(qtbot, window, small_sequence)
    window.controller.fit_overrides["irv"] = load_fit_config().irv  # long enough to cancel
    task = window.controller.fit()
    qtbot.waitUntil(lambda: task.state == "running", timeout=10000)
    window.run_panel.cancel_button.click()
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=60000)
    assert task.state == "cancelled"
    assert window.state.result is None and not window.reporter.messages
    assert "cancelled" in window.run_panel.stage_label.text()
    assert window.run_panel.fit_button.isEnabled()


def test_detect_uses_the_given_keypoints(qtbot, window, small_sequence):
    open_and_wait(qtbot, window, small_sequence)
    window.state.set_keypoints(None)
    task = window.controller.detect()
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=30000)
    assert task.state == "succeeded"
    assert window.state.keypoints is not None and window.state.keypoints.shape == (3, 2, 17, 3)


def test_fit_failure_is_a_dialog_and_the_app_keeps_working(qtbot, window, small_sequence, tmp_path):
    open_and_wait(qtbot, window, small_sequence)
    bad = tmp_path / "bad.yaml"
    bad.write_text("irv: {iterations: lots}\n")
    window.state.set_run_options(fit_config_path=str(bad))
    task = window.controller.fit()
    if task is not None:
        qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=30000)
    assert window.reporter.messages and window.reporter.messages[-1].level == "error"
    assert "bad.yaml" in window.reporter.messages[-1].message
    window.reporter.close_all()
    window.state.set_run_options(fit_config_path="")
    # A result area inside the input is refused with a clear message.
    task = window.controller.open_sequence(small_sequence, small_sequence / "out")
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=30000)
    assert "outside the input" in window.reporter.messages[-1].message


def test_export_result_meshes_and_formats(qtbot, window, fitted_sequence, tmp_path):
    seq, result_dir = fitted_sequence
    open_and_wait(qtbot, window, seq, result_dir)
    result = window.state.result
    assert result is not None

    dest = tmp_path / "export" / "copy.npz"
    task = window.controller.export_result(dest)
    qtbot.waitUntil(lambda: task.done, timeout=30000)
    assert task.state == "succeeded", window.reporter.messages
    assert FitResult.load(dest).num_frames == result.num_frames

    meshes = tmp_path / "meshes"
    task = window.controller.export_meshes(meshes)
    qtbot.waitUntil(lambda: task.done, timeout=60000)
    assert task.state == "succeeded", window.reporter.messages
    objs = sorted(meshes.glob("*.obj"))
    assert len(objs) == result.num_frames
    lines = objs[0].read_text().splitlines()
    assert sum(l.startswith("v ") for l in lines) > 1000 and sum(l.startswith("f ") for l in lines) > 1000
    assert not list(meshes.glob(".*.tmp"))  # atomic writes leave no temporary files

    other = tmp_path / "formats"
    task = window.controller.export_formats(other)
    qtbot.waitUntil(lambda: task.done, timeout=60000)
    assert task.state == "succeeded", window.reporter.messages
    assert {p.suffix for p in other.iterdir()} >= {".bvh", ".trc", ".json"}
    assert [r.level for r in window.reporter.messages] == ["info"] * 3


def test_missing_body_model_files_are_explained(qtbot, window, fitted_sequence, tmp_path):
    """A result made with SMPL, whose licensed files are not installed: the views still show, and
    a message says why the meshes are missing."""
    seq, result_dir = fitted_sequence
    result = FitResult.load(result_dir)
    result.body_model = "smpl"
    smpl_dir = tmp_path / "smpl-result"
    smpl_dir.mkdir()
    result.save(smpl_dir)
    window.state.set_overlay("iev_mesh", True)
    open_and_wait(qtbot, window, seq, smpl_dir)
    assert window.state.result.body_model == "smpl"
    qtbot.waitUntil(lambda: bool(window.reporter.messages), timeout=30000)
    report = window.reporter.messages[-1]
    assert report.level == "warning" and "SMPL" in report.message and "body_model.path" in report.message
    assert window.view_grid.last_images is not None and len(window.view_grid.last_images.images) == 2

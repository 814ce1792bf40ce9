"""The app on real footage (issue 14): the first frames of the shipped walking trial, four portrait
cameras, real MediaPipe detections, real fits, real widgets. One test (or a few) per item."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QToolButton

from cmanet_app.overlay import irv_camera
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import WALK_FRAMES, make_walk_slice, open_and_wait, wait_images
from core.bench.real import SHIPPED_DEMO
from core.canonical.losses import flip_keypoints, reprojection_error_px
from core.geometry.camera import project
from core.io.results import FitResult
from core.io.runs import list_runs

pytestmark = pytest.mark.slow


def wait_task(qtbot, task, timeout=180000):
    assert task is not None
    qtbot.waitUntil(lambda: task.done, timeout=timeout)
    return task


def wait_idle(qtbot, window, timeout=180000):
    qtbot.waitUntil(lambda: not window.controller.busy and not window.controller.side_tasks, timeout=timeout)


def only_run(area) -> FitResult:
    runs = list_runs(area)
    assert len(runs) == 1
    return FitResult.load(runs[0].folder)


# ---------------------------------------------------------------- 1. each module with its own cameras


def test_irv_joints_reproject_with_the_stored_irv_cameras(walk):
    """``irv_joints3d`` through the stored IRV cameras gives ``irv_reproj_px`` back (within 5 %),
    against the detections as IRV saw them (``keypoints2d`` keeps the fused fit's left/right swap
    corrections, so each frame and view is compared with the detections as kept or mirrored)."""
    _, area = walk
    result = only_run(area)
    assert result.format_version == 2 and result.irv_cam_f is not None
    focal = np.array([[irv_camera(result, f, v)[0] for v in range(result.num_views)] for f in range(result.num_frames)])
    uv = project(torch.as_tensor(result.irv_joints3d, dtype=torch.float64), torch.as_tensor(focal, dtype=torch.float64),
                 torch.as_tensor(result.cam_c, dtype=torch.float64))
    kept = torch.as_tensor(result.keypoints2d, dtype=torch.float64)
    errors = torch.stack([reprojection_error_px(uv, kp, 0.3) for kp in (kept, flip_keypoints(kept))]).amin(0).numpy()
    stored = result.irv_reproj_px
    seen = np.isfinite(stored)
    assert seen.mean() > 0.9
    assert np.all(np.abs(errors[seen] - stored[seen]) <= 0.05 * stored[seen] + 1e-3), (errors, stored)
    # Through the fused cameras' focal lengths (what was drawn before) they land elsewhere.
    fused = project(torch.as_tensor(result.irv_joints3d, dtype=torch.float64),
                    torch.as_tensor(result.cam_f, dtype=torch.float64), torch.as_tensor(result.cam_c, dtype=torch.float64))
    assert np.nanmean(reprojection_error_px(fused, kept, 0.3).numpy()) > 1.2 * np.nanmean(stored)


def mesh_mask(images, blank) -> list[np.ndarray]:
    return [np.any(image != blank, axis=-1) for image in images.images]


def test_irv_overlay_covers_the_person_and_format1_results_hide_it(qtbot, window, walk, tmp_path):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    result = window.state.result
    assert result is not None and result.irv_cam_f is not None
    window.state.set_overlays(window.state.overlays.__class__(image=False, keypoints=False, irv_mesh=True,
                                                              iev_mesh=False, iev_skeleton=False))
    images = wait_images(qtbot, window, irv_mesh=True, image=False)
    blank = np.array([38, 40, 46], np.uint8)
    masks = mesh_mask(images, blank)
    frame = images.request.frame
    for v, (mask, scale) in enumerate(zip(masks, images.scales)):
        kp = result.keypoints2d[frame, v]
        sure = kp[:, 2] > 0.5
        uv = np.round(kp[sure, :2] / scale).astype(int)
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        inside = grown[np.clip(uv[:, 1], 0, mask.shape[0] - 1), np.clip(uv[:, 0], 0, mask.shape[1] - 1)]
        assert inside.mean() >= 0.8, (v, inside.mean())  # the per-view body lies on the person's points
    assert not window.notice_bar.isVisible()

    # The same result written as format 1 (no IRV cameras): opened as an added run folder, its
    # per-view meshes are not drawn, the View menu says why, and the window notes it.
    old = tmp_path / "format1"
    old.mkdir()
    arrays = {k: v for k, v in np.load(next(area.glob("runs/*/result.npz"))).items() if k not in ("irv_cam_f", "format_version")}
    np.savez(old / "result.npz", **arrays)
    shutil.copy(next(area.glob("runs/*/summary.json")), old / "summary.json")
    task = window.controller.add_run_folder(old)
    wait_task(qtbot, task)
    assert window.state.result.irv_cam_f is None and window.state.run.folder == old
    images = wait_images(qtbot, window, irv_mesh=True, image=False)
    assert not any(mask.any() for mask in mesh_mask(images, blank))
    assert not window.overlay_actions["irv_mesh"].isEnabled()
    assert "older version" in window.overlay_actions["irv_mesh"].toolTip()
    assert window.notice_bar.isVisible() and "per-view fits (IRV) are not drawn" in window.notice_bar.text()


def test_irv_ghosts_in_3d_sit_where_the_view_sees_its_irv_body(walk):
    """A ghost (an IRV body placed in the world with its view's fused camera) seen through that
    camera covers the pixels its IRV camera drew it on, to within a few percent of its size."""
    from cmanet_app.bodies import MeshCache
    from cmanet_app.overlay import project_points, to_camera
    from cmanet_app.scene3d.geometry import build_scene

    _, area = walk
    result = only_run(area)
    meshes = MeshCache()
    meshes.set_result(result)
    frame = 3
    irv = [meshes.irv(frame, v) for v in range(result.num_views)]
    scene = build_scene(result, frame, meshes.faces(), meshes.iev(frame), irv)
    for v, ghost in enumerate(scene.ghosts):
        through_fused = project_points(to_camera(ghost.vertices, result.cam_R[frame, v], result.cam_t[frame, v]),
                                       float(result.cam_f[frame, v]), result.cam_c[frame, v])
        own_f, own_c = irv_camera(result, frame, v)
        through_own = project_points(irv[v], own_f, own_c)
        size = np.ptp(through_own[:, 1])
        assert np.linalg.norm(through_fused.mean(0) - through_own.mean(0)) < 0.05 * size
        assert abs(np.ptp(through_fused[:, 1]) / size - 1) < 0.05


# ---------------------------------------------------------------- 2. opening validates and tells


def write_frames(folder, frames, sizes):
    folder.mkdir(parents=True)
    for i, (frame, size) in enumerate(zip(frames, sizes)):
        cv2.imwrite(str(folder / f"shot{i:02d}.png"), cv2.resize(frame, size))


def real_frames(count: int) -> list[np.ndarray]:
    video = cv2.VideoCapture(str(SHIPPED_DEMO / "videos" / "cam01.mp4"))
    frames = [video.read()[1] for _ in range(count)]
    video.release()
    return frames


def test_an_accidental_looking_folder_asks_first_and_warnings_reach_the_window(qtbot, window, tmp_path):
    """A folder of screenshots (different sizes, very different counts) is not opened silently:
    the window asks, says why, and opens it only when told to; what the command line would print
    ("frame counts differ") is in the window."""
    frames = real_frames(6)
    shots = tmp_path / "screenshots"
    write_frames(shots / "a", frames[:5], [(270, 480), (270, 480), (540, 960), (270, 480), (270, 480)])
    write_frames(shots / "b", frames[:2], [(270, 480)] * 2)
    write_frames(shots / "c", frames[:5], [(270, 480)] * 5)

    task = window.controller.open_sequence(shots)
    qtbot.waitUntil(lambda: window.open_question is not None and window.open_question.isVisible(), timeout=30000)
    text = window.open_question.text()
    assert "very different numbers of frames (a 5, b 2, c 5)" in text and "different sizes (270x480, 540x960)" in text
    window.open_question.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: task.done, timeout=10000)
    QApplication.processEvents()
    assert window.state.sequence is None

    window.controller.open_sequence(shots)
    qtbot.waitUntil(lambda: window.open_question is not None and window.open_question.isVisible(), timeout=30000)
    window.open_question.button(QMessageBox.StandardButton.Open).click()
    qtbot.waitUntil(lambda: window.state.sequence is not None, timeout=10000)
    assert window.state.sequence.num_frames == 2
    assert window.notice_bar.isVisible()
    assert "frame counts differ" in window.notice_bar.text() and "using the first 2 frames" in window.notice_bar.text()


def test_a_real_recording_opens_without_a_question_and_single_frames_ask(qtbot, window, tmp_path):
    seq = make_walk_slice(tmp_path / "walk", 0, 8)
    open_and_wait(qtbot, window, seq)
    assert window.open_question is None and window.state.sequence.num_frames == 8
    assert not window.notice_bar.isVisible()
    # A frame range past the end is cut, with the command line's warning shown in the window.
    (seq / "sequence.yaml").write_text("frame_range: [95, 120]\n")
    open_and_wait(qtbot, window, seq)
    assert window.state.sequence.num_frames == 5 and "frame_range ends at 120" in window.notice_bar.text()
    # One frame only: asked.
    (seq / "sequence.yaml").write_text("frame_range: [10, 11]\n")
    window.controller.open_sequence(seq)
    qtbot.waitUntil(lambda: window.open_question is not None and window.open_question.isVisible(), timeout=30000)
    assert "single frame" in window.open_question.text()
    window.open_question.button(QMessageBox.StandardButton.Cancel).click()


# ---------------------------------------------------------------- 3. runs


def test_every_fit_is_a_run_a_much_worse_one_is_flagged_and_the_model_does_not_stay(qtbot, window, walk, tmp_path):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    assert len(window.state.runs) == 1
    first = window.state.run
    assert window.state.run is not None and window.runs_panel.table.rowCount() == 1
    # A model chosen for one fit (the shipped one, named explicitly), network alone: on real footage
    # it explains the views far worse than the optimizers (model v4: ~55 px against ~10 px on the walk).
    from core.nets.checkpoint import installed_model

    model = installed_model()
    window.run_panel.use_checkpoint(str(model))
    window.run_panel.mode_combo.setCurrentText("network")
    assert window.state.mode == "network" and window.state.checkpoint == str(model)
    window.run_panel.fit_button.click()
    qtbot.waitUntil(lambda: len(window.state.runs) == 2 and not window.controller.busy, timeout=240000)
    second = window.state.run
    assert second != first and second.mode == "network" and second.model == str(model)
    assert (second.folder / "run.json").is_file() and second.settings["options"]["confidence_threshold"] == 0.3
    assert window.state.result is not None and window.state.result_dir == second.folder
    assert first.folder.is_dir() and (first.folder / "result.npz").is_file()  # the earlier run is kept
    warnings = [r for r in window.reporter.messages if r.level == "warning"]
    assert second.fused_px > 1.5 * first.fused_px
    assert warnings and "much worse" in warnings[-1].title and first.name in warnings[-1].message
    assert window.state.checkpoint == "" and any("Model used once" == r.title for r in window.reporter.messages)

    # The run list switches between them.
    panel = window.runs_panel
    assert panel.table.rowCount() == 2 and panel.table.item(0, 0).text().startswith("▶")
    assert "★" in panel.table.item(panel.row_of(first), 3).text()
    panel.table.cellClicked.emit(panel.row_of(first), 0)
    qtbot.waitUntil(lambda: window.state.run == first, timeout=30000)
    assert window.state.result_dir == first.folder and panel.table.item(panel.row_of(first), 0).text().startswith("▶")
    assert "Fit mode: optimize" in panel.details.toPlainText() and "cam04" in panel.details.toPlainText()

    # Two runs side by side in the comparison.
    panel.table.selectRow(panel.row_of(second))
    panel.compare_button.click()
    qtbot.waitUntil(lambda: window.state.compare_run == second, timeout=30000)
    compare = window.compare_panel
    assert window.tabs.currentWidget() is compare
    assert any(label.endswith("other run") for label in compare.legend_labels())
    rows = compare.table_values()
    assert len(rows[0]) == 5 and float(rows[-1][4]) == pytest.approx(second.fused_px, abs=0.05)

    # Reopening shows the run last chosen; a cmanet fit --out folder can be added.
    open_and_wait(qtbot, window, seq, area)
    assert window.state.run == first and len(window.state.runs) == 2
    out = tmp_path / "cli-out"
    shutil.copytree(second.folder, out)
    (out / "run.json").unlink()
    wait_task(qtbot, window.controller.add_run_folder(out))
    assert len(window.state.runs) == 3 and window.state.run.folder == out and window.state.run.mode == "network"


def test_exports_start_in_the_run_folder_name_the_run_and_create_folders(qtbot, window, walk, tmp_path):
    from cmanet_app.widgets.dialogs import folder_dialog, save_dialog

    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    run = window.state.run
    assert window.export_start() == run.folder
    dialog = folder_dialog(window, "Export into", window.export_start() / "exports" / run.name)
    assert dialog.directory().absolutePath() == str(run.folder)  # the nearest existing folder
    new_folder = dialog.findChild(QToolButton, "newFolderButton")
    assert new_folder is not None and new_folder.isEnabled()  # folders can be created from the dialog
    save = save_dialog(window, "Save", run.folder / "exports" / f"{run.name}.npz", "NumPy archive (*.npz)")
    assert save.directory().absolutePath() == str(run.folder)

    target = tmp_path / "new" / "nested" / "exports"
    task = window.controller.export_formats(target, ("trc", "json"))
    wait_task(qtbot, task)
    assert task.state == "succeeded" and any(p.suffix == ".trc" for p in target.iterdir())
    assert f"from run {run.name}" in window.reporter.messages[-1].message
    task = window.controller.export_result(tmp_path / "other" / "result-copy.npz")
    wait_task(qtbot, task)
    assert (tmp_path / "other" / "result-copy.npz").is_file() and run.name in window.reporter.messages[-1].message
    png = tmp_path / "shots" / "window.png"
    assert window.save_screenshot(png, tell=True) and png.is_file()
    assert str(png) in window.statusBar().currentMessage()


# ---------------------------------------------------------------- 5. plain words


def visible_texts(widget) -> list[str]:
    from PySide6.QtWidgets import QAbstractButton, QLabel

    texts = []
    for child in widget.findChildren(QLabel) + widget.findChildren(QAbstractButton):
        texts += [child.text(), child.toolTip()]
    for action in widget.actions():
        texts += [action.text(), action.toolTip()]
    return texts


def test_plain_words_status_and_progress(qtbot, window, walk):
    from cmanet_app import __version__, help_text

    assert window.run_panel.progress.value() == 0 and not window.run_panel.progress.isTextVisible()
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    QApplication.processEvents()
    assert window.run_panel.progress.value() == 0 and not window.run_panel.progress.isTextVisible()  # open is not work
    message = window.statusBar().currentMessage()
    assert f"4 views, {WALK_FRAMES} frames at 60 fps" in message and "showing run" in message
    texts = " ".join(visible_texts(window))
    for jargon in ("λ", "metrics.jsonl", "--resume", "val_iev"):
        assert jargon not in texts, jargon
    assert "Confidence threshold" in texts and "Per-view fit (IRV)" in texts and "Fused fit (IEV)" in texts
    assert all(action.toolTip() for name, action in window.overlay_actions.items())
    assert __version__ in help_text.about()
    shortcuts = help_text.shortcuts(window.actions())
    assert "Ctrl+R" in shortcuts and "Fit" in shortcuts and "Space" in shortcuts
    assert "cam01.mp4" in help_text.HOW_TO


def test_detect_progress_then_full_outcome(qtbot, window, walk):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    seen = []
    window.controller.job_progress.connect(lambda job, stage, done, total: seen.append(window.run_panel.stage_label.text()))
    task = window.controller.detect()
    wait_task(qtbot, task)
    QApplication.processEvents()
    assert task.state == "succeeded"
    assert any(s.startswith("Detecting body points:") and " of " in s for s in seen)
    assert window.run_panel.stage_label.text() == "Detection finished"
    assert window.statusBar().currentMessage() != "Detection finished"  # said once, in the stage label


def test_training_curves_have_readable_names_and_losses_apart_from_pixels(qtbot, window):
    from cmanet_app.training import curve_label

    panel = window.training_panel
    panel._add_metrics([
        {"kind": "train", "step": 1, "stage": "1", "loss": 0.2, "l2d": 0.01, "lsmpl": 0.19},
        {"kind": "val", "step": 1, "stage": "1", "val_irv_l2d": 0.012, "val_irv_reproj_px": 150.0},
        {"kind": "val", "step": 2, "stage": "1", "val_irv_l2d": 0.011, "val_irv_reproj_px": 140.0},
    ])
    px_curve, loss_curve = panel.curves[("val", "val_irv_reproj_px")], panel.curves[("val", "val_irv_l2d")]
    assert px_curve.getViewBox() is panel.px_plot.getViewBox() and loss_curve.getViewBox() is panel.val_plot.getViewBox()
    assert panel.px_plot.getViewBox() is not panel.val_plot.getViewBox()
    assert curve_label("val_iev_reproj_px") == "fused (IEV) distance to the detected points, px"
    assert curve_label("l2d") == "2D point loss (L2D)"
    labels = [label.text for _, label in panel.val_plot.plotItem.legend.items]
    assert labels == ["per-view (IRV) 2D point loss (L2D)"]


def test_renderer_timings_only_in_debug(qtbot, settings_file, walk):
    from cmanet_app.widgets.main_window import MainWindow

    w = MainWindow(enable_3d=True)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    try:
        seq, area = walk
        open_and_wait(qtbot, w, seq, area)
        panel = w.scene_panel
        w.tabs.setCurrentWidget(panel)
        qtbot.waitUntil(lambda: panel.last_render is not None or bool(panel.client and panel.client.error), timeout=240000)
        if panel.client.error:
            pytest.skip(f"no offscreen renderer here: {panel.client.error}")
        assert panel.fps_label.text() == ""
        w.timings_action.trigger()
        w.state.set_frame(1)
        qtbot.waitUntil(lambda: "ms" in panel.fps_label.text(), timeout=120000)
    finally:
        w.close()


# ---------------------------------------------------------------- 6. comparison plot


def test_clicking_the_comparison_plot_goes_to_that_frame(qtbot, window, walk):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    compare = window.compare_panel
    window.tabs.setCurrentWidget(compare)
    qtbot.waitUntil(lambda: compare.plot.isVisible(), timeout=5000)
    compare.plot.plotItem.vb.setXRange(0, WALK_FRAMES - 1, padding=0)
    QApplication.processEvents()
    box = compare.plot.plotItem.vb
    target = box.mapViewToScene(QPointF(7, float(np.nanmean(window.state.result.iev_reproj_px))))
    view_pos = compare.plot.mapFromScene(target)
    qtbot.mouseClick(compare.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    qtbot.waitUntil(lambda: window.state.frame == 7, timeout=5000)
    assert compare.marker.value() == 7
    # The legend is beside the plot, not over the curves; no ground truth, no ground-truth panel.
    assert compare.legend_view.isVisible() and compare.legend.scene() is not compare.plot.scene()
    assert len(compare.legend_labels()) == 8 and not compare.gt_box.isVisible()


def test_ground_truth_panel_appears_only_with_ground_truth(qtbot, window, fitted_sequence):
    seq, result_dir = fitted_sequence
    open_and_wait(qtbot, window, seq, result_dir)
    window.tabs.setCurrentWidget(window.compare_panel)
    qtbot.waitUntil(lambda: window.state.eval_report is not None, timeout=60000)
    assert window.compare_panel.gt_box.isVisible() and "PA-MPJPE" in window.compare_panel.gt_text.toPlainText()


# ---------------------------------------------------------------- 9. the controls other issues add


def test_body_height_reaches_the_fit_and_its_run(qtbot, window, walk):
    seq, area = walk
    open_and_wait(qtbot, window, seq, area)
    assert window.run_panel.height_spin.text() == "not known" and window.controller.fit_config().body_height_m is None
    window.run_panel.height_spin.setValue(1.84)
    assert window.state.body_height == pytest.approx(1.84)
    assert window.controller.fit_config().body_height_m == pytest.approx(1.84)
    window.run_panel.mode_combo.setCurrentText("optimize")
    task = window.controller.fit()
    wait_task(qtbot, task, 300000)
    assert task.state == "succeeded", window.reporter.messages
    run = window.state.run
    assert json.loads((run.folder / "run.json").read_text())["options"]["body_height_m"] == pytest.approx(1.84)
    assert "body height 1.84 m" in window.runs_panel.details.toPlainText()

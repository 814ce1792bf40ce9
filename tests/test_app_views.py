"""The app's main window: opening sequences (menu action, drag-and-drop, recent list, demo), the
view grid, error dialogs, scrubbing with the timeline and the keyboard, overlays, settings."""

from __future__ import annotations

import numpy as np
import pytest
from conftest_app import *  # noqa: F401,F403 - fixtures
from conftest_app import open_and_wait, wait_images
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox


def test_open_sequence_lists_views_with_names_and_sizes(qtbot, window, small_sequence):
    open_and_wait(qtbot, window, small_sequence)
    info = window.state.sequence
    assert info is not None and info.num_views == 2 and info.num_frames == 3
    panels = window.view_grid.panels
    assert [p.name for p in panels] == list(info.view_names)
    for panel, size in zip(panels, info.image_sizes):
        assert panel.name in panel.title.text()
        assert f"{size[0]}×{size[1]}" in panel.title.text()
    # Keypoints-only: a blank canvas of the camera's size, with the given keypoints drawn.
    images = wait_images(qtbot, window, frame=0)
    assert len(images.images) == 2
    assert images.images[0].shape[:2] == (info.image_sizes[0][1], info.image_sizes[0][0])
    assert len(panels[0].keypoints_item.data) > 0
    assert window.settings.recent_sequences()[0] == str(info.root)
    assert window.state.result is None  # nothing fitted in this test's cache yet
    assert not window.reporter.messages


@pytest.mark.parametrize("bad", ["missing", "empty", "file"])
def test_bad_folder_shows_a_clear_dialog_and_the_app_keeps_working(qtbot, window, tmp_path, small_sequence, bad):
    path = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "file": small_sequence / "sequence.yaml"}[bad]
    if bad == "empty":
        path.mkdir()
    window.controller.open_sequence(path)
    qtbot.waitUntil(lambda: bool(window.reporter.messages), timeout=10000)
    report = window.reporter.messages[-1]
    assert report.level == "error" and report.title == "Cannot open the sequence"
    assert str(path) in report.message and "\n" not in report.message
    assert not report.details  # bad input: the message says it all, no traceback
    box = window.reporter.boxes[-1]
    assert isinstance(box, QMessageBox) and box.isVisible() and box.text() == report.message
    window.reporter.close_all()
    qtbot.waitUntil(lambda: not window.controller.busy)
    open_and_wait(qtbot, window, small_sequence)
    assert window.state.sequence is not None


def test_scrub_with_slider_buttons_and_keyboard(qtbot, window, fitted_sequence):
    seq, result = fitted_sequence
    open_and_wait(qtbot, window, seq, result)
    state, timeline = window.state, window.timeline
    timeline.slider.setValue(2)
    assert state.frame == 2
    wait_images(qtbot, window, frame=2)
    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert state.frame == 0 and timeline.slider.value() == 0
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert state.frame == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert state.frame == 2
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert state.frame == 1
    assert "frame 2/3" in timeline.label.text()
    # Play at the sequence's fps: frames advance (and loop); space pauses.
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert timeline.playing
    seen = set()
    state.frame_changed.connect(seen.add)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not timeline.playing
    # The reprojected IEV skeleton follows the frame (drawn with the frame's image).
    timeline.go_to(0)
    wait_images(qtbot, window, frame=0)
    uv0 = window.view_grid.reprojected(0)
    timeline.go_to(2)
    wait_images(qtbot, window, frame=2)
    uv2 = window.view_grid.reprojected(0)
    assert uv0.shape == (17, 2) and not np.allclose(uv0, uv2)


def test_overlays_toggle_redraw_and_persist(qtbot, window, fitted_sequence, settings_file):
    seq, result = fitted_sequence
    open_and_wait(qtbot, window, seq, result)
    assert window.state.result is not None
    window.state.set_overlays(type(window.state.overlays)(image=True, keypoints=True, irv_mesh=False,
                                                          iev_mesh=False, iev_skeleton=True))
    plain = wait_images(qtbot, window, iev_mesh=False, irv_mesh=False).images[0].copy()
    window.overlay_actions["iev_mesh"].trigger()
    assert window.state.overlays.iev_mesh
    with_iev = wait_images(qtbot, window, iev_mesh=True, timeout=60000).images[0]
    changed = np.any(with_iev != plain, axis=-1)
    assert changed.mean() > 0.005  # the body covers part of the view
    window.overlay_actions["irv_mesh"].trigger()
    both = wait_images(qtbot, window, iev_mesh=True, irv_mesh=True, timeout=60000).images[0]
    assert np.any(both != with_iev)
    # Keypoints off: nothing drawn; the skeleton off: no reprojected joints.
    window.overlay_actions["keypoints"].trigger()
    assert len(window.view_grid.panels[0].keypoints_item.data) == 0
    window.overlay_actions["iev_skeleton"].trigger()
    assert window.view_grid.reprojected(0) is None
    # Lambda: filtered keypoints (at or below it) are drawn hollow; saved with the rest.
    window.overlay_actions["keypoints"].trigger()
    window.run_panel.threshold_spin.setValue(0.95)
    assert window.state.threshold == pytest.approx(0.95)
    spots = window.view_grid.panels[0].keypoints_item.points()
    kp = window.state.shown_keypoints()[0]
    drawn = ~((kp[:, 2] <= 0) & (kp[:, 0] == 0) & (kp[:, 1] == 0))  # entirely missed: not drawn
    hollow = [s.brush().color().alpha() == 0 for s in spots]
    assert len(spots) == int(drawn.sum()) and sum(hollow) == int((drawn & (kp[:, 2] <= 0.95)).sum()) > 0

    from cmanet_app.settings import AppSettings

    saved = AppSettings(settings_file)
    assert saved.get_bool("overlays/irv_mesh", False) is True
    assert saved.get_bool("overlays/iev_skeleton", True) is False
    assert saved.get_float("fit/threshold", 0.0) == pytest.approx(0.95)


def test_settings_come_back_in_a_new_window(qtbot, settings_file, small_sequence):
    from cmanet_app.widgets.main_window import MainWindow

    first = MainWindow(enable_3d=False)
    qtbot.addWidget(first)
    first.state.set_overlay("irv_mesh", True)
    first.state.set_threshold(0.45)
    first.state.set_run_options(device="cpu")
    open_and_wait(qtbot, first, small_sequence)
    first.close()

    second = MainWindow(enable_3d=False)
    qtbot.addWidget(second)
    assert second.state.overlays.irv_mesh is True
    assert second.state.threshold == pytest.approx(0.45)
    assert second.state.device == "cpu" and second.run_panel.device_combo.currentText() == "cpu"
    recent = [a.text() for a in second.recent_menu.actions()]
    assert recent == [str(small_sequence.resolve())]
    second.recent_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: second.state.sequence is not None, timeout=30000)
    second.close()


def test_drop_a_folder_opens_it(qtbot, window, small_sequence):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_sequence / "keypoints.npz"))])  # a file inside: its folder opens
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.state.sequence is not None, timeout=30000)
    assert window.state.sequence.root == small_sequence.resolve()


def test_demo_opens_the_real_recording_fitted_on_first_start(qtbot, window, monkeypatch, tmp_path):
    from cmanet_app import demo

    monkeypatch.setattr(demo, "DEMO_SEQUENCE", make_walk_slice(tmp_path / "walk", 0, 6))  # the shipped trial, cut short
    from cmanet_app.widgets.progress_dialog import JobProgressDialog

    dialog = JobProgressDialog(window.controller, "demo", "Preparing the demo", window)
    task = window.controller.open_demo()
    dialog.show()
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=180000)
    assert task.state == "succeeded", window.reporter.messages
    assert dialog.ended and any("Detecting" in label for label in dialog.stages) \
        and any("Per-view fit (IRV)" in label for label in dialog.stages)
    assert window.state.sequence is not None and window.state.result is not None
    assert [p.name for p in window.view_grid.panels] == ["cam01", "cam02", "cam03", "cam04"]
    assert window.state.sequence.has_images and len(window.state.runs) == 1
    assert demo.demo_ready()
    # Second time: its run is there, no fitting.
    calls = []
    monkeypatch.setattr("cmanet_app.jobs.fit", lambda *a, **k: calls.append(a))
    task = window.controller.open_demo()
    qtbot.waitUntil(lambda: task.done and not window.controller.busy, timeout=30000)
    assert task.state == "succeeded" and not calls and len(window.state.runs) == 1


def test_no_sequence_actions_warn_instead_of_failing(qtbot, window):
    assert window.controller.fit() is None
    assert window.controller.detect() is None
    window.choose_export_meshes()
    assert [r.level for r in window.reporter.messages] == ["warning"] * 3
    QApplication.processEvents()

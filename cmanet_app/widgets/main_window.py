"""The main window: menus, the view grid with the timeline under it, the run controls above, and
side tabs (3D, comparison, training). It wires widgets to the state and the controller, handles
drag-and-drop, keyboard shortcuts and settings, and owns the worker objects' lifetimes."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.bodies import MeshCache
from cmanet_app.controller import Controller
from cmanet_app.errors import ErrorReporter
from cmanet_app.frames import FrameRenderer
from cmanet_app.settings import AppSettings
from cmanet_app.state import OVERLAY_LABELS, AppState, Overlays
from cmanet_app.widgets.run_panel import RunPanel
from cmanet_app.widgets.timeline import Timeline
from cmanet_app.widgets.view_grid import ViewGrid

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    closing = Signal()

    def __init__(self, settings: AppSettings | None = None, enable_3d: bool = True, show_dialogs: bool = True):
        super().__init__()
        self.setWindowTitle("CMANet Studio")
        self.setAcceptDrops(True)
        self._closed = False
        self.settings = settings or AppSettings()
        self.state = AppState(self)
        self.reporter = ErrorReporter(self, show_dialogs=show_dialogs)
        self.controller = Controller(self.state, self.settings, self.reporter, self)
        self.meshes = MeshCache()
        self.frames = FrameRenderer(self.meshes, self)
        self._load_settings()
        self.state.result_changed.connect(self._result_changed)
        self.state.sequence_changed.connect(self._update_title)

        self.run_panel = RunPanel(self.controller)
        self.view_grid = ViewGrid(self.state, self.frames)
        self.timeline = Timeline(self.state)
        self.tabs = QTabWidget()
        self.tabs.setMinimumWidth(380)
        self.scene_panel = None
        self.compare_panel = None
        self.training_panel = None
        self.session_panel = None
        self._build_tabs(enable_3d)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view_grid, 1)
        left_layout.addWidget(self.timeline)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.run_panel)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_menus()
        self.statusBar().showMessage("Ready")
        self.controller.job_finished.connect(self._job_finished)
        # Problems drawing a frame (an unreadable image, missing body-model files) are said once each.
        self._frame_errors_seen: set[str] = set()
        self.frames.rendered.connect(self._frame_errors, Qt.ConnectionType.QueuedConnection)
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 900)

    # ---------------------------------------------------------------- construction

    def _build_tabs(self, enable_3d: bool) -> None:
        """Side panels; each is optional so that a failure in one never takes the app down."""
        try:
            from cmanet_app.widgets.scene_panel import ScenePanel

            self.scene_panel = ScenePanel(self.state, self.meshes, self.reporter, enabled=enable_3d)
            self.tabs.addTab(self.scene_panel, "3D")
        except ImportError as exc:
            log.debug("no 3D panel: %s", exc)
        try:
            from cmanet_app.widgets.compare_panel import ComparePanel

            self.compare_panel = ComparePanel(self.state)
            self.tabs.addTab(self.compare_panel, "IRV vs IEV")
        except ImportError as exc:
            log.debug("no compare panel: %s", exc)
        try:
            from cmanet_app.widgets.training_panel import TrainingPanel

            self.training_panel = TrainingPanel(self.settings, self.reporter)
            self.training_panel.use_model.connect(self._use_model)
            self.training_panel.add_open_button.clicked.connect(
                lambda: self.training_panel.add_sequence(self.state.sequence.root) if self.state.sequence else None)
            self.tabs.addTab(self.training_panel, "Training")
        except ImportError as exc:
            log.debug("no training panel: %s", exc)
        try:
            from cmanet_app.widgets.session_panel import SessionPanel

            self.session_panel = SessionPanel(self.controller, self.reporter)
            self.session_panel.open_trial.connect(self.open_session_trial)
            self.tabs.addTab(self.session_panel, "Session")
        except ImportError as exc:
            log.debug("no session panel: %s", exc)

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("&Open sequence…", self.choose_sequence, QKeySequence.StandardKey.Open)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.controller.recent_changed.connect(self._fill_recent)
        self._fill_recent()
        file_menu.addAction(self._action("Open &demo", self.controller.open_demo))
        if self.session_panel is not None:
            file_menu.addAction(self._action("Open s&ession (a folder of trials)…", self.choose_session,
                                             tip="Fit every trial of a session with one shared rig (cmanet batch)"))
        file_menu.addSeparator()
        import_menu = file_menu.addMenu("&Import")
        self.import_openpose_action = self._action("Keypoints: OpenPose / Pose2Sim folder…", self.choose_import_openpose,
                                                   tip="Fit another detector's keypoints (cam01_json/*.json, ...)")
        self.import_coco_action = self._action("Keypoints: COCO keypoint file…", self.choose_import_coco)
        self.import_calibration_action = self._action("Calibration (Pose2Sim/anipose TOML, EasyMocap, Qualisys)…",
                                                      self.choose_import_calibration,
                                                      tip="Known cameras: their intrinsics and extrinsics are kept")
        self.forget_imports_action = self._action("Forget imported keypoints and calibration", self.forget_imports)
        import_menu.addActions([self.import_openpose_action, self.import_coco_action, self.import_calibration_action,
                                self.forget_imports_action])
        export_menu = file_menu.addMenu("&Export")
        self.export_result_action = self._action("Result (result.npz)…", self.choose_export_result)
        self.export_meshes_action = self._action("Meshes (OBJ per frame)…", self.choose_export_meshes)
        self.export_formats_action = self._action("Formats (calibration, TRC, BVH, glTF, …)…", self.choose_export_formats)
        self.screenshot_action = self._action("Screenshot of the window (PNG)…", self.choose_screenshot)
        export_menu.addActions([self.export_result_action, self.export_meshes_action, self.export_formats_action,
                                self.screenshot_action])
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        view_menu = bar.addMenu("&View")
        self.overlay_actions: dict[str, QAction] = {}
        for name in Overlays.names():
            action = self._action(OVERLAY_LABELS[name], lambda on, n=name: self.state.set_overlay(n, on), checkable=True)
            action.setChecked(getattr(self.state.overlays, name))
            view_menu.addAction(action)
            self.overlay_actions[name] = action
        self.state.overlays_changed.connect(self._sync_overlay_actions)

        run_menu = bar.addMenu("&Run")
        run_menu.addAction(self._action("&Detect keypoints", self.controller.detect, "Ctrl+D"))
        run_menu.addAction(self._action("&Fit", self.controller.fit, "Ctrl+R"))
        run_menu.addAction(self._action("&Cancel", self.controller.cancel, "Escape"))
        run_menu.addSeparator()
        run_menu.addAction(self._action("Fit &config (YAML)…", self.choose_fit_config,
                                        tip="Fitting settings file (default: the shipped resources/configs/fit.yaml)"))
        run_menu.addAction(self._action("Use the &default fit config", lambda: self.state.set_run_options(fit_config_path="")))

        # Timeline shortcuts (window-wide, so they work whichever panel has focus).
        self._action("Play/pause", self.timeline.toggle_play, Qt.Key.Key_Space)
        self._action("Previous frame", lambda: self.timeline.step(-1), Qt.Key.Key_Left)
        self._action("Next frame", lambda: self.timeline.step(1), Qt.Key.Key_Right)
        self._action("First frame", lambda: self.timeline.go_to(0), Qt.Key.Key_Home)
        self._action("Last frame", lambda: self.timeline.go_to(-1), Qt.Key.Key_End)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About", self._about))

    # ---------------------------------------------------------------- settings

    def _load_settings(self) -> None:
        s = self.settings
        overlays = Overlays(**{n: s.get_bool(f"overlays/{n}", getattr(Overlays(), n)) for n in Overlays.names()})
        self.state.set_overlays(overlays)
        self.state.set_threshold(s.get_float("fit/threshold", self.state.threshold))
        device = s.get_str("fit/device", "auto")
        self.state.set_run_options(device=device if device in ("auto", "cpu", "cuda") else "auto")
        self.state.overlays_changed.connect(self._save_settings)
        self.state.threshold_changed.connect(self._save_settings)
        self.state.run_options_changed.connect(self._save_settings)

    def _save_settings(self) -> None:
        s = self.settings
        for name in Overlays.names():
            s.set(f"overlays/{name}", getattr(self.state.overlays, name))
        s.set("fit/threshold", self.state.threshold)
        s.set("fit/device", self.state.device)
        s.sync()

    def _sync_overlay_actions(self) -> None:
        for name, action in self.overlay_actions.items():
            action.blockSignals(True)
            action.setChecked(getattr(self.state.overlays, name))
            action.blockSignals(False)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_sequences()
        for folder in recent:
            action = QAction(folder, self.recent_menu)
            action.triggered.connect(lambda _=False, f=folder: self.open_sequence(f))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(recent))

    # ---------------------------------------------------------------- actions

    def open_sequence(self, path: str | Path):
        return self.controller.open_sequence(path)

    def choose_sequence(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a multi-view sequence folder", self.settings.last_folder)
        if folder:
            self.open_sequence(folder)

    def choose_session(self) -> None:
        self.tabs.setCurrentWidget(self.session_panel)
        self.session_panel.choose_session()

    def open_session_trial(self, trial: str, result_dir: str):
        """A session's trial in the views, with its result; the 3D panel shows it in the shared rig."""
        if self.scene_panel is not None:
            self.tabs.setCurrentWidget(self.scene_panel)
        return self.controller.open_sequence(trial, result_dir)

    def choose_fit_config(self) -> None:
        from core.config import CONFIGS_DIR

        path, _ = QFileDialog.getOpenFileName(self, "Fit config", str(CONFIGS_DIR), "YAML (*.yaml *.yml)")
        if path:
            self.state.set_run_options(fit_config_path=path)
            self.statusBar().showMessage(f"Fit config: {path}", 10000)

    def choose_export_result(self) -> None:
        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export result", str(Path(self.settings.last_folder) / "result.npz"),
                                              "NumPy archive (*.npz)")
        if path:
            self.controller.export_result(path)

    def choose_export_meshes(self) -> None:
        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export one OBJ per frame into", self.settings.last_folder)
        if folder:
            self.controller.export_meshes(folder)

    def choose_export_formats(self) -> None:
        from cmanet_app.widgets.export_dialog import ExportDialog

        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        dialog = ExportDialog(self.state.result, str(Path(self.settings.last_folder) / "export"), self)
        if dialog.exec():
            self.controller.export_formats(dialog.folder(), dialog.formats())

    def choose_import_openpose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "OpenPose / Pose2Sim keypoints (the folder of cam01_json/, ...)",
                                                  self.settings.last_folder)
        if folder:
            self._import_keypoints(folder)

    def choose_import_coco(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "COCO keypoint file", self.settings.last_folder, "JSON (*.json)")
        if path:
            self._import_keypoints(path)

    def _import_keypoints(self, path: str) -> None:
        from PySide6.QtWidgets import QInputDialog

        from core.io.keypoint_formats import FORMAT_NAMES

        detect = "detect from the keypoint count"
        choice, ok = QInputDialog.getItem(self, "Keypoint layout", "Layout of the keypoints:", [detect, *FORMAT_NAMES], 0,
                                          False)
        if ok:
            self.controller.import_keypoints(path, "" if choice == detect else choice)

    def choose_import_calibration(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Known calibration", self.settings.last_folder,
                                              "Calibration (*.toml *.yml *.yaml *.qca.txt);;All files (*)")
        if path:
            self.controller.import_calibration(path)

    def forget_imports(self) -> None:
        self.state.set_run_options(keypoints_path="", keypoint_format="", calibration_path="")
        self.state.set_keypoints(None if self.state.result is None else self.state.result.keypoints2d)

    def choose_screenshot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save a screenshot", str(Path(self.settings.last_folder) / "cmanet.png"),
                                              "PNG image (*.png)")
        if path:
            self.save_screenshot(path)

    def save_screenshot(self, path: str | Path) -> bool:
        ok = self.grab().save(str(path), "PNG")
        if not ok:
            self.reporter.error("Screenshot failed", f"Could not write {path}")
        return ok

    def _use_model(self, checkpoint: str) -> None:
        self.run_panel.use_checkpoint(checkpoint)
        self.statusBar().showMessage(f"Fitting model: {checkpoint}", 10000)

    def _about(self) -> None:
        QMessageBox.about(self, "CMANet Studio", "CMANet Studio: calibration-free multi-view 3D human pose, body mesh "
                          "and camera poses (CMANet: IRV per view, IEV fused).")

    # ---------------------------------------------------------------- state -> display

    def _result_changed(self) -> None:
        self.meshes.set_result(self.state.result, self.controller.body_config() if self.state.result is not None else None)
        self.view_grid.refresh()

    def _frame_errors(self, images) -> None:
        new = [e for e in images.errors if e not in self._frame_errors_seen]
        if new:
            self._frame_errors_seen.update(new)
            self.reporter.warning("Some of the frame could not be drawn", "\n".join(new))

    def _update_title(self) -> None:
        info = self.state.sequence
        self.setWindowTitle("CMANet Studio" if info is None else f"{info.root.name} — CMANet Studio")

    def _job_finished(self, name: str, outcome: str) -> None:
        if name == "evaluate":
            return
        info = self.state.sequence
        if name in ("open", "demo") and outcome == "succeeded" and info is not None:
            self.statusBar().showMessage(
                f"{info.root}: {info.num_views} views, {info.num_frames} frames at {info.fps:g} fps"
                + ("" if self.state.result is None else f"; result from {self.state.result_dir}"))
        else:
            self.statusBar().showMessage(f"{name}: {outcome}", 10000)

    # ---------------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event):  # noqa: N802 (Qt naming)
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            path = Path(urls[0].toLocalFile())
            # A file dropped from inside the folder (a video, sequence.yaml) opens its folder.
            self.open_sequence(path if path.is_dir() else path.parent)
            event.acceptProposedAction()

    # ---------------------------------------------------------------- closing

    def closeEvent(self, event):  # noqa: N802
        if self._closed:
            event.accept()
            return
        if self.training_panel is not None and not self.training_panel.confirm_close(self):
            event.ignore()
            return
        self.closing.emit()
        self.settings.set_geometry(self.saveGeometry())
        self._save_settings()
        self.timeline.set_playing(False)
        self.controller.shutdown()
        self.frames.stop()
        if self.scene_panel is not None:
            self.scene_panel.shutdown()
        if self.training_panel is not None:
            self.training_panel.run.shutdown()
        if self.session_panel is not None:
            self.session_panel.shutdown()
        self.reporter.close_all()
        self._closed = True
        event.accept()

    def when_idle(self, callback, poll_ms: int = 100) -> None:
        """Call ``callback`` once no job runs and every view and the 3D panel show the current state
        (used by ``--screenshot``)."""

        def check():
            busy = self.controller.busy or self.controller.side_tasks or not self.frames.idle
            if self.scene_panel is not None:
                busy = busy or not self.scene_panel.idle
            if busy:
                QTimer.singleShot(poll_ms, check)
            else:
                callback()

        QTimer.singleShot(poll_ms, check)

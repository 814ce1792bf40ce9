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
from cmanet_app import help_text
from cmanet_app.state import OVERLAY_LABELS, OVERLAY_TIPS, AppState, Overlays
from cmanet_app.widgets.dialogs import choose_folder, choose_save_file
from cmanet_app.widgets.notice_bar import NoticeBar
from cmanet_app.widgets.person_chooser import PersonChooser
from cmanet_app.widgets.run_panel import BUDGET_RANGE_S, QUIET_JOBS, RunPanel, outcome_text
from cmanet_app.widgets.timeline import Timeline
from cmanet_app.widgets.view_grid import ViewGrid

log = logging.getLogger(__name__)

OTHER_PERSON_NOTE = "Per-view fits (IRV) are kept for the main person only: show person 0 to see them."
FORMAT1_NOTE = ("This result was written by an older version that did not keep each view's own camera: the per-view "
                "fits (IRV) are not drawn. Fit again to see them.")


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

        self.controller.ask_before_opening = self._ask_before_opening
        self.open_question: QMessageBox | None = None  # the question asked about a doubtful folder
        self.run_panel = RunPanel(self.controller)
        self.notice_bar = NoticeBar(self.state)
        self.person_chooser = PersonChooser(self.state)
        self.view_grid = ViewGrid(self.state, self.frames)
        self.timeline = Timeline(self.state)
        self.tabs = QTabWidget()
        self.tabs.setMinimumWidth(380)
        self.scene_panel = None
        self.compare_panel = None
        self.runs_panel = None
        self.training_panel = None
        self.session_panel = None
        self._build_tabs(enable_3d)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.notice_bar)
        left_layout.addWidget(self.person_chooser)
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
        self.statusBar().addPermanentWidget(self.run_panel.stage_label)
        self.statusBar().addPermanentWidget(self.run_panel.progress)
        self.statusBar().showMessage("Open a recording (File > Open, Ctrl+O) or the demo (File > Open demo)")
        self.controller.job_finished.connect(self._job_finished)
        self.reporter.reported.connect(self._reported)
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
            self.add_tab(self.scene_panel, "3D", "The fused body, its skeleton, the cameras found and the floor")
        except ImportError as exc:
            log.debug("no 3D panel: %s", exc)
        try:
            from cmanet_app.widgets.compare_panel import ComparePanel

            self.compare_panel = ComparePanel(self.state, controller=self.controller)
            self.add_tab(self.compare_panel, "IRV vs IEV", "Per-view fits (IRV) against the fused fit (IEV): how far "
                         "each lands from the detected points, frame by frame")
        except ImportError as exc:
            log.debug("no compare panel: %s", exc)
        from cmanet_app.widgets.runs_panel import RunsPanel

        self.runs_panel = RunsPanel(self.controller)
        self.runs_panel.compare_requested.connect(
            lambda: self.tabs.setCurrentWidget(self.compare_panel) if self.compare_panel is not None else None)
        self.add_tab(self.runs_panel, "Runs", "Every fit of this recording, kept: show one, compare two")
        from cmanet_app.widgets.offsets_panel import OffsetsPanel

        self.offsets_panel = OffsetsPanel(self.state)
        self.add_tab(self.offsets_panel, "Sync", "When each camera's video starts, relative to the first camera's")
        try:
            from cmanet_app.widgets.training_panel import TrainingPanel

            self.training_panel = TrainingPanel(self.settings, self.reporter)
            self.training_panel.use_model.connect(self._use_model)
            self.training_panel.add_open_button.clicked.connect(
                lambda: self.training_panel.add_sequence(self.state.sequence.root) if self.state.sequence else None)
            self.add_tab(self.training_panel, "Training", "Teach the network on your own recordings (no labels needed)")
        except ImportError as exc:
            log.debug("no training panel: %s", exc)
        try:
            from cmanet_app.widgets.session_panel import SessionPanel

            self.session_panel = SessionPanel(self.controller, self.reporter)
            self.session_panel.open_trial.connect(self.open_session_trial)
            self.tabs.addTab(self.session_panel, "Session")
        except ImportError as exc:
            log.debug("no session panel: %s", exc)

    def add_tab(self, widget: QWidget, title: str, tip: str = "") -> int:
        """Add a side tab (other views, e.g. sessions, come in here)."""
        index = self.tabs.addTab(widget, title)
        if tip:
            self.tabs.setTabToolTip(index, tip)
        return index

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
        view_menu.setToolTipsVisible(True)
        for name in Overlays.names():
            action = self._action(OVERLAY_LABELS[name], lambda on, n=name: self.state.set_overlay(n, on), checkable=True,
                                  tip=OVERLAY_TIPS[name])
            action.setChecked(getattr(self.state.overlays, name))
            view_menu.addAction(action)
            self.overlay_actions[name] = action
        self.state.overlays_changed.connect(self._sync_overlay_actions)
        view_menu.addSeparator()
        self.timings_action = self._action("Show rendering times (for debugging)", self._show_timings, checkable=True,
                                           tip="The 3D panel's render size and time per picture")
        view_menu.addAction(self.timings_action)

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
        help_menu.addAction(self._action("&How to fit your own recording", self._how_to, QKeySequence.StandardKey.HelpContents))
        help_menu.addAction(self._action("&Keyboard shortcuts", self._shortcuts))
        help_menu.addAction(self._action("&About CMANet Studio", self._about))

    # ---------------------------------------------------------------- settings

    def _load_settings(self) -> None:
        s = self.settings
        overlays = Overlays(**{n: s.get_bool(f"overlays/{n}", getattr(Overlays(), n)) for n in Overlays.names()})
        self.state.set_overlays(overlays)
        self.state.set_threshold(s.get_float("fit/threshold", self.state.threshold))
        device = s.get_str("fit/device", "auto")
        self.state.set_run_options(device=device if device in ("auto", "cpu", "cuda") else "auto")
        budget = s.get_float("fit/adapt_budget", self.state.adapt_budget)
        low, high = BUDGET_RANGE_S
        self.state.set_run_options(adapt_budget=budget if low <= budget <= high else self.state.adapt_budget)
        self.state.overlays_changed.connect(self._save_settings)
        self.state.threshold_changed.connect(self._save_settings)
        self.state.run_options_changed.connect(self._save_settings)

    def _save_settings(self) -> None:
        s = self.settings
        for name in Overlays.names():
            s.set(f"overlays/{name}", getattr(self.state.overlays, name))
        s.set("fit/threshold", self.state.threshold)
        s.set("fit/device", self.state.device)
        s.set("fit/adapt_budget", self.state.adapt_budget)
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

    def export_start(self) -> Path:
        """Where export dialogs open: the shown run's folder (else the last folder used)."""
        return Path(self.state.result_dir) if self.state.result_dir is not None else Path(self.settings.last_folder)

    def _export_name(self, suffix: str = "") -> str:
        run = self.state.run
        return f"{run.name}{suffix}" if run is not None else f"export{suffix}"

    def choose_export_result(self) -> None:
        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        path = choose_save_file(self, "Export the result", self.export_start() / "exports" / self._export_name(".npz"),
                                "NumPy archive (*.npz)")
        if path:
            self.controller.export_result(path)

    def choose_export_meshes(self) -> None:
        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        folder = choose_folder(self, "Export one OBJ mesh per frame into", self.export_start())
        if folder:
            self.controller.export_meshes(folder)

    def choose_export_formats(self) -> None:
        from cmanet_app.widgets.export_dialog import ExportDialog

        if self.state.result is None:
            self.reporter.warning("Nothing to export", "Fit the sequence first.")
            return
        dialog = ExportDialog(self.state.result, str(self.export_start() / "exports" / self._export_name()), self)
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
        path = choose_save_file(self, "Save a screenshot of the window", self.export_start() / "cmanet-studio.png",
                                "PNG image (*.png)")
        if path:
            self.save_screenshot(path, tell=True)

    def save_screenshot(self, path: str | Path, tell: bool = False) -> bool:
        """Write a PNG of the window to ``path`` (``tell``: say where in the status bar)."""
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.grab().save(str(path), "PNG")
        if not ok:
            self.reporter.error("Screenshot failed", f"Could not write {path}")
        elif tell:
            self.statusBar().showMessage(f"Screenshot saved to {path}", 15000)
        return ok

    def _use_model(self, checkpoint: str) -> None:
        self.run_panel.use_checkpoint(checkpoint)
        self.statusBar().showMessage(f"Fitting model: {checkpoint}", 10000)

    def _about(self) -> None:
        QMessageBox.about(self, "About CMANet Studio", help_text.about())

    def _how_to(self) -> None:
        self._help_box("How to fit your own recording", help_text.HOW_TO)

    def _shortcuts(self) -> None:
        self._help_box("Keyboard shortcuts", help_text.shortcuts(self.actions()))

    def _help_box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.help_box = box
        box.open()

    def _show_timings(self, on: bool) -> None:
        if self.scene_panel is not None:
            self.scene_panel.show_timings = bool(on)

    def _ask_before_opening(self, opened, answer) -> None:
        """The folder does not look like one recording: say why and ask before going on."""
        box = QMessageBox(QMessageBox.Icon.Question, "Open this folder?",
                          f"{opened.info.root} may not be a recording of one person by several cameras:\n\n"
                          + "\n".join(f"• {d}" for d in opened.doubts) + "\n\nOpen it anyway?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        def finished(_code: int) -> None:
            self.open_question = None
            answer(box.clickedButton() is box.button(QMessageBox.StandardButton.Open))

        box.finished.connect(finished)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.open_question = box
        box.open()

    # ---------------------------------------------------------------- state -> display

    def _result_changed(self) -> None:
        result = self.state.result
        self.meshes.set_result(result, self.controller.body_config() if result is not None else None)
        self.view_grid.refresh()
        # A result written before IRV cameras were kept cannot draw its per-view fits where they belong;
        # the per-view fits are kept for the main person only.
        old = result is not None and result.irv_cam_f is None
        other = self.state.person > 0
        for name in ("irv_mesh", "ghosts_3d"):
            action = self.overlay_actions[name]
            action.setEnabled(not (old or other))
            action.setToolTip(FORMAT1_NOTE if old else OTHER_PERSON_NOTE if other else OVERLAY_TIPS[name])
        if old:
            self.state.add_notice(FORMAT1_NOTE)

    def _frame_errors(self, images) -> None:
        new = [e for e in images.errors if e not in self._frame_errors_seen]
        if new:
            self._frame_errors_seen.update(new)
            self.reporter.warning("Some of the frame could not be drawn", "\n".join(new))

    def _update_title(self) -> None:
        info = self.state.sequence
        self.setWindowTitle("CMANet Studio" if info is None else f"{info.root.name} — CMANet Studio")

    def _job_finished(self, name: str, outcome: str) -> None:
        if name == "show run" and outcome == "succeeded" and self.state.run is not None:
            run = self.state.run
            self.statusBar().showMessage(f"Showing run {run.name} ({run.mode}): {run.fused_px:.1f} px fused error")
        if name in ("evaluate", "show run", "compare run"):
            return
        info = self.state.sequence
        if name in ("open", "demo") and outcome == "succeeded" and info is not None:
            run = self.state.run
            self.statusBar().showMessage(
                f"{info.root}: {info.num_views} views, {info.num_frames} frames at {info.fps:g} fps; "
                + (f"showing run {run.name} ({run.mode}) of {len(self.state.runs)}" if run is not None else
                   "not fitted yet: press Fit"))
        elif name in QUIET_JOBS:
            self.statusBar().showMessage(outcome_text(name, outcome), 15000)
        # (the other jobs' outcome stays in the status bar's stage label, from the run panel)

    def _reported(self, report) -> None:
        """Every message box's words also stay in the status bar (they may be dismissed unread)."""
        self.statusBar().showMessage(f"{report.title}: {report.message.splitlines()[0] if report.message else ''}", 15000)

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

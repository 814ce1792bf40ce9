"""Detection and fitting controls: mode (network modes greyed out until a trained model exists),
checkpoint, lambda threshold, device, result folder, Detect / Fit / Cancel and a progress bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from cmanet_app.controller import Controller
from cmanet_app.state import DEVICES
from core.fit.modes import FIT_MODES, default_mode
from core.nets.checkpoint import installed_model

STAGE_LABELS = {
    "detect": "Detecting 2D keypoints",
    "irv": "IRV: fitting each view",
    "iev": "IEV: fusing the views",
    "synth": "Making the demo sequence",
    "export": "Exporting",
}
NETWORK_TIP = "Needs a trained CMANet model: choose a checkpoint (…), or train one in the Training tab."


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


class RunPanel(QWidget):
    def __init__(self, controller: Controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        state = controller.state
        self.state = state

        self.mode_combo = QComboBox()
        self.mode_combo.setToolTip("How to fit: optimize (SMPLify IRV + multi-view SMPLify IEV), or a trained network")
        self._mode_chosen = False
        self._checkpoint_seen = state.checkpoint
        for mode in FIT_MODES:
            self.mode_combo.addItem(mode)
        self.mode_combo.currentTextChanged.connect(self._mode_changed)

        # The checkpoint chooser is always usable: choosing a model is what enables the network modes.
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setMinimumWidth(90)
        self.checkpoint_edit.setToolTip("Network model for the network modes (a .pt from 'cmanet train', or the shipped one)")
        self.checkpoint_button = QToolButton()
        self.checkpoint_button.setText("…")
        self.checkpoint_button.setToolTip("Choose a model checkpoint")
        self.checkpoint_button.clicked.connect(self._choose_checkpoint)
        self.checkpoint_edit.editingFinished.connect(
            lambda: state.set_run_options(checkpoint=self.checkpoint_edit.text().strip()))

        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 0.99)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(state.threshold)
        self.threshold_spin.setToolTip("λ: detections at or below this confidence are ignored by the fit (drawn hollow)")
        self.threshold_spin.valueChanged.connect(state.set_threshold)

        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(device)
        if not cuda_available():
            item = self.device_combo.model().item(DEVICES.index("cuda"))
            item.setEnabled(False)
            item.setToolTip("No CUDA device is available on this machine")
        self.device_combo.setCurrentText(state.device)
        self.device_combo.currentTextChanged.connect(lambda d: state.set_run_options(device=d))

        self.result_label = QLabel("")
        self.result_label.setStyleSheet("color: gray")
        # Long paths must not set the window's minimum width: the label shrinks (tooltip has all).
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_button = QToolButton()
        self.result_button.setText("Result folder…")
        self.result_button.setToolTip("Where this sequence's result.npz is written and read (default: the user cache)")
        self.result_button.clicked.connect(self._choose_result_dir)

        self.detect_button = QPushButton("Detect")
        self.detect_button.setToolTip("Detect 2D keypoints in every frame and view (cached)")
        self.detect_button.clicked.connect(controller.detect)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit 3D body, mesh and cameras (IRV then IEV) and save the result")
        self.fit_button.clicked.connect(controller.fit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(controller.cancel)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(100)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.stage_label = QLabel("")
        self.stage_label.setMinimumWidth(60)
        self.stage_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for label, widget in (("Mode", self.mode_combo), ("", self.checkpoint_edit), ("", self.checkpoint_button),
                              ("λ", self.threshold_spin), ("Device", self.device_combo)):
            if label:
                layout.addWidget(QLabel(label))
            layout.addWidget(widget)
        layout.addWidget(self.detect_button)
        layout.addWidget(self.fit_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage_label, 2)
        layout.addWidget(self.result_label, 3)
        layout.addWidget(self.result_button)

        controller.job_started.connect(self._job_started)
        controller.job_progress.connect(self._job_progress)
        controller.job_finished.connect(self._job_finished)
        state.busy_changed.connect(self._update_enabled)
        state.sequence_changed.connect(self._update_enabled)
        state.sequence_changed.connect(self._show_result_dir)
        state.result_changed.connect(self._show_result_dir)
        state.run_options_changed.connect(self._show_options)
        state.threshold_changed.connect(lambda v: self.threshold_spin.setValue(v) if abs(self.threshold_spin.value() - v) > 1e-9 else None)
        self._update_modes()
        self._update_enabled()

    # ---------------------------------------------------------------- user actions

    def model_path(self) -> Path | None:
        """The model the network modes would use: the chosen checkpoint, else the shipped one."""
        chosen = self.state.checkpoint.strip()
        if chosen:
            return Path(chosen).expanduser() if Path(chosen).expanduser().is_file() else None
        return installed_model()

    def _update_modes(self) -> None:
        """Network modes are enabled only when a model exists. The mode is ``cmanet fit``'s
        default (:func:`core.fit.modes.default_mode`) unless the user picked one."""
        model = self.model_path()
        default = installed_model()
        self.checkpoint_edit.setPlaceholderText(f"default: {default.name}" if default else "no model: choose a checkpoint")
        enabled = {"optimize": True}
        for i, mode in enumerate(FIT_MODES):
            if mode == "optimize":
                continue
            ok = model is not None
            enabled[mode] = ok
            item = self.mode_combo.model().item(i)
            item.setEnabled(ok)
            item.setToolTip("" if ok else NETWORK_TIP)
        wanted = self.mode_combo.currentText() if self._mode_chosen else default_mode(model)
        if not enabled.get(wanted, False):
            wanted = "optimize"
        self._set_mode(wanted)

    def _set_mode(self, mode: str) -> None:
        self.mode_combo.blockSignals(True)  # programmatic: not the user's choice
        self.mode_combo.setCurrentText(mode)
        self.mode_combo.blockSignals(False)
        self.state.set_run_options(mode=mode)

    def _mode_changed(self, mode: str) -> None:
        self._mode_chosen = True  # only the user's own changes reach here
        self.state.set_run_options(mode=mode)

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", self.state.checkpoint or "",
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.checkpoint_edit.setText(path)
            self.state.set_run_options(checkpoint=path)

    def _choose_result_dir(self) -> None:
        start = str(self.state.result_dir or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Result folder for this sequence", start)
        if folder:
            self.controller.set_result_dir(folder)

    def use_checkpoint(self, path: str) -> None:
        """Select a (trained) model for fitting, and the default mode with a model."""
        self.checkpoint_edit.setText(path)
        self.state.set_run_options(checkpoint=path)
        index = self.mode_combo.findText(default_mode(path))
        if index >= 0 and self.mode_combo.model().item(index).isEnabled():
            self._set_mode(default_mode(path))

    # ---------------------------------------------------------------- state -> display

    def _show_options(self) -> None:
        if self.mode_combo.currentText() != self.state.mode and self.state.mode in FIT_MODES:
            self._set_mode(self.state.mode)
        if self.device_combo.currentText() != self.state.device:
            self.device_combo.setCurrentText(self.state.device)
        if self.checkpoint_edit.text() != self.state.checkpoint:
            self.checkpoint_edit.setText(self.state.checkpoint)
        if self.state.checkpoint != self._checkpoint_seen:
            self._checkpoint_seen = self.state.checkpoint
            self._update_modes()
        self._show_result_dir()

    def _show_result_dir(self) -> None:
        folder = self.state.result_dir
        text = "" if folder is None else (("result: " if self.state.result is not None else "no result yet: ") + str(folder))
        self.result_label.setText(text)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.result_label.setToolTip(str(folder or ""))

    def _update_enabled(self) -> None:
        busy = bool(self.state.busy)
        has_seq = self.state.sequence is not None
        self.detect_button.setEnabled(has_seq and not busy)
        self.fit_button.setEnabled(has_seq and not busy)
        self.result_button.setEnabled(has_seq and not busy)
        self.cancel_button.setEnabled(busy)

    def _job_started(self, name: str) -> None:
        if name in ("evaluate",):
            return
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.stage_label.setText(f"{name}…")

    def _job_progress(self, name: str, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.stage_label.setText(f"{STAGE_LABELS.get(stage, stage)} {done}/{total}")

    def _job_finished(self, name: str, outcome: str) -> None:
        if name in ("evaluate",):
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if outcome == "succeeded" else 0)
        self.stage_label.setText(f"{name}: {outcome}")

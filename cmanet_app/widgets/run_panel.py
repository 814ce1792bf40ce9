"""The fitting controls above the views: how to fit (mode; the network modes greyed out until a
trained model exists), which model, the confidence threshold, the person's height, the device,
Detect / Fit / Cancel, and a progress bar (shown in the status bar) that stays empty until work
starts. A second row: adapting the network to the footage first (network modes; its time budget)
and how many people to fit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.controller import Controller
from cmanet_app.state import DEVICES
from core.fit.modes import FIT_MODES, default_mode
from core.nets.checkpoint import installed_model

STAGE_LABELS = {
    "detect": "Detecting body points",
    "irv": "Per-view fit (IRV)",
    "iev": "Fused fit (IEV)",
    "adapt": "Adapting the network to this footage",
    "synth": "Making the sequence",
    "export": "Exporting",
}
# What a person sees of each job while it runs and when it ends.
JOB_LABELS = {
    "open": "Opening", "demo": "Preparing the demo", "detect": "Detection", "fit": "Fitting",
    "export": "Export", "export meshes": "Mesh export", "export formats": "Export", "import keypoints": "Keypoint import",
}
OUTCOME_WORDS = {"succeeded": "finished", "failed": "failed", "cancelled": "cancelled"}
# Jobs too short or too quiet for the progress bar (their outcome still reaches the status bar).
QUIET_JOBS = ("open", "evaluate", "show run", "compare run")
MODE_TIPS = {
    "optimize": "Optimizers only: each view fitted alone (per-view fit, IRV), then one body for all views (fused fit, "
                "IEV). Needs no trained model.",
    "network": "The trained network alone: fastest, least accurate.",
    "network+refine": "The trained network's answer, refined by the optimizers: as accurate as the optimizers alone "
                      "(the default when a model is installed).",
}
NETWORK_TIP = "Needs a trained CMANet model: choose one (…), or train one in the Training tab."
HEIGHT_UNKNOWN = 0.49  # the height box's lowest value, shown as "not known"
STAGE_UNITS = {"adapt": " s"}  # what a stage's done/total count
ADAPT_TIP = ("Before fitting, let the network learn from this recording itself (its own detections, no labels), "
             "within the time budget; the adapted network is kept with the run and reused by later fits of this "
             "recording (cmanet fit --adapt). Network modes only.")
ADAPT_OFF_TIP = "Adapting needs a network mode (network or network+refine)."
BUDGET_RANGE_S = (1, 3600)
PEOPLE_CHOICES = (("main person", 1), ("all people", None))  # label, cmanet fit --people


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def outcome_text(job: str, outcome: str) -> str:
    """``Fitting finished`` / ``Detection cancelled``... for the status bar."""
    return f"{JOB_LABELS.get(job, job.capitalize())} {OUTCOME_WORDS.get(outcome, outcome)}"


class RunPanel(QWidget):
    def __init__(self, controller: Controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        state = controller.state
        self.state = state

        self.mode_combo = QComboBox()
        self.mode_combo.setToolTip("How to fit the 3D body and the cameras")
        self._mode_chosen = False
        self._checkpoint_seen = state.checkpoint
        for i, mode in enumerate(FIT_MODES):
            self.mode_combo.addItem(mode)
            self.mode_combo.setItemData(i, MODE_TIPS[mode], Qt.ItemDataRole.ToolTipRole)
        self.mode_combo.currentTextChanged.connect(self._mode_changed)

        # The model chooser is always usable: choosing a model is what enables the network modes.
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setMinimumWidth(90)
        self.checkpoint_edit.setToolTip("The trained network the network modes use (a .pt file from training); empty: "
                                        "the model that ships with the app. Used for one fit, then back to the default.")
        self.checkpoint_button = QToolButton()
        self.checkpoint_button.setText("…")
        self.checkpoint_button.setToolTip("Choose a trained model file")
        self.checkpoint_button.clicked.connect(self._choose_checkpoint)
        self.checkpoint_edit.editingFinished.connect(
            lambda: state.set_run_options(checkpoint=self.checkpoint_edit.text().strip()))

        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 0.99)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(state.threshold)
        self.threshold_spin.setToolTip("Confidence threshold: detected body points the detector is less sure of than "
                                       "this are not used by the fit (they are drawn hollow and grey)")
        self.threshold_spin.valueChanged.connect(state.set_threshold)

        self.height_spin = QDoubleSpinBox()
        self.height_spin.setRange(HEIGHT_UNKNOWN, 2.5)
        self.height_spin.setSingleStep(0.01)
        self.height_spin.setDecimals(2)
        self.height_spin.setSuffix(" m")
        self.height_spin.setSpecialValueText("not known")
        self.height_spin.setValue(state.body_height or HEIGHT_UNKNOWN)
        self.height_spin.setToolTip("The person's standing height, top of the head to the floor, if you know it: it "
                                    "sets the size of the result, which the cameras alone cannot tell (not known: an "
                                    "adult of ordinary height, 1.70 m)")
        self.height_spin.valueChanged.connect(
            lambda v: state.set_run_options(body_height=0.0 if v <= HEIGHT_UNKNOWN else round(float(v), 3)))

        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(device)
        self.device_combo.setToolTip("Where the fit computes: auto (a GPU when there is one), cpu or cuda")
        if not cuda_available():
            item = self.device_combo.model().item(DEVICES.index("cuda"))
            item.setEnabled(False)
            item.setToolTip("No CUDA device is available on this machine")
        self.device_combo.setCurrentText(state.device)
        self.device_combo.currentTextChanged.connect(lambda d: state.set_run_options(device=d))

        self.adapt_check = QCheckBox("Adapt the network to this footage")
        self.adapt_check.setChecked(state.adapt)
        self.adapt_check.toggled.connect(lambda on: state.set_run_options(adapt=bool(on)))
        self.budget_spin = QSpinBox()
        self.budget_spin.setRange(*BUDGET_RANGE_S)
        self.budget_spin.setSuffix(" s")
        self.budget_spin.setValue(round(state.adapt_budget))
        self.budget_spin.setToolTip("The most seconds of learning that adapting may spend, on top of the fit "
                                    "(cmanet fit --adapt-budget)")
        self.budget_spin.valueChanged.connect(lambda v: state.set_run_options(adapt_budget=float(v)))
        self.people_combo = QComboBox()
        for label, people in PEOPLE_CHOICES:
            self.people_combo.addItem(label, people)
        self.people_combo.setToolTip("Whom to fit: the main person (seen longest and most centrally), or every person "
                                     "seen by two cameras or more, in the same cameras (cmanet fit --people all)")
        self.people_combo.currentIndexChanged.connect(
            lambda i: state.set_run_options(people=PEOPLE_CHOICES[i][1]))

        self.detect_button = QPushButton("Detect")
        self.detect_button.setToolTip("Find the person's 2D body points in every frame of every view (Ctrl+D); kept "
                                      "for this recording, so fits reuse them")
        self.detect_button.clicked.connect(controller.detect)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit the 3D body, its mesh and the cameras (Ctrl+R); each fit is kept as a run")
        self.fit_button.clicked.connect(controller.fit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running detection or fit (Esc)")
        self.cancel_button.clicked.connect(controller.cancel)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(100)
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # empty until work starts
        self.stage_label = QLabel("")

        rows = QVBoxLayout(self)
        rows.setContentsMargins(4, 2, 4, 2)
        rows.setSpacing(2)
        layout, second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(layout)
        rows.addLayout(second)
        for row, label, widget in ((layout, "Fit mode", self.mode_combo), (layout, "Model", self.checkpoint_edit),
                                   (layout, "", self.checkpoint_button),
                                   (layout, "Confidence threshold", self.threshold_spin),
                                   (layout, "Body height", self.height_spin), (layout, "Device", self.device_combo),
                                   (second, "", self.adapt_check), (second, "Budget", self.budget_spin),
                                   (second, "People to fit", self.people_combo)):
            if label:
                text = QLabel(label)
                text.setToolTip(widget.toolTip())
                row.addWidget(text)
            row.addWidget(widget)
        layout.addWidget(self.detect_button)
        layout.addWidget(self.fit_button)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)
        second.addStretch(1)
        # The progress bar and the stage sit in the window's status bar (the main window puts them
        # there), where a whole sentence fits.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        controller.job_started.connect(self._job_started)
        controller.job_progress.connect(self._job_progress)
        controller.job_finished.connect(self._job_finished)
        state.busy_changed.connect(self._update_enabled)
        state.sequence_changed.connect(self._update_enabled)
        state.run_options_changed.connect(self._show_options)
        state.threshold_changed.connect(lambda v: self.threshold_spin.setValue(v) if abs(self.threshold_spin.value() - v) > 1e-9 else None)
        self._update_modes()
        self._update_enabled()
        self._update_adapt()

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
        self.checkpoint_edit.setPlaceholderText(f"default: {default.name}" if default else "no model: choose one")
        enabled = {"optimize": True}
        for i, mode in enumerate(FIT_MODES):
            if mode == "optimize":
                continue
            ok = model is not None
            enabled[mode] = ok
            item = self.mode_combo.model().item(i)
            item.setEnabled(ok)
            item.setToolTip(MODE_TIPS[mode] if ok else NETWORK_TIP)
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
        path, _ = QFileDialog.getOpenFileName(self, "Choose a trained model", self.state.checkpoint or "",
                                              "Models (*.pt *.pth);;All files (*)")
        if path:
            self.checkpoint_edit.setText(path)
            self.state.set_run_options(checkpoint=path)

    def use_checkpoint(self, path: str) -> None:
        """Select a (trained) model for the next fit, and the default mode with a model."""
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
        height = self.state.body_height or HEIGHT_UNKNOWN
        if abs(self.height_spin.value() - height) > 1e-9:
            self.height_spin.setValue(height)
        if self.adapt_check.isChecked() != self.state.adapt:
            self.adapt_check.setChecked(self.state.adapt)
        if self.budget_spin.value() != round(self.state.adapt_budget):
            self.budget_spin.setValue(round(self.state.adapt_budget))
        counts = [people for _, people in PEOPLE_CHOICES]
        index = counts.index(self.state.people) if self.state.people in counts else len(counts) - 1
        if self.people_combo.currentIndex() != index:
            self.people_combo.setCurrentIndex(index)
        self._update_adapt()
        if self.state.checkpoint != self._checkpoint_seen:
            self._checkpoint_seen = self.state.checkpoint
            self._update_modes()

    def _update_adapt(self) -> None:
        """Adapting is offered in the network modes only; its budget while it is on."""
        network = self.state.mode != "optimize" and self.mode_combo.model().item(
            self.mode_combo.currentIndex()).isEnabled()
        self.adapt_check.setEnabled(network)
        self.adapt_check.setToolTip(ADAPT_TIP if network else ADAPT_OFF_TIP)
        self.budget_spin.setEnabled(network and self.state.adapt)

    def _update_enabled(self) -> None:
        busy = bool(self.state.busy)
        has_seq = self.state.sequence is not None
        self.detect_button.setEnabled(has_seq and not busy)
        self.fit_button.setEnabled(has_seq and not busy)
        self.cancel_button.setEnabled(busy)

    def _job_started(self, name: str) -> None:
        if name in QUIET_JOBS:
            return
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.setTextVisible(False)
        self.stage_label.setText(f"{JOB_LABELS.get(name, name.capitalize())}…")

    def _job_progress(self, name: str, stage: str, done: int, total: int) -> None:
        if name in QUIET_JOBS:
            return
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setTextVisible(True)
        self.stage_label.setText(f"{STAGE_LABELS.get(stage, stage)}: {done} of {total}{STAGE_UNITS.get(stage, '')}")

    def _job_finished(self, name: str, outcome: str) -> None:
        if name in QUIET_JOBS:
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.stage_label.setText(outcome_text(name, outcome))

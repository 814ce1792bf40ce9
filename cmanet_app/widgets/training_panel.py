"""The Training tab: choose recordings, a size of training (tiny/cpu/paper or your own settings
file), the stage(s) and the device; Start runs ``cmanet train`` in the background
(:class:`TrainingRun`); the curves update live, losses and pixels on separate plots; Stop and
Resume; and a finished model is one click away from fitting."""

from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.errors import ErrorReporter
from cmanet_app.settings import AppSettings
from cmanet_app.training import MetricSeries, TrainingRun, TrainOptions, curve_label, curve_unit
from core.config import CONFIGS_DIR
from core.detect.cache import cache_base_dir

CUSTOM = "my own settings file…"
STAGES = (("both", "both stages"), ("1", "stage 1: per-view (IRV)"), ("2", "stage 2: fused (IEV)"))
PALETTE = [(66, 135, 245), (245, 130, 48), (60, 180, 75), (230, 25, 75), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60)]


def config_choices() -> list[str]:
    """Training configs shipped in resources/configs (fit.yaml is the fitting config, not one)."""
    names = sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml") if p.stem != "fit")
    preferred = [n for n in ("tiny", "cpu", "paper") if n in names]
    return preferred + [n for n in names if n not in preferred]


class TrainingPanel(QWidget):
    use_model = Signal(str)  # checkpoint path, for fitting

    def __init__(self, settings: AppSettings, reporter: ErrorReporter, run: TrainingRun | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.reporter = reporter
        self.run = run or TrainingRun(self)
        self.series = MetricSeries()
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.last_outcome = ""

        self.banner = QLabel("Checking whether 'cmanet train' is available…")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("color: gray")

        self.sequence_list = QListWidget()
        self.sequence_list.setMaximumHeight(80)
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self._add_sequence)
        self.add_open_button = QPushButton("Add open sequence")
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: [self.sequence_list.takeItem(self.sequence_list.row(i))
                                                    for i in self.sequence_list.selectedItems()])
        seq_buttons = QVBoxLayout()
        for b in (self.add_button, self.add_open_button, self.remove_button):
            seq_buttons.addWidget(b)
        seq_row = QHBoxLayout()
        seq_row.addWidget(self.sequence_list, 1)
        seq_row.addLayout(seq_buttons)

        self.config_combo = QComboBox()
        self.config_combo.addItems(config_choices() + [CUSTOM])
        self.config_combo.activated.connect(self._config_chosen)
        self.custom_config = ""
        self.config_combo.setToolTip("How long and how big: tiny (a quick try), cpu (this computer), paper (the "
                                     "paper's network; needs a GPU), or your own settings file")
        self.stage_combo = QComboBox()
        for value, text in STAGES:
            self.stage_combo.addItem(text, value)
        self.stage_combo.setToolTip("Stage 1 teaches the per-view part (IRV); stage 2 the fused part (IEV), with the "
                                    "per-view part kept as it is (it needs stage 1 done in this run folder)")
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        self.device_combo.setCurrentText(settings.get_str("fit/device", "auto"))
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 100000)
        self.epochs_spin.setSpecialValueText("as set")
        self.epochs_spin.setToolTip("Passes over the recordings per stage (\"as set\": the chosen settings' own)")
        self.out_edit = QLineEdit(str(self._default_run_dir()))
        out_button = QToolButton()
        out_button.setText("…")
        out_button.clicked.connect(self._choose_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(out_button)

        form = QFormLayout()
        form.addRow("Recordings", seq_row)
        form.addRow("Settings", self.config_combo)
        form.addRow("Stage", self.stage_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Run folder", out_row)

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue a stopped run from where it stopped")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.use_button = QPushButton("Use model for fitting")
        self.use_button.setToolTip("Fit with this run's best model so far (for the next fit)")
        self.use_button.clicked.connect(self._use_model)
        self.status_label = QLabel("")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.status_label)

        self.loss_plot = self._plot("Training loss (lower is better; no unit)")
        self.val_plot = self._plot("Held-out frames: loss (no unit)")
        self.px_plot = self._plot("Held-out frames: distance to the detected points", "px")
        self.gt_plot = self._plot("Held-out frames against ground truth")
        self.gt_plot.hide()  # only recordings with ground truth log these
        self.plots = {("train", "loss"): self.loss_plot, ("val", "loss"): self.val_plot, ("val", "px"): self.px_plot,
                      ("val", "gt"): self.gt_plot, ("train", "px"): self.px_plot, ("train", "gt"): self.gt_plot}
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        font = QFont("Monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.log.setFont(font)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for plot in (self.loss_plot, self.val_plot, self.px_plot, self.gt_plot):
            splitter.addWidget(plot)
        splitter.addWidget(self.log)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)

        self.run.availability.connect(self._availability)
        self.run.output.connect(self._append_log)
        self.run.metrics.connect(self._add_metrics)
        self.run.reset_metrics.connect(self._clear_curves)
        self.run.started.connect(self._update_buttons)
        self.run.finished.connect(self._finished)
        self._started_at = 0.0
        self._update_buttons()
        self.run.check_available()

    def _plot(self, title: str, units: str = "") -> pg.PlotWidget:
        plot = pg.PlotWidget(title=title)
        plot.setBackground(QColor(28, 29, 33))
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("bottom", "training step")
        if units:
            plot.setLabel("left", units=units)
        plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        return plot

    @staticmethod
    def _default_run_dir() -> Path:
        return cache_base_dir() / "runs" / time.strftime("run-%Y%m%d-%H%M%S")

    # ---------------------------------------------------------------- inputs

    def add_sequence(self, folder: str | Path) -> None:
        folder = str(folder)
        existing = {self.sequence_list.item(i).text() for i in range(self.sequence_list.count())}
        if folder not in existing:
            self.sequence_list.addItem(folder)

    def sequences(self) -> list[Path]:
        return [Path(self.sequence_list.item(i).text()) for i in range(self.sequence_list.count())]

    def _add_sequence(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a training sequence", self.settings.last_folder)
        if folder:
            self.add_sequence(folder)

    def _config_chosen(self, index: int) -> None:
        if self.config_combo.itemText(index) != CUSTOM:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Training config", str(CONFIGS_DIR), "YAML (*.yaml *.yml)")
        if path:
            self.set_custom_config(path)
        else:
            self.config_combo.setCurrentIndex(0)

    def set_custom_config(self, path: str | Path) -> None:
        self.custom_config = str(path)
        self.config_combo.setCurrentText(CUSTOM)
        self.config_combo.setToolTip(self.custom_config)

    def config(self) -> str:
        return self.custom_config if self.config_combo.currentText() == CUSTOM else self.config_combo.currentText()

    def _choose_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder", str(Path(self.out_edit.text()).parent))
        if folder:
            self.out_edit.setText(folder)

    def options(self) -> TrainOptions:
        return TrainOptions(self.sequences(), self.config(), self.stage_combo.currentData(),
                            self.device_combo.currentText(), Path(self.out_edit.text()).expanduser(),
                            self.epochs_spin.value() or None)

    # ---------------------------------------------------------------- run control

    def start(self, resume: bool = False) -> bool:
        options = self.options()
        if not self.run.available:
            self.reporter.warning("Training is not available", self.run.unavailable_reason or "still checking…")
            return False
        if not options.sequences:
            self.reporter.warning("No training data", "Add at least one sequence folder to train on.")
            return False
        if not resume and not options.config:
            self.reporter.warning("No config", "Choose a training config.")
            return False
        if resume and not (options.out / "last.pt").is_file():
            self.reporter.warning("Nothing to resume", f"{options.out} has no last.pt yet.")
            return False
        try:
            self.run.start(options, resume)
        except (OSError, RuntimeError) as exc:
            self.reporter.exception("Could not start training", exc)
            return False
        self._started_at = time.monotonic()
        self.status_label.setText("running…")
        return True

    def stop(self) -> None:
        self.run.stop()
        self.status_label.setText("stopping…")

    def _finished(self, code: int, outcome: str) -> None:
        self.last_outcome = outcome
        self.status_label.setText({"finished": "Finished", "stopped": "Stopped (Resume continues it)"}.get(
            outcome, f"Training {outcome}"))
        self._update_buttons()
        if outcome in ("failed", "crashed", "failed to start"):
            tail = "\n".join(self.log.toPlainText().strip().splitlines()[-15:])
            errors = [l for l in tail.splitlines() if l.startswith("error:")]
            self.reporter.error("Training failed", errors[-1] if errors else f"cmanet train {outcome} (exit status {code}).",
                                tail)

    def _use_model(self) -> None:
        checkpoint = self.run.checkpoint()
        if checkpoint is None:
            self.reporter.warning("No model yet", "This run has not written best.pt or last.pt yet.")
            return
        self.use_model.emit(str(checkpoint))

    def _availability(self, ok: bool, reason: str) -> None:
        if ok:
            self.banner.setText("Training teaches the network from your recordings, with no labels: stage 1 the "
                                "per-view part (IRV), stage 2 the fused part (IEV). It runs in the background; the "
                                "curves follow it as it goes.")
            self.banner.setStyleSheet("color: gray")
        else:
            self.banner.setText(reason + ". Training from the app starts working as soon as it is.")
            self.banner.setStyleSheet("color: rgb(230, 120, 40)")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.run.running
        available = bool(self.run.available)
        self.start_button.setEnabled(available and not running)
        self.resume_button.setEnabled(available and not running)
        self.stop_button.setEnabled(running)
        self.use_button.setEnabled(not running and self.run.checkpoint() is not None)
        if not available:
            tip = self.run.unavailable_reason or "checking…"
            self.start_button.setToolTip(tip)
            self.resume_button.setToolTip(tip)

    def confirm_close(self, parent: QWidget) -> bool:
        """Closing the app while training: ask, and stop the run only if the user agrees."""
        if not self.run.running:
            return True
        answer = QMessageBox.question(
            parent, "Training in progress",
            "A training run is in progress. Stop it and quit?\n(It can be continued later with Resume.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.run.stop(wait_ms=10000)
        return True

    # ---------------------------------------------------------------- output

    def _append_log(self, text: str) -> None:
        if text:
            self.log.moveCursor(self.log.textCursor().MoveOperation.End)
            self.log.insertPlainText(text)
            self.log.ensureCursorVisible()

    def _clear_curves(self) -> None:
        self.series = MetricSeries()
        for plot in (self.loss_plot, self.val_plot, self.px_plot, self.gt_plot):
            plot.clear()
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self.curves.clear()

    def _add_metrics(self, records: list) -> None:
        for record in records:
            self.series.add(record, self.series.records)
        for kind, curves in (("train", self.series.train), ("val", self.series.val)):
            for name, (xs, ys) in curves.items():
                key = (kind, name)
                if key not in self.curves:
                    plot = self.plots[(kind, curve_unit(name))]
                    plot.show()
                    colour = PALETTE[len([k for k in self.curves if self.plots[(k[0], curve_unit(k[1]))] is plot])
                                     % len(PALETTE)]
                    self.curves[key] = plot.plot(name=curve_label(name), pen=pg.mkPen(colour, width=2),
                                                 symbol="o" if kind == "val" else None, symbolSize=5, symbolBrush=colour)
                self.curves[key].setData(xs, ys)
        self.status_label.setText(f"running… {self.series.records} measurements" if self.run.running else self.status_label.text())

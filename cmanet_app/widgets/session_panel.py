"""The Session tab: a session folder of trials (``cmanet batch``), each trial's status and figures,
the shared rig, fitting the whole session in the background (progress, cancel), and opening any
trial in the main window (its views, and its body with the shared rig in the 3D panel).

The fitting is :func:`core.session.batch.run_batch`, what ``cmanet batch`` runs; the results go
where ``cmanet batch SESSION --out`` would write them (by default one folder per session in the
user cache, as for sequences).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.errors import ErrorReporter
from cmanet_app.paths import default_result_dir
from cmanet_app.tasks import Task, TaskRunner
from core.errors import InputError

log = logging.getLogger(__name__)

COLUMNS = ("Trial", "Status", "Frames", "Alone px", "Session px", "Rig px")
STAGE_LABELS = {"detect": "detecting", "alone": "fitting each trial alone", "rig": "estimating the rig",
                "fit": "fitting with the shared rig"}


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


class SessionPanel(QWidget):
    """Lists a session's trials; ``open_trial`` asks the main window to open one (its folder and
    its result folder)."""

    open_trial = Signal(str, str)  # trial folder, result folder

    def __init__(self, controller, reporter: ErrorReporter, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.reporter = reporter
        self.runner = TaskRunner(max_threads=1, parent=self)
        self.session_root: Path | None = None
        self.out: Path | None = None
        self.rows = []
        self.task: Task | None = None

        self.open_button = QPushButton("Open session…")
        self.open_button.setToolTip("A folder of trial folders (Pose2Sim's Trial_*/videos/, or any sequence folders)")
        self.open_button.clicked.connect(self.choose_session)
        self.fit_button = QPushButton("Fit session")
        self.fit_button.setToolTip("Detect every trial, find the rig they share, fit every trial with it "
                                   "(as cmanet batch; finished trials are kept)")
        self.fit_button.clicked.connect(self.fit_session)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.open_trial_button = QPushButton("Open trial")
        self.open_trial_button.setToolTip("Show the selected trial in the views and the 3D panel (double-click a row)")
        self.open_trial_button.clicked.connect(self._open_selected)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.fit_button, self.cancel_button, self.open_trial_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.session_label = QLabel("No session open")
        self.session_label.setWordWrap(True)
        self.rig_label = QLabel("")
        self.rig_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.open_row(row))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status_label = QLabel("")
        self.status_label.setStyleSheet("color: gray")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.session_label)
        layout.addWidget(self.rig_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        self._update_buttons()

    # ---------------------------------------------------------------- opening

    def choose_session(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a session (a folder of trial folders)",
                                                  self.controller.settings.last_folder)
        if folder:
            self.open_session(folder)

    def open_session(self, folder: str | Path, out: str | Path | None = None) -> bool:
        """Show the session at ``folder`` with the results in ``out`` (default: its folder in the
        user cache); ``folder`` may also be a ``cmanet batch`` output (its session.json names the
        session)."""
        from core.session.batch import read_session_summary

        folder = Path(folder).expanduser()
        written = read_session_summary(folder)
        if written is not None and out is None:
            folder, out = Path(written["session"]), folder
        out = Path(out) if out is not None else default_result_dir(folder)
        try:
            self._show(folder, out)
        except InputError as exc:
            self.reporter.exception("Cannot open the session", exc)
            return False
        return True

    def refresh(self) -> None:
        if self.session_root is not None:
            try:
                self._show(self.session_root, self.out)
            except InputError as exc:
                self.reporter.exception("Cannot read the session", exc)

    def _show(self, folder: Path, out: Path) -> None:
        from core.session.batch import session_status

        session, self.rows, rig = session_status(folder, out)
        self.session_root, self.out = session.root, out
        self.session_label.setText(f"Session {session.root} — {len(self.rows)} trials; results in {out}")
        self.rig_label.setText(self._rig_text(rig, session))
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            f = row.figures
            values = (row.name, row.status, f["frames"], f["alone_px"], f["session_px"], f["rig_px"])
            for c, value in enumerate(values):
                item = QTableWidgetItem(_cell(value))
                if c == 1 and row.error:
                    item.setToolTip(row.error)
                if c == 0 and f.get("joined"):
                    item.setToolTip("refined the shared rig")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    @staticmethod
    def _rig_text(rig: dict, session) -> str:
        if rig.get("source") == "calibration":
            return f"Rig: the calibration {rig['calibration']}"
        if "start" in rig:
            return f"Rig: recovered from the trials — started from {rig['start']}, refined on {', '.join(rig['joined'])}"
        if rig.get("error"):
            return f"Rig: {rig['error']}"
        if session.calibration is not None:
            return f"Rig: the session's calibration {session.calibration.name} will be used"
        return "Rig: not estimated yet (Fit session)"

    # ---------------------------------------------------------------- trials

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].row() if rows else None

    def _open_selected(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.open_row(row)

    def open_row(self, row: int) -> None:
        trial = self.rows[row]
        self.open_trial.emit(str(trial.path), str(trial.result_dir))

    def _update_buttons(self) -> None:
        running = self.task is not None
        self.fit_button.setEnabled(self.session_root is not None and not running)
        self.cancel_button.setEnabled(running)
        self.open_trial_button.setEnabled(self.selected_row() is not None)
        self.open_button.setEnabled(not running)

    # ---------------------------------------------------------------- fitting

    def fit_session(self) -> Task | None:
        """Fit the open session in the background (in this process: the app stays responsive,
        Cancel stops it between and inside fits; finished trials are kept)."""
        from core.fit.modes import resolve_mode
        from core.nets.checkpoint import installed_model
        from core.session.batch import BatchOptions, run_batch
        from core.session.executors import SerialExecutor

        if self.session_root is None or self.task is not None:
            return None
        state = self.controller.state
        try:
            config = self.controller.fit_config()
            mode, checkpoint = resolve_mode(state.mode, state.checkpoint or None, installed_model())
        except InputError as exc:
            self.reporter.exception("Bad fit settings", exc)
            return None
        options = BatchOptions(config, mode, checkpoint)
        root, out = self.session_root, self.out

        def work(job):  # job: the task's core.progress.Progress (stage progress and cancel)
            return run_batch(root, out, options, SerialExecutor(job.cancelled), job, job.cancelled)

        self.task = self.runner.start("session", work)
        self.task.progress.connect(self._progress)
        self.task.succeeded.connect(lambda summary: self._fitted(summary))
        self.task.failed.connect(lambda exc: self.reporter.exception("Fitting the session failed", exc, self.task.traceback
                                                                     if self.task else ""))
        self.task.cancelled.connect(lambda message: self.status_label.setText(message))
        self.task.finished.connect(self._task_finished)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status_label.setText("starting…")
        self._update_buttons()
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status_label.setText("cancelling…")

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status_label.setText(f"{STAGE_LABELS.get(stage, stage)}: {done} of {total}")
        if stage != "rig":
            self.refresh()

    def _fitted(self, summary: dict) -> None:
        from core.session.batch import failed_trials

        failed = failed_trials(summary)
        self.status_label.setText(f"done in {summary['timings_s'].get('total', 0):.0f} s"
                                  + (f"; {len(failed)} trial(s) failed" if failed else ""))

    def _task_finished(self) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.refresh()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.runner.cancel_all()
        self.runner.wait(timeout_ms)

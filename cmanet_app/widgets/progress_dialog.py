"""A progress dialog that follows one controller job (the demo's first build: synthesize + fit) and
cancels it on Cancel. Non-blocking: it is shown, not exec'd."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from cmanet_app.controller import Controller
from cmanet_app.widgets.run_panel import STAGE_LABELS


class JobProgressDialog(QProgressDialog):
    def __init__(self, controller: Controller, job: str, title: str, parent: QWidget | None = None):
        super().__init__(title, "Cancel", 0, 0, parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(300)  # quick jobs (the demo already cached) never flash a dialog
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(420)
        self._job = job
        self._controller = controller
        self.stages: list[str] = []  # labels shown, for tests and logs
        self.ended = False
        self.canceled.connect(controller.cancel)
        controller.job_progress.connect(self._progress)
        controller.job_finished.connect(self._finished)

    def _progress(self, job: str, stage: str, done: int, total: int) -> None:
        if job != self._job:
            return
        self.setMaximum(max(1, total))
        self.setValue(min(done, total))
        self.setLabelText(f"{STAGE_LABELS.get(stage, stage)}: {done}/{total}")
        self.stages.append(self.labelText())

    def _finished(self, job: str, outcome: str) -> None:
        if job != self._job:
            return
        self._controller.job_progress.disconnect(self._progress)
        self._controller.job_finished.disconnect(self._finished)
        self.ended = True
        self.close()
        self.deleteLater()

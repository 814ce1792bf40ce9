"""Cameras out of sync: each camera's time offset against the first, shown and editable.

One row per camera: its frame rate and its offset in its own frames (its frame ``f + o`` shows
the first camera's frame ``f``), with the offset in seconds. The offsets shown are the result's
(known or estimated by the fit), else ``sequence.yaml``'s. Editing one sets it by hand: the views'
images follow at once, and the next fit keeps it (like ``time_offset_frames``); "Estimate the
others" is ``cmanet fit --sync`` (off by default, as on the command line).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.state import AppState

MAX_OFFSET_FRAMES = 10_000


class OffsetsPanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.sync_check = QCheckBox("Estimate the offsets not set by hand when fitting")
        self.sync_check.setChecked(state.sync)
        self.sync_check.setToolTip("Time each camera against the first from the person's motion, for cameras that "
                                   "stand still (off by default: it can misplace the offsets)")
        self.sync_check.toggled.connect(state.set_sync)
        self.reset_button = QPushButton("Forget the offsets set by hand")
        self.reset_button.clicked.connect(self._reset)
        self.grid = QGridLayout()
        self.spins: list[QDoubleSpinBox] = []
        self.seconds: list[QLabel] = []
        self.hint = QLabel("Open a sequence to see its cameras.")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sync_check)
        layout.addLayout(self.grid)
        layout.addWidget(self.reset_button)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        state.sequence_changed.connect(self._rebuild)
        state.result_changed.connect(self._show)
        state.time_offsets_changed.connect(self._show)
        self._rebuild()

    def _rebuild(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.spins, self.seconds = [], []
        info = self.state.sequence
        self.reset_button.setEnabled(info is not None)
        if info is None:
            self.hint.setText("Open a sequence to see its cameras.")
            return
        self.hint.setText("Offset o: the camera's frame f + o shows the first camera's frame f. "
                          "An offset set here is kept by the next fit.")
        for column, title in enumerate(("camera", "fps", "offset (frames)", "seconds")):
            self.grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        for v, name in enumerate(info.view_names):
            fps = float(info.view_fps[v]) if info.view_fps is not None else info.fps
            spin = QDoubleSpinBox()
            spin.setObjectName(f"offset-{name}")
            spin.setRange(-MAX_OFFSET_FRAMES, MAX_OFFSET_FRAMES)
            spin.setDecimals(2)
            spin.setSingleStep(0.5)
            spin.setEnabled(v > 0)  # the first camera is the clock
            spin.setToolTip(f"{name}'s time offset in its own frames ({fps:g} fps)")
            spin.valueChanged.connect(lambda value, n=name: self._edited(n, value))
            seconds = QLabel()
            self.grid.addWidget(QLabel(name), v + 1, 0)
            self.grid.addWidget(QLabel(f"{fps:g}"), v + 1, 1)
            self.grid.addWidget(spin, v + 1, 2)
            self.grid.addWidget(seconds, v + 1, 3)
            self.spins.append(spin)
            self.seconds.append(seconds)
        self._show()

    def _show(self) -> None:
        info, offsets = self.state.sequence, self.state.view_time_offsets()
        if info is None or offsets is None or len(self.spins) != len(offsets):
            return
        for v, (spin, seconds) in enumerate(zip(self.spins, self.seconds)):
            spin.blockSignals(True)
            spin.setValue(float(offsets[v]))
            spin.blockSignals(False)
            fps = float(info.view_fps[v]) if info.view_fps is not None else info.fps
            mark = " (set)" if info.view_names[v] in self.state.time_offsets else ""
            seconds.setText(f"{offsets[v] / fps:+.3f} s{mark}")

    def _edited(self, view: str, value: float) -> None:
        self.state.set_time_offset(view, value)

    def _reset(self) -> None:
        for name in list(self.state.time_offsets):
            self.state.set_time_offset(name, None)

"""IRV vs IEV: each view's reprojection error per frame for both (IRV dashed, IEV solid, in the
view's colour; the marker is the current frame and can be dragged), the per-view means in a table,
and -- when the sequence has ground truth (gt.npz) -- the paper's metrics from
:func:`core.eval.evaluate` as :func:`core.eval.format_table` prints them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.overlay import view_colour
from cmanet_app.state import AppState

COLUMNS = ("view", "IRV px", "IEV px", "IEV − IRV")


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float("nan") if np.all(np.isnan(values)) else float(np.nanmean(values))


class ComparePanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.plot = pg.PlotWidget()
        self.plot.setBackground(QColor(28, 29, 33))
        self.plot.setLabel("left", "reprojection error", units="px")
        self.plot.setLabel("bottom", "frame")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.marker = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 220, 60), width=2))
        self.marker.sigDragged.connect(lambda line: state.set_frame(int(round(line.value()))))
        self.plot.addItem(self.marker)
        self.curves: dict[tuple[str, int], pg.PlotDataItem] = {}

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        self.gt_label = QLabel("")
        self.gt_text = QPlainTextEdit()
        self.gt_text.setReadOnly(True)
        font = QFont("Monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.gt_text.setFont(font)
        gt_box = QWidget()
        gt_layout = QVBoxLayout(gt_box)
        gt_layout.setContentsMargins(0, 0, 0, 0)
        gt_layout.addWidget(self.gt_label)
        gt_layout.addWidget(self.gt_text, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.addWidget(gt_box)
        splitter.setSizes([320, 160, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

        state.result_changed.connect(self._result_changed)
        state.frame_changed.connect(self._frame_changed)
        state.eval_changed.connect(self._eval_changed)
        state.sequence_changed.connect(self._eval_changed)
        self._result_changed()
        self._eval_changed()

    # ---------------------------------------------------------------- state -> display

    def _result_changed(self) -> None:
        result = self.state.result
        self.plot.clear()
        self.plot.addItem(self.marker)
        self.curves.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        self.table.setRowCount(0)
        if result is None:
            self.plot.setTitle("Fit the sequence to compare IRV (each view alone) with IEV (fused)")
            return
        self.plot.setTitle("IRV (dashed) vs IEV (solid) reprojection error per view")
        frames = np.arange(result.num_frames)
        for v, name in enumerate(result.view_names):
            colour = view_colour(v)
            self.curves[("irv", v)] = self.plot.plot(frames, result.irv_reproj_px[:, v], name=f"{name} IRV",
                                                     pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            self.curves[("iev", v)] = self.plot.plot(frames, result.iev_reproj_px[:, v], name=f"{name} IEV",
                                                     pen=pg.mkPen(colour, width=2))
        rows = [(str(name), _mean(result.irv_reproj_px[:, v]), _mean(result.iev_reproj_px[:, v]))
                for v, name in enumerate(result.view_names)]
        rows.append(("all views", _mean(result.irv_reproj_px), _mean(result.iev_reproj_px)))
        self.table.setRowCount(len(rows))
        for r, (name, irv, iev) in enumerate(rows):
            cells = (name, f"{irv:.2f}", f"{iev:.2f}", f"{iev - irv:+.2f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r < len(rows) - 1 and c == 0:
                    item.setForeground(QColor(*view_colour(r)))
                self.table.setItem(r, c, item)
        self._frame_changed(self.state.frame)

    def _frame_changed(self, frame: int) -> None:
        self.marker.blockSignals(True)
        self.marker.setValue(frame)
        self.marker.blockSignals(False)

    def _eval_changed(self) -> None:
        info = self.state.sequence
        if info is None or info.gt_path is None:
            self.gt_label.setText("No ground truth: sequences with a gt.npz (e.g. from 'cmanet synth') show the "
                                  "paper's metrics here.")
            self.gt_label.setWordWrap(True)
            self.gt_text.setPlainText("")
            self.gt_text.setVisible(False)
            return
        self.gt_text.setVisible(True)
        if self.state.eval_report is None:
            self.gt_label.setText(f"Ground truth: {info.gt_path.name}" +
                                  (" — evaluating…" if self.state.result is not None else " — fit to evaluate"))
            self.gt_text.setPlainText("")
            return
        report = self.state.eval_report
        self.gt_label.setText(f"Ground truth ({info.gt_path.name}): {report['frames']} frames, {report['views']} views — "
                              "IRV is the mean over views")
        self.gt_text.setPlainText(self.state.eval_table)

    # ---------------------------------------------------------------- for tests and tools

    def table_values(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]

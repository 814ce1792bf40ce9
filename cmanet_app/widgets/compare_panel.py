"""IRV vs IEV: how far each view's per-view fit (IRV, dashed) and the fused fit (IEV, solid) land
from the detected points, frame by frame, in the view's colour; click the plot (or drag the
yellow line) to go to a frame. Another run can be put beside the shown one (dotted). Below, the
per-view means in a table and -- only when the recording has ground truth (gt.npz) -- the paper's
metrics from :func:`core.eval.evaluate` as :func:`core.eval.format_table` prints them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
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
from core.io.runs import Run

NO_SECOND = "no second run"


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float("nan") if np.all(np.isnan(values)) else float(np.nanmean(values))


def _cell(value: float, spec: str = ".2f") -> str:
    """A table number; "–" for none (another person than the main one has no per-view fit)."""
    return "–" if np.isnan(value) else format(value, spec)


class ComparePanel(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None, controller=None):
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.plot = pg.PlotWidget()
        self.plot.setBackground(QColor(28, 29, 33))
        self.plot.setLabel("left", "distance to the detected points", units="px")
        self.plot.setLabel("bottom", "frame")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.marker = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 220, 60), width=2))
        self.marker.sigDragged.connect(lambda line: state.set_frame(int(round(line.value()))))
        self.plot.addItem(self.marker)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.curves: dict[tuple[str, int], pg.PlotDataItem] = {}
        # The legend sits beside the plot, not over the curves.
        self.legend_view = pg.GraphicsLayoutWidget()
        self.legend_view.setBackground(QColor(28, 29, 33))
        self.legend_view.setFixedWidth(185)
        self.legend = pg.LegendItem(labelTextSize="8pt")
        self.legend_view.addItem(self.legend)

        self.second_combo = QComboBox()
        self.second_combo.setToolTip("Another run of this recording, drawn dotted beside the shown one")
        self.second_combo.activated.connect(self._second_chosen)
        second_row = QHBoxLayout()
        second_row.addWidget(QLabel("Beside the shown run:"))
        second_row.addWidget(self.second_combo, 1)

        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        self.gt_label = QLabel("")
        self.gt_label.setWordWrap(True)
        self.gt_text = QPlainTextEdit()
        self.gt_text.setReadOnly(True)
        font = QFont("Monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.gt_text.setFont(font)
        self.gt_box = QWidget()
        gt_layout = QVBoxLayout(self.gt_box)
        gt_layout.setContentsMargins(0, 0, 0, 0)
        gt_layout.addWidget(self.gt_label)
        gt_layout.addWidget(self.gt_text, 1)

        plot_row = QWidget()
        plot_layout = QHBoxLayout(plot_row)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addWidget(self.legend_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(plot_row)
        splitter.addWidget(self.table)
        splitter.addWidget(self.gt_box)
        splitter.setSizes([320, 160, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(second_row)
        layout.addWidget(splitter)

        state.result_changed.connect(self._result_changed)
        state.runs_changed.connect(self._result_changed)
        state.frame_changed.connect(self._frame_changed)
        state.eval_changed.connect(self._eval_changed)
        state.sequence_changed.connect(self._eval_changed)
        self._result_changed()
        self._eval_changed()

    # ---------------------------------------------------------------- user actions

    def _clicked(self, event) -> None:
        """A click anywhere on the plot goes to the frame under it."""
        if self.state.result is None or event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.plot.plotItem.vb
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        self.state.set_frame(int(round(box.mapSceneToView(event.scenePos()).x())))

    def _second_chosen(self, index: int) -> None:
        folder = self.second_combo.itemData(index)
        run = next((r for r in self.state.runs if str(r.folder) == folder), None)
        if self.controller is not None:
            self.controller.compare_with(run)
        else:
            self.state.set_compare(None, None)

    # ---------------------------------------------------------------- state -> display

    def _fill_second(self) -> None:
        self.second_combo.blockSignals(True)
        self.second_combo.clear()
        self.second_combo.addItem(NO_SECOND, "")
        for run in reversed(self.state.runs):
            if run != self.state.run:
                self.second_combo.addItem(f"{run.when}  {run.mode}  ({run.fused_px:.1f} px)", str(run.folder))
        compared = self.state.compare_run
        index = self.second_combo.findData(str(compared.folder)) if compared is not None else 0
        self.second_combo.setCurrentIndex(max(index, 0))
        self.second_combo.setEnabled(self.second_combo.count() > 1)
        self.second_combo.blockSignals(False)

    def _curve(self, key: tuple[str, int], x, y, label: str, pen) -> None:
        self.curves[key] = self.plot.plot(x, y, pen=pen)
        self.legend.addItem(self.curves[key], label)

    def _result_changed(self) -> None:
        self._fill_second()
        result, second = self.state.result, self.state.compare_result
        self.plot.clear()
        self.plot.addItem(self.marker)
        self.curves.clear()
        self.legend.clear()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        if result is None:
            self.plot.setTitle("Fit the recording to compare each view's own fit (IRV) with the fused fit (IEV)")
            return
        self.plot.setTitle("Per-view fit (IRV, dashed) and fused fit (IEV, solid)"
                           + (", other run's fused fit dotted" if second is not None else ""))
        frames = np.arange(result.num_frames)
        for v, name in enumerate(result.view_names):
            colour = view_colour(v)
            self._curve(("irv", v), frames, result.irv_reproj_px[:, v], f"{name} per-view",
                        pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            self._curve(("iev", v), frames, result.iev_reproj_px[:, v], f"{name} fused", pg.mkPen(colour, width=2))
            if second is not None and v < second.num_views:
                self._curve(("second", v), np.arange(second.num_frames), second.iev_reproj_px[:, v],
                            f"{name} other run", pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DotLine))
        columns = ["view", "per-view fit (IRV) px", "fused fit (IEV) px", "fused − per-view"]
        if second is not None:
            columns.append("other run: fused px")
        rows = [(str(name), result.irv_reproj_px[:, v], result.iev_reproj_px[:, v],
                 second.iev_reproj_px[:, v] if second is not None else None) for v, name in enumerate(result.view_names)]
        rows.append(("all views", result.irv_reproj_px, result.iev_reproj_px,
                     second.iev_reproj_px if second is not None else None))
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(rows))
        for r, (name, irv, iev, other) in enumerate(rows):
            irv_m, iev_m = _mean(irv), _mean(iev)
            cells = [name, _cell(irv_m), _cell(iev_m), _cell(iev_m - irv_m, "+.2f")]
            if other is not None:
                cells.append(_cell(_mean(other)))
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
        has_gt = info is not None and info.gt_path is not None
        self.gt_box.setVisible(has_gt)  # no ground truth, no panel
        if not has_gt:
            return
        if self.state.eval_report is None:
            self.gt_label.setText(f"Ground truth: {info.gt_path.name}" +
                                  (" — evaluating…" if self.state.result is not None else " — fit to evaluate"))
            self.gt_text.setPlainText("")
            return
        report = self.state.eval_report
        self.gt_label.setText(f"Against the ground truth ({info.gt_path.name}): {report['frames']} frames, "
                              f"{report['views']} views — the per-view (IRV) figures are the mean over views")
        self.gt_text.setPlainText(self.state.eval_table)

    # ---------------------------------------------------------------- for tests and tools

    def table_values(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]

    def legend_labels(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    def second_run(self) -> Run | None:
        return self.state.compare_run

"""The Runs tab: every fit of the open recording, kept (:mod:`core.io.runs`), with its mode,
model, options, time and reprojection error; click one to show it, put one beside it in the
comparison, add a folder that ``cmanet fit --out`` wrote, and read a run's details in plain words."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmanet_app.controller import Controller
from cmanet_app.jobs import adaptation_text
from core.io.runs import Run, best_run

COLUMNS = ("Run", "Fit mode", "Model", "Fused fit px", "Per-view fit px", "Took")
START_WORDS = {"optimize": "the optimizers' own start", "network": "the network's answer",
               "network+refine": "the network's answer"}


def _px(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def _mean(values) -> float:
    known = [v for v in values if not math.isnan(v)]
    return sum(known) / len(known) if known else math.nan


def run_details(run: Run) -> str:
    """How ``run`` was made and what it gave, in plain words."""
    s, opts = run.summary, run.settings.get("options", {})
    lines = [f"Run {run.name}, written {run.when}", f"Folder: {run.folder}", ""]
    model = Path(run.model).name if run.model else ("none" if run.mode == "optimize" else "unknown")
    lines.append(f"Fit mode: {run.mode}; model: {model}")
    if opts:
        height = opts.get("body_height_m")
        lines.append(f"Confidence threshold {opts.get('confidence_threshold', s.get('confidence_threshold', '?'))}, "
                     f"device {opts.get('device', '?')}, body height {f'{height} m' if height else 'not known (1.70 m)'}")
        for key, label in (("fit_config", "Fit settings file"), ("keypoints", "Imported keypoints"),
                           ("calibration", "Imported calibration")):
            if opts.get(key):
                lines.append(f"{label}: {opts[key]}")
        if opts.get("time_offsets_frames"):
            lines.append("Time offsets set by hand (frames): "
                         + ", ".join(f"{k} {v:+g}" for k, v in opts["time_offsets_frames"].items()))
        if opts.get("estimate_time_offsets"):
            lines.append("Time offsets estimated from the motion (Sync)")
    elif s.get("confidence_threshold") is not None:
        lines.append(f"Confidence threshold {s['confidence_threshold']} (made outside the app: no record of its other "
                     "options)")
    people = (s.get("person") or {}).get("people")
    if isinstance(people, list) and len(people) > 1:
        lines.append(f"People fitted: {len(people)}, in the same cameras (person 0 is the main one)")
    adapted = adaptation_text(s)
    if adapted:
        lines.append(f"Network adapted to this footage: {adapted}")
    if run.settings.get("seconds") is not None:
        lines.append(f"Took {run.settings['seconds']:.0f} s")
    chosen, starts = s.get("chosen"), s.get("start_losses") or {}
    if starts:
        listed = ", ".join(f"{START_WORDS.get(k, k)} {v:.2g}" for k, v in starts.items())
        picked = str(chosen).split(",")[0]
        lines.append(f"Start: the fused fit was started from {START_WORDS.get(picked, picked)} "
                     f"(how well each start explained the views, lower is better: {listed}).")
    elif chosen:
        lines.append(f"Start: {chosen}.")
    if chosen and "wide-angle" in str(chosen):
        lines.append("The first fit left frames unexplained, so it was fitted again from wide-angle focal lengths.")
    lines += ["", "Reprojection error (how far the fitted body lands from the detected points), per view:",
              f"{'view':10} {'per-view fit (IRV)':>20} {'fused fit (IEV)':>17}"]
    for view, (irv, iev) in run.per_view_px.items():
        lines.append(f"{view:10} {_px(irv):>17} px {_px(iev):>14} px")
    lines.append(f"{'all views':10} {_px(s.get('irv_reproj_px_mean', math.nan)):>17} px {_px(run.fused_px):>14} px")
    focal = s.get("focal_px") or {}
    if focal:
        lines += ["", "Focal lengths found: " + ", ".join(f"{k} {v:.0f} px" for k, v in focal.items())]
    return "\n".join(lines)


class RunsPanel(QWidget):
    compare_requested = Signal()  # the user asked to see a comparison

    def __init__(self, controller: Controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.state = controller.state

        intro = QLabel("Every fit is kept as a run. Click a run to show it; the best (lowest fused error) is marked ★.")
        intro.setWordWrap(True)
        intro.setStyleSheet("color: gray")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(3).setToolTip("Mean reprojection error of the fused fit (IEV) over every view")
        self.table.horizontalHeaderItem(4).setToolTip("Mean reprojection error of the per-view fits (IRV)")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellClicked.connect(lambda row, _col: self._clicked(row))

        self.compare_button = QPushButton("Compare with the shown run")
        self.compare_button.setToolTip("Put the selected run beside the shown one in the IRV vs IEV tab")
        self.compare_button.clicked.connect(self._compare)
        self.add_button = QPushButton("Add a result folder…")
        self.add_button.setToolTip("A folder written by 'cmanet fit SEQ --out FOLDER' for this recording")
        self.add_button.clicked.connect(self._add_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)

        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        font = QFont("Monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.details.setFont(font)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(intro)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.details)
        splitter.setSizes([300, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

        self.state.runs_changed.connect(self._fill)
        self.state.sequence_changed.connect(self._fill)
        self._fill()

    # ---------------------------------------------------------------- display

    def _fill(self) -> None:
        runs = list(reversed(self.state.runs))  # newest first
        best = best_run(runs)
        self.table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            shown = run == self.state.run
            compared = run == self.state.compare_run
            mark = "▶ " if shown else ("⇄ " if compared else "")
            model = Path(run.model).name if run.model else ("–" if run.mode == "optimize" else "?")
            irv = _mean([v[0] for v in run.per_view_px.values()])
            took = f"{run.settings['seconds']:.0f} s" if run.settings.get("seconds") is not None else "–"
            cells = (f"{mark}{run.when}", run.mode, model, _px(run.fused_px) + (" ★" if run == best else ""),
                     _px(irv), took)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(run.folder))
                item.setToolTip(str(run.folder))
                if shown:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
        has_seq = self.state.sequence is not None
        self.add_button.setEnabled(has_seq)
        self.compare_button.setEnabled(len(runs) > 1)
        current = self.selected_run() or self.state.run
        self.details.setPlainText(run_details(current) if current is not None else
                                  ("No runs yet: press Fit." if has_seq else ""))

    def run_at(self, row: int) -> Run | None:
        item = self.table.item(row, 0)
        if item is None:
            return None
        folder = item.data(Qt.ItemDataRole.UserRole)
        return next((r for r in self.state.runs if str(r.folder) == folder), None)

    def selected_run(self) -> Run | None:
        rows = {i.row() for i in self.table.selectedItems()}
        return self.run_at(rows.pop()) if len(rows) == 1 else None

    def row_of(self, run: Run) -> int:
        return next(r for r in range(self.table.rowCount()) if self.run_at(r) == run)

    # ---------------------------------------------------------------- actions

    def _clicked(self, row: int) -> None:
        run = self.run_at(row)
        if run is None:
            return
        self.details.setPlainText(run_details(run))
        if run != self.state.run:
            self.controller.show_run(run)

    def _compare(self) -> None:
        run = self.selected_run()
        if run is None or run == self.state.run:
            others = [r for r in reversed(self.state.runs) if r != self.state.run]
            run = others[0] if others else None
        if run is not None:
            self.controller.compare_with(run)
            self.compare_requested.emit()

    def _add_folder(self) -> None:
        from cmanet_app.widgets.dialogs import choose_folder

        folder = choose_folder(self, "A result folder of this recording ('cmanet fit --out')",
                               str(self.state.area or Path.home()))
        if folder:
            self.controller.add_run_folder(folder)

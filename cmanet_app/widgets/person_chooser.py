"""Which person is shown, when the shown result fitted several (``cmanet fit --people``): a row
above the views, hidden for a one-person result. Choosing forwards to
:meth:`cmanet_app.state.AppState.set_person`; the views' detections and overlays and the 3D panel
follow the state."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from cmanet_app.state import AppState
from core.io.results import FitResult


def person_label(index: int) -> str:
    """Numbered as ``cmanet export`` numbers its ``personN/`` folders (0: the main person)."""
    return "Person 0 (main)" if index == 0 else f"Person {index}"


def person_details(result: FitResult, index: int) -> str:
    """What the chooser says of one person: the views and frames they were fitted in."""
    if result.person_track is None and result.people_track is None:
        return ""
    track = result.person_track if index == 0 or result.people_track is None else result.people_track[index]
    seen = track >= 0  # (F, V): -1 where the person is not in that view
    views = [str(name) for name, any_frame in zip(result.view_names, seen.any(axis=0)) if any_frame]
    return f"seen by {len(views)} of {result.num_views} cameras ({', '.join(views)}) in {int(seen.any(axis=1).sum())} " \
           f"of {result.num_frames} frames"


class PersonChooser(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._fitted: FitResult | None = None
        self.combo = QComboBox()
        self.combo.setToolTip("The person drawn over the views and in the 3D panel (and exported as meshes); the fit "
                              "found them all in the same cameras")
        self.combo.currentIndexChanged.connect(self._chosen)
        self.count_label = QLabel("")
        label = QLabel("Person shown")
        label.setToolTip(self.combo.toolTip())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        layout.addWidget(self.count_label)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        state.result_changed.connect(self._result_changed)
        state.person_changed.connect(self._person_changed)
        self._fill()

    def _result_changed(self) -> None:
        if self.state.fitted is not self._fitted:  # else the same result, another person shown
            self._fill()

    def _fill(self) -> None:
        fitted = self._fitted = self.state.fitted
        count = self.state.num_people
        self.combo.blockSignals(True)  # refilling is not the person's choice
        self.combo.clear()
        for index in range(count):
            self.combo.addItem(person_label(index))
            details = person_details(fitted, index)
            if details:
                self.combo.setItemData(index, details, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(self.state.person if count else -1)
        self.combo.blockSignals(False)
        self.count_label.setText(f"{count} people fitted in the same cameras" if count > 1 else "")
        self.setVisible(count > 1)

    def _person_changed(self, index: int) -> None:
        if self.combo.currentIndex() != index:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)

    def _chosen(self, index: int) -> None:
        if index >= 0:
            self.state.set_person(index)

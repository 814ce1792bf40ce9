"""File > Export > Formats: which of ``cmanet export``'s formats to write, and where."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from core.io.export_formats import FORMATS
from core.io.results import FitResult

CHECKED = ("calib-toml", "trc", "bvh", "glb")


def unavailable(result: FitResult) -> dict[str, str]:
    """Formats this result cannot give, with the reason."""
    from core.io.export_calibration import is_static_rig

    out = {}
    if not is_static_rig(result):
        for fmt in ("calib-toml", "easymocap"):
            out[fmt] = "a per-frame fit (moving cameras) has no single calibration"
    if result.body_model != "smpl":
        out["smpl-npz"] = f"needs a fit with the smpl body model (this one used {result.body_model})"
    return out


class ExportDialog(QDialog):
    """A checkbox per format (disabled, with the reason, where the result cannot give it) and the
    output folder."""

    def __init__(self, result: FitResult, folder: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        missing = unavailable(result)
        grid = QGridLayout()
        self.boxes: dict[str, QCheckBox] = {}
        for row, (name, text) in enumerate(FORMATS.items()):
            box = QCheckBox(name)
            box.setChecked(name in CHECKED and name not in missing)
            box.setEnabled(name not in missing)
            label = QLabel(missing.get(name, text))
            label.setEnabled(name not in missing)
            box.setToolTip(missing.get(name, text))
            grid.addWidget(box, row, 0)
            grid.addWidget(label, row, 1)
            self.boxes[name] = box
        self.folder_edit = QLineEdit(folder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Into folder:"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        for box in self.boxes.values():
            box.toggled.connect(self._update)
        self.folder_edit.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(folder_row)
        layout.addWidget(buttons)
        self._update()

    def formats(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.boxes.items() if box.isChecked() and box.isEnabled())

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _update(self) -> None:
        self.ok_button.setEnabled(bool(self.formats()) and bool(self.folder_edit.text().strip()))

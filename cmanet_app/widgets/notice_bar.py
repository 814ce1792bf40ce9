"""A bar above the views for what a person should know about what is open -- what opening the
recording said (frame counts cut, frame rates differing...), results that could not be used, a
result too old to draw the per-view fits -- with the details one click away. Hidden when there is
nothing to say."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton, QWidget

from cmanet_app.state import AppState


class NoticeBar(QFrame):
    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("notice-bar")
        self.setStyleSheet("#notice-bar { background: rgb(92, 74, 28); border-radius: 3px; } "
                           "#notice-bar QLabel { color: rgb(255, 236, 190); }")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self.show_details)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setToolTip("Hide these notes")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.close_button)
        self.box: QMessageBox | None = None
        state.notices_changed.connect(self._update)
        self._update()

    def text(self) -> str:
        """Every notice, with its details, as one text (the Details box shows it)."""
        return "\n\n".join(f"{title}\n{details}" if details else title for title, details in self.state.notices)

    def _update(self) -> None:
        notices = self.state.notices
        if not notices:
            self.hide()
            return
        first = notices[0][0]
        more = f"  (and {len(notices) - 1} more)" if len(notices) > 1 else ""
        self.label.setText(f"⚠ {first}{more}")
        self.label.setToolTip(self.text())
        self.details_button.setVisible(len(notices) > 1 or any(d for _, d in notices))
        self.show()

    def show_details(self) -> None:
        self.box = QMessageBox(QMessageBox.Icon.Information, "About what is open", self.text(),
                               QMessageBox.StandardButton.Ok, self)
        self.box.open()

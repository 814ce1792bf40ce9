"""Every error the user should see goes through :class:`ErrorReporter`: a message box that does not
block (``QMessageBox.open``, so a failing worker or a test never hangs on ``exec``), and a record
of what was said (tests read ``reporter.messages``).

Bad input (:class:`core.errors.InputError`) is shown as its one-line message; anything else is a
bug and gets its traceback under "Show Details...".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class Report:
    title: str
    message: str
    details: str = ""
    level: str = "error"  # error, warning, info


def describe(exc: BaseException) -> str:
    """One line for the user: InputError's own message, else the exception type and text."""
    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}" if exc.filename else str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ErrorReporter(QObject):
    """Shows errors as non-blocking message boxes parented to ``parent_widget``."""

    reported = Signal(object)  # Report

    def __init__(self, parent_widget: QWidget | None = None, show_dialogs: bool = True):
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.show_dialogs = show_dialogs
        self.messages: list[Report] = []
        self.boxes: list[QMessageBox] = []

    def error(self, title: str, message: str, details: str = "") -> None:
        self._show(Report(title, message, details, "error"))

    def warning(self, title: str, message: str, details: str = "") -> None:
        self._show(Report(title, message, details, "warning"))

    def info(self, title: str, message: str) -> None:
        self._show(Report(title, message, "", "info"))

    def exception(self, title: str, exc: BaseException, traceback_text: str = "") -> None:
        """Report a failed action; bugs (not InputError) keep their traceback in the details."""
        details = "" if isinstance(exc, InputError) else traceback_text
        if details:
            log.error("%s: %s\n%s", title, exc, details)
        self._show(Report(title, describe(exc), details, "error"))

    def close_all(self) -> None:
        for box in list(self.boxes):
            box.close()
        self.boxes.clear()

    def _show(self, report: Report) -> None:
        self.messages.append(report)
        self.reported.emit(report)
        if not self.show_dialogs:
            return
        icon = {"error": QMessageBox.Icon.Critical, "warning": QMessageBox.Icon.Warning}.get(
            report.level, QMessageBox.Icon.Information)
        box = QMessageBox(icon, report.title, report.message, QMessageBox.StandardButton.Ok, self._parent_widget)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if report.details:
            box.setDetailedText(report.details)
        self.boxes.append(box)
        box.finished.connect(lambda _=0, b=box: self.boxes.remove(b) if b in self.boxes else None)
        box.open()  # window-modal but returns at once: the app keeps running behind it

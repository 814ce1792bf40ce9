"""File and folder choosers of the app: Qt's own dialog (the same on every desktop), which can
create folders, starting where the person is working (the shown run's folder for exports)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def _dialog(parent: QWidget | None, title: str, start: str | Path) -> QFileDialog:
    dialog = QFileDialog(parent, title)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # has "Create New Folder" everywhere
    dialog.setOption(QFileDialog.Option.ReadOnly, False)
    start = Path(start).expanduser()
    # A folder that does not exist yet (an export's default) opens at its nearest existing parent.
    folder = start
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    dialog.setDirectory(str(folder))
    return dialog


def folder_dialog(parent: QWidget | None, title: str, start: str | Path) -> QFileDialog:
    """A folder chooser opening at ``start`` (or its nearest existing parent)."""
    dialog = _dialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return dialog


def save_dialog(parent: QWidget | None, title: str, start_file: str | Path, name_filter: str) -> QFileDialog:
    """A "save as" chooser opening in ``start_file``'s folder with its name filled in."""
    dialog = _dialog(parent, title, Path(start_file).parent)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilter(name_filter)
    dialog.selectFile(Path(start_file).name)
    return dialog


def _chosen(dialog: QFileDialog) -> str:
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def choose_folder(parent: QWidget | None, title: str, start: str | Path) -> str:
    """The folder chosen ("" when cancelled)."""
    return _chosen(folder_dialog(parent, title, start))


def choose_save_file(parent: QWidget | None, title: str, start_file: str | Path, name_filter: str) -> str:
    """The file name chosen to write ("" when cancelled)."""
    return _chosen(save_dialog(parent, title, start_file, name_filter))

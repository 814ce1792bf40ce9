"""Settings that persist between sessions (QSettings): last folder, recent sequences, overlay
toggles, device, confidence threshold, chosen result areas, added run folders and the run shown per
sequence, window geometry.

``CMANET_APP_SETTINGS=/path/file.ini`` stores them in that INI file instead of the platform's
place (tests point it at a temporary file so they never touch the user's settings).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "CMANet"
APPLICATION = "CMANet Studio"
SETTINGS_ENV = "CMANET_APP_SETTINGS"
MAX_RECENT = 10


def _as_bool(value: Any, default: bool) -> bool:
    # INI files give strings back ("true"/"false"); native backends give bools.
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class AppSettings:
    """Typed accessors over one QSettings store."""

    def __init__(self, path: str | Path | None = None):
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)

    @property
    def file_name(self) -> str:
        return self._qs.fileName()

    def sync(self) -> None:
        self._qs.sync()

    # ------------------------------------------------------------------ generic

    def get_bool(self, key: str, default: bool) -> bool:
        return _as_bool(self._qs.value(key), default)

    def get_float(self, key: str, default: float) -> float:
        try:
            return float(self._qs.value(key, default))
        except (TypeError, ValueError):
            return default

    def get_str(self, key: str, default: str = "") -> str:
        value = self._qs.value(key, default)
        return default if value is None else str(value)

    def set(self, key: str, value: Any) -> None:
        self._qs.setValue(key, value)

    # ------------------------------------------------------------------ folders

    @property
    def last_folder(self) -> str:
        return self.get_str("paths/last_folder", str(Path.home()))

    @last_folder.setter
    def last_folder(self, folder: str | Path) -> None:
        self.set("paths/last_folder", str(folder))

    def recent_sequences(self) -> list[str]:
        value = self._qs.value("paths/recent", [])
        if isinstance(value, str):  # a one-element list comes back as a plain string from INI files
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, folder: str | Path) -> list[str]:
        folder = str(folder)
        recent = [folder] + [f for f in self.recent_sequences() if f != folder]
        recent = recent[:MAX_RECENT]
        self.set("paths/recent", recent)
        return recent

    def remove_recent(self, folder: str | Path) -> None:
        self.set("paths/recent", [f for f in self.recent_sequences() if f != str(folder)])

    def result_folder_for(self, sequence_key: str) -> str | None:
        """The result folder the user chose for a sequence (keyed by a hash of its path)."""
        value = self.get_str(f"results/{sequence_key}", "")
        return value or None

    def set_result_folder_for(self, sequence_key: str, folder: str | Path | None) -> None:
        if folder is None:
            self._qs.remove(f"results/{sequence_key}")
        else:
            self.set(f"results/{sequence_key}", str(folder))

    def run_folders_for(self, sequence_key: str) -> list[str]:
        """Result folders the user added to a sequence's runs (``cmanet fit --out`` folders)."""
        value = self._qs.value(f"runs/{sequence_key}/added", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_run_folder_for(self, sequence_key: str, folder: str | Path) -> None:
        folders = self.run_folders_for(sequence_key)
        if str(folder) not in folders:
            self.set(f"runs/{sequence_key}/added", folders + [str(folder)])

    def shown_run_for(self, sequence_key: str) -> str:
        """The folder of the run last shown for a sequence ("" for none: the newest is shown)."""
        return self.get_str(f"runs/{sequence_key}/shown", "")

    def set_shown_run_for(self, sequence_key: str, folder: str | Path) -> None:
        self.set(f"runs/{sequence_key}/shown", str(folder))

    # ------------------------------------------------------------------ window

    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, data: QByteArray) -> None:
        self.set("window/geometry", data)

"""Atomic file writes: a reader sees either the old file or the complete new one, never half.

Each writer fills a temporary file in the destination's own folder (so the final ``os.replace`` is a
rename on one file system) and renames it over the destination only once everything is on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    The parent folder is created if needed. On an exception the temporary file is removed and
    ``path`` is left untouched.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes only ('w', 'wb', 'wt'), got mode {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: it makes the file 0600, and the final file should get the
    # permissions a plain open() gives (0666 less the umask).
    while True:
        tmp_name = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path for a writer that wants a file name (Open3D, OpenCV): same name, in a
    hidden folder beside ``path`` (writers that record the file's name see the real one); it
    replaces ``path`` when the ``with`` block ends without error, else is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        folder = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    tmp = folder / path.name
    try:
        yield tmp
        if not tmp.is_file():
            raise OSError(f"{path}: the writer wrote nothing")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: str | Path, data: Any, indent: int = 2) -> Path:
    """Write ``data`` as JSON (numpy scalars and arrays become plain numbers and lists) atomically."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return atomic_write_text(path, json.dumps(data, indent=indent, default=plain) + "\n")


def atomic_write_npz(path: str | Path, /, **arrays: Any) -> Path:
    """Write ``arrays`` into the ``.npz`` file ``path`` atomically; returns ``path``.

    ``path`` is used exactly as given (numpy's habit of appending ``.npz`` does not apply).
    """
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


def atomic_write_npz_compressed(path: str | Path, /, **arrays: Any) -> Path:
    """Like :func:`atomic_write_npz`, zip-compressed (smaller, slower)."""
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return Path(path)

"""Atomic file writes: a reader sees either the old file or the complete new one, never half.

Each writer fills a temporary file in the destination's own folder (so the final ``os.replace`` is a
rename on one file system) and renames it over the destination only once everything is on disk.
A write that fails (a read-only folder, a full disk) removes its temporary file, leaves the old
file as it was and raises :class:`~core.errors.InputError` naming the destination. A process killed
outright (``kill -9``) cannot remove its temporary file: the name carries the writer's process id,
and :func:`remove_stale_temporaries` deletes those whose writer is gone.
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

from core.errors import InputError


def _temporary_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.NAME.PID-TOKEN.tmp``."""
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _writer_pid(name: str) -> int | None:
    """The process id in a temporary name made by :func:`_temporary_name`, else None."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    tag = name[:-len(".tmp")].rpartition(".")[2]
    pid, dash, token = tag.partition("-")
    return int(pid) if dash and pid.isdigit() and len(token) == 8 else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files (and :func:`atomic_path` folders) in ``folder`` whose writing
    process no longer runs (killed before it could clean up); returns what was removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        pid = _writer_pid(entry.name)
        if pid is None or _process_alive(pid):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                for leftover in entry.iterdir():
                    leftover.unlink()
                entry.rmdir()
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def write_failure(exc: OSError, path: Path, *temporaries: Path) -> InputError | None:
    """The one-line error for a write of ``path`` that failed with ``exc`` (read-only folder, full
    disk, no permission), or None when ``exc`` is about another file (not this write's)."""
    if exc.filename is not None and Path(exc.filename) not in (path, path.parent, *temporaries):
        return None
    return InputError(f"cannot write: {exc.strerror or exc}", path)


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror or exc}", path.parent) from None


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    The parent folder is created if needed. On an exception the temporary file is removed and
    ``path`` is left untouched; a failed write of the file itself (read-only folder, full disk)
    raises InputError naming ``path``.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes only ('w', 'wb', 'wt'), got mode {mode!r}")
    path = Path(path)
    _make_parent(path)
    # Not tempfile.mkstemp: it makes the file 0600, and the final file should get the
    # permissions a plain open() gives (0666 less the umask).
    while True:
        tmp_name = _temporary_name(path)
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise write_failure(exc, path, tmp_name) or exc from None
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        failure = write_failure(exc, path, tmp_name) if isinstance(exc, OSError) else None
        if failure is not None:
            raise failure from None
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path for a writer that wants a file name (Open3D, OpenCV): same name, in a
    hidden folder beside ``path`` (writers that record the file's name see the real one); it
    replaces ``path`` when the ``with`` block ends without error, else is removed."""
    path = Path(path)
    _make_parent(path)
    while True:
        folder = _temporary_name(path)
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise write_failure(exc, path, folder) or exc from None
    tmp = folder / path.name
    try:
        yield tmp
        if not tmp.is_file():
            raise InputError("the writer wrote nothing (full disk?)", path)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_failure(exc, path, folder, tmp) or exc from None
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

"""Output folders: never inside an input (inputs are never modified), and able to take the
outputs (created, writable, room on the disk) before long work starts."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError
from core.io.atomic import remove_stale_temporaries


def check_outside_inputs(out: str | Path, inputs: str | Path | Iterable[str | Path], what: str = "the result folder",
                         inputs_name: str = "the input sequence") -> Path:
    """``out`` resolved (``~`` expanded); InputError naming ``out`` when it is one of the
    ``inputs`` folders or lies inside one, e.g. "the result folder must be outside the input
    sequence (inputs are never modified)"."""
    out = Path(out).expanduser().resolve()
    roots = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    for root in roots:
        root = Path(root).expanduser().resolve()
        if out == root or root in out.parents:
            raise InputError(f"{what} must be outside {inputs_name} (inputs are never modified)", out)
    return out


def _size_text(num_bytes: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "bytes" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return f"{num_bytes:.1f} GB"


def free_bytes(folder: str | Path) -> int:
    """Bytes an unprivileged writer may still put on ``folder``'s file system."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def prepare_output_folder(out: str | Path, need_bytes: int = 0) -> Path:
    """Create the output folder ``out`` (and its parents) and check, before any long work, that
    it can take the outputs: a file can be written in it and about ``need_bytes`` fit on its disk.
    Temporary files left by a killed writer are removed. Returns ``out``; InputError naming it
    when it cannot be created (e.g. under ``/proc``), is not a folder, is read-only, or its disk
    is too full."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror or exc}", out) from None
    probe = out / f".cmanet-write-test-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write in this folder: {exc.strerror or exc}", out) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    remove_stale_temporaries(out)
    free = free_bytes(out)
    if free < need_bytes:
        raise InputError(f"only {_size_text(free)} free on its disk; the outputs need about {_size_text(need_bytes)}", out)
    return out

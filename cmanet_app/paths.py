"""Where the app keeps what it computes: one result area per sequence (keyed by the sequence's
path; its runs, :mod:`core.io.runs`), under the user cache dir (``$CMANET_CACHE_DIR``, else ``~/.cache/cmanet``,
the same place :mod:`core.detect.cache` uses)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.detect.cache import cache_base_dir


def sequence_key(seq_root: str | Path) -> str:
    """A short stable key for a sequence folder (its resolved path, hashed)."""
    return hashlib.sha256(str(Path(seq_root).expanduser().resolve()).encode()).hexdigest()[:16]


def default_result_dir(seq_root: str | Path) -> Path:
    """``<cache>/results/<name>-<key>/``: a sequence's result area (its runs under ``runs/``) unless
    the user chose another."""
    root = Path(seq_root).expanduser().resolve()
    return cache_base_dir() / "results" / f"{root.name}-{sequence_key(root)}"

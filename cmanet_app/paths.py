"""Where the app keeps what it computes: one result folder per sequence (keyed by the sequence's
path) and the demo, all under the user cache dir (``$CMANET_CACHE_DIR``, else ``~/.cache/cmanet``,
the same place :mod:`core.detect.cache` uses)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.detect.cache import cache_base_dir


def sequence_key(seq_root: str | Path) -> str:
    """A short stable key for a sequence folder (its resolved path, hashed)."""
    return hashlib.sha256(str(Path(seq_root).expanduser().resolve()).encode()).hexdigest()[:16]


def default_result_dir(seq_root: str | Path) -> Path:
    """``<cache>/results/<key>/``: where a sequence's result lives unless the user chose a folder.
    ``cmanet fit SEQ --out`` that folder writes the same files."""
    root = Path(seq_root).expanduser().resolve()
    return cache_base_dir() / "results" / f"{root.name}-{sequence_key(root)}"


def demo_dir() -> Path:
    """``<cache>/demo/``: the built-in demo sequence (``sequence/``) and its result (``result/``)."""
    return cache_base_dir() / "demo"

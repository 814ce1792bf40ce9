"""Cached detections of a sequence: ``<cache_dir>/detections.npz``.

Keys: ``keypoints2d`` (F, V, 17, 3) float32 (x, y px, confidence), ``view_names`` (V,),
``frame_indices`` (F,), ``keypoint_names`` (17,), ``image_sizes`` (V, 2), and what the cache is
valid for: ``fingerprint`` (the sequence's :meth:`~core.io.MultiViewSequence.fingerprint`),
``model_complexity``, ``detector`` (name and version) and ``format_version``.

The cache never goes inside the input folder: by default it lives under
``$CMANET_CACHE_DIR/detections/<hash of the sequence path>`` (``~/.cache/cmanet`` when unset).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.io.atomic import atomic_write_npz
from core.keypoints import COCO17_NAMES

log = logging.getLogger(__name__)

DETECTIONS_NPZ = "detections.npz"
FORMAT_VERSION = 1


def cache_base_dir() -> Path:
    """``$CMANET_CACHE_DIR``, else ``$XDG_CACHE_HOME/cmanet``, else ``~/.cache/cmanet``."""
    if os.environ.get("CMANET_CACHE_DIR"):
        return Path(os.environ["CMANET_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cmanet"


def default_cache_dir(seq_root: str | Path) -> Path:
    """The folder that caches the detections of the sequence at ``seq_root``: one per sequence path."""
    key = hashlib.sha256(str(Path(seq_root).expanduser().resolve()).encode()).hexdigest()[:16]
    return cache_base_dir() / "detections" / key


def check_outside(cache_dir: Path, seq_root: Path) -> Path:
    """``cache_dir`` resolved; InputError when it lies inside the (never written) input folder."""
    cache_dir = Path(cache_dir).expanduser().resolve()
    seq_root = Path(seq_root).resolve()
    if cache_dir == seq_root or seq_root in cache_dir.parents:
        raise InputError(
            f"is inside the input sequence {seq_root}; inputs are never written, choose an output folder outside it",
            cache_dir,
        )
    return cache_dir


def write_detections(path: Path, keypoints2d: np.ndarray, meta: dict[str, np.ndarray]) -> Path:
    """Write the cache file atomically. ``meta`` holds the identity keys (see module doc)."""
    return atomic_write_npz(
        path,
        keypoints2d=np.asarray(keypoints2d, dtype=np.float32),
        keypoint_names=np.array(COCO17_NAMES),
        format_version=np.int64(FORMAT_VERSION),
        **meta,
    )


def read_detections(path: Path, meta: dict[str, np.ndarray]) -> np.ndarray | None:
    """The cached ``keypoints2d`` if ``path`` exists and was made for exactly ``meta``; else None.

    A damaged or outdated cache is not an error, just a miss (it gets rewritten).
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                return None
            for key, expected in meta.items():
                if key not in data.files or not np.array_equal(data[key], np.asarray(expected)):
                    log.debug("%s: cache miss on %s", path, key)
                    return None
            keypoints = data["keypoints2d"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: ignoring unreadable detection cache (%s)", path, exc)
        return None
    expected_shape = (len(meta["frame_indices"]), len(meta["view_names"]), len(COCO17_NAMES), 3)
    if keypoints.shape != expected_shape:
        return None
    return keypoints

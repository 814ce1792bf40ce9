"""The detection cache: every person in every frame of every view, kept in the user cache.

Layout, under ``$CMANET_CACHE_DIR/detections`` (``~/.cache/cmanet/detections`` when unset)::

    <view key>/view.json        what the entries are (for people reading the folder)
    <view key>/f000123.npz      the people in source frame 123 of that view (one entry per frame)
    hashes/<path key>.json      content hashes of files already read (skips hashing them again)

A sequence's detections are the entries of its views. A view's key hashes the *content* of its
frames (the video file's bytes, or every image's) and the detector's identity, never a path: a
moved or renamed sequence keeps its detections, a changed video gets new ones, and two sequences
that share a video share its entries. Each entry is written atomically as soon as its frame is
detected, so an interrupted detection (Ctrl-C, SIGTERM, kill -9) continues where it stopped. An
entry that cannot be read is a miss (detected again), never an error. Nothing is ever written into
the input folder.

Entry keys: ``keypoints`` (P, 17, 3) float32 (x, y pixels, confidence), ``boxes`` (P, 4),
``scores`` (P,), ``rois`` (P, 5) (where the detector follows each person next), ``frame`` (the
source frame number) and ``format_version``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from core.detect.people import ROI_SIZE, ImagePeople
from core.io.atomic import atomic_write_json, atomic_write_npz
from core.io.image_folder import list_images
from core.keypoints import NUM_KEYPOINTS

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
DETECTIONS_DIR = "detections"
_HASHES_DIR = "hashes"
_CHUNK = 1 << 20


def cache_base_dir() -> Path:
    """``$CMANET_CACHE_DIR``, else ``$XDG_CACHE_HOME/cmanet``, else ``~/.cache/cmanet``."""
    if os.environ.get("CMANET_CACHE_DIR"):
        return Path(os.environ["CMANET_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "cmanet"


def detections_dir(cache_root: str | Path | None = None) -> Path:
    """The folder holding every view's entries: ``cache_root`` or ``<cache base>/detections``."""
    return Path(cache_root).expanduser().resolve() if cache_root is not None else cache_base_dir() / DETECTIONS_DIR


# ------------------------------------------------------------------------------ content keys


def view_files(path: Path, kind: str) -> list[Path]:
    """The files whose content a view's frames come from: the video, or its images in order."""
    return [Path(path)] if kind == "video" else list_images(Path(path))


def _file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_hash(files: list[Path], hashes_dir: Path) -> str:
    """sha256 over the bytes of ``files`` in order (each file's digest, then the list's).

    Digests are remembered per file path, size and modification time in ``hashes_dir``, so a file
    is read once; any change of size or time hashes it again.
    """
    files = [Path(f).resolve() for f in files]
    parent_key = hashlib.sha256("\n".join(str(f.parent) for f in files[:1]).encode()).hexdigest()[:24]
    memo_path = hashes_dir / f"{parent_key}.json"
    try:
        memo = json.loads(memo_path.read_text())
        if not isinstance(memo, dict):
            memo = {}
    except (OSError, ValueError):
        memo = {}
    digest = hashlib.sha256(b"cmanet-view-content-v1\n")
    changed = False
    for path in files:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        known = memo.get(str(path))
        if isinstance(known, list) and len(known) == 3 and known[:2] == stamp and isinstance(known[2], str):
            file_digest = known[2]
        else:
            file_digest = _file_digest(path)
            memo[str(path)] = [*stamp, file_digest]
            changed = True
        digest.update(file_digest.encode() + b"\n")
    if changed:
        try:
            atomic_write_json(memo_path, memo)
        except OSError as exc:  # a memo that cannot be kept only costs time
            log.debug("cannot keep content hashes in %s: %s", memo_path, exc)
    return digest.hexdigest()


def view_key(content: str, detector: str) -> str:
    """The folder name of one view's entries: its content hash and the detector's identity."""
    return hashlib.sha256(f"{content}\n{detector}".encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------ entries


def entry_path(view_dir: Path, frame: int) -> Path:
    return view_dir / f"f{int(frame):06d}.npz"


def write_entry(view_dir: Path, frame: int, people: ImagePeople) -> Path:
    """Write one frame's people atomically."""
    return atomic_write_npz(
        entry_path(view_dir, frame),
        keypoints=np.asarray(people.keypoints, np.float32).reshape(-1, NUM_KEYPOINTS, 3),
        boxes=np.asarray(people.boxes, np.float32).reshape(-1, 4),
        scores=np.asarray(people.scores, np.float32).reshape(-1),
        rois=np.asarray(people.rois, np.float32).reshape(-1, ROI_SIZE),
        frame=np.int64(frame),
        format_version=np.int64(FORMAT_VERSION),
    )


def read_entry(view_dir: Path, frame: int) -> ImagePeople | None:
    """One frame's cached people, or None when there is no usable entry (missing, damaged,
    another format): a miss, never an error."""
    path = entry_path(view_dir, frame)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION or int(data["frame"]) != int(frame):
                return None
            people = ImagePeople(data["keypoints"].astype(np.float32), data["boxes"].astype(np.float32),
                                 data["scores"].astype(np.float32), data["rois"].astype(np.float32))
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: ignoring a damaged detection cache entry (%s)", path, exc)
        return None
    count = len(people)
    shapes_ok = (people.keypoints.shape == (count, NUM_KEYPOINTS, 3) and people.boxes.shape == (count, 4)
                 and people.scores.shape == (count,) and people.rois.shape == (count, ROI_SIZE))
    if not shapes_ok or not np.isfinite(people.keypoints).all():
        log.warning("%s: ignoring a damaged detection cache entry (bad shapes or values)", path)
        return None
    return people


def describe_view(view_dir: Path, source: Path, detector: str, frames: int) -> None:
    """Write ``view.json`` (for people looking into the cache; entries never depend on it)."""
    info = {"source": str(source), "detector": detector, "frames": int(frames), "format_version": FORMAT_VERSION}
    try:
        existing = json.loads((view_dir / "view.json").read_text())
    except (OSError, ValueError):
        existing = None
    if existing != info:
        atomic_write_json(view_dir / "view.json", info)

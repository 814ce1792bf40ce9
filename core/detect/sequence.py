"""2D keypoints for every frame and view of a sequence: given, cached, or detected."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.detect.cache import (
    DETECTIONS_NPZ,
    check_outside,
    read_detections,
    write_detections,
)
from core.detect.mediapipe_pose import PoseDetector, ensure_model, mediapipe_version
from core.errors import CancelledError
from core.io.sequence import MultiViewSequence
from core.keypoints import NUM_KEYPOINTS

log = logging.getLogger(__name__)


def detector_name() -> str:
    """Identifies the detector in caches: detections from another version are recomputed."""
    return f"mediapipe-pose {mediapipe_version()}"


def _cache_meta(seq: MultiViewSequence, model_complexity: int) -> dict[str, np.ndarray]:
    meta = {
        "fingerprint": np.array(seq.fingerprint()),
        "model_complexity": np.int64(model_complexity),
        "detector": np.array(detector_name()),
        "view_names": np.array(seq.view_names),
        "frame_indices": np.asarray(seq.frame_indices, dtype=np.int64),
        "image_sizes": seq.image_sizes,
    }
    # Views whose frames are not the first view's (time offsets, frame rates) read other frames.
    if not np.array_equal(seq.view_frame_indices, np.broadcast_to(seq.frame_indices[:, None], seq.view_frame_indices.shape)):
        meta["view_frame_indices"] = seq.view_frame_indices
    return meta


def run_detector(
    seq: MultiViewSequence,
    model_complexity: int = 1,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = True,
) -> np.ndarray:
    """Run MediaPipe on every frame of every view (no cache). Returns (F, V, 17, 3) float32.

    Each view gets its own detector run over its frames in order; videos use MediaPipe's tracking
    (consecutive frames), image folders detect in every image (they need not be consecutive).
    ``progress(done, total)`` is called after each image; CancelledError as soon as
    ``should_cancel()`` is true.
    """
    ensure_model(model_complexity)
    total = seq.num_frames * seq.num_views
    keypoints = np.zeros((seq.num_frames, seq.num_views, NUM_KEYPOINTS, 3), dtype=np.float32)
    done = 0
    if progress is not None:
        progress(0, total)
    with tqdm(total=total, desc="detect", unit="img", disable=not show_progress_bar, leave=False) as bar:
        for view, kind in enumerate(seq.view_kinds):
            bar.set_postfix_str(seq.view_names[view])
            with PoseDetector(model_complexity, tracking=kind == "video") as detector:
                for i, frame in enumerate(seq.iter_view_frames(view)):
                    if should_cancel is not None and should_cancel():
                        raise CancelledError(f"detection cancelled after {done} of {total} images")
                    keypoints[i, view] = detector(frame)
                    done += 1
                    bar.update(1)
                    if progress is not None:
                        progress(done, total)
    return keypoints


def cached_detections(seq: MultiViewSequence, cache_dir: str | Path, model_complexity: int = 1) -> np.ndarray | None:
    """(F, V, 17, 3) keypoints given with the sequence or cached in ``cache_dir`` for this very
    input and model complexity, without running the detector; None when there are none yet."""
    if seq.given_keypoints is not None:
        return np.array(seq.given_keypoints, dtype=np.float32)
    return read_detections(check_outside(Path(cache_dir), seq.root) / DETECTIONS_NPZ, _cache_meta(seq, model_complexity))


def detect_sequence(
    seq: MultiViewSequence,
    cache_dir: str | Path,
    model_complexity: int = 1,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    show_progress_bar: bool = True,
    force: bool = False,
) -> np.ndarray:
    """The sequence's 2D keypoints, (F, V, 17, 3) float32: x, y in pixels, confidence in [0, 1],
    on the sequence's timeline (each view's frames nearest to a moment are detected, then moved to
    it: :meth:`~core.io.MultiViewSequence.to_timeline`).

    In order of preference: the keypoints given with the sequence (``keypoints.npz``; no detector
    runs), ``cache_dir/detections.npz`` if it was made for this very input and model complexity
    (skipped with ``force``), else MediaPipe (see :func:`run_detector`), whose result is then
    written to the cache atomically. ``cache_dir`` must lie outside the input folder (see
    :func:`core.detect.cache.default_cache_dir`). A missed person is zeros with confidence 0.
    """
    if model_complexity not in (0, 1, 2):
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
    if seq.given_keypoints is not None:
        log.info("using the keypoints given in %s", seq.root / "keypoints.npz")
        return np.array(seq.given_keypoints, dtype=np.float32)

    cache_path = check_outside(Path(cache_dir), seq.root) / DETECTIONS_NPZ
    meta = _cache_meta(seq, model_complexity)
    if not force:
        cached = read_detections(cache_path, meta)  # meta fingerprints the inputs once for lookup and write
        if cached is not None:
            log.info("using cached detections %s", cache_path)
            if progress is not None:
                total = seq.num_frames * seq.num_views
                progress(total, total)
            return seq.to_timeline(cached)

    keypoints = run_detector(seq, model_complexity, progress, should_cancel, show_progress_bar)
    # The fingerprint is taken again: if an input changed during detection, the cache must not
    # claim to match the new files.
    if _cache_meta(seq, model_complexity)["fingerprint"] == meta["fingerprint"]:
        write_detections(cache_path, keypoints, meta)
        log.info("wrote detections %s", cache_path)
    else:
        log.warning("%s changed during detection; not caching the detections", seq.root)
    return seq.to_timeline(keypoints)

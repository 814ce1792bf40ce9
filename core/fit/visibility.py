"""Where the person is seen, checked before fitting: a fit needs frames that show the person in at
least two views (else InputError); frames, views and joints without the person, and a person too
small to measure, are named in warnings (the fit goes on, the user knows which parts are guesses).

A view sees the person in a frame when at least :data:`MIN_JOINTS` detections are confident (above
the fit's threshold), the rule the fit's own losses use.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.keypoints import COCO17_NAMES

log = logging.getLogger(__name__)

MIN_JOINTS = 2
# A person whose confident joints span fewer pixels than this (median over the frames that see
# them) is too small for the detector's few-pixel errors: the fit's scale and pose become noise.
TINY_PERSON_PX = 40.0


def frame_ranges(frames: np.ndarray) -> str:
    """Sorted frame numbers as short ranges: ``[2, 3, 4, 9]`` -> ``"2-4, 9"``."""
    frames = np.unique(np.asarray(frames, dtype=np.int64))
    parts, start = [], None
    for i, frame in enumerate(frames):
        if start is None:
            start = frame
        if i + 1 == len(frames) or frames[i + 1] != frame + 1:
            parts.append(f"{start}" if start == frame else f"{start}-{frame}")
            start = None
    return ", ".join(parts)


def person_extent_px(keypoints2d: np.ndarray, threshold: float) -> np.ndarray:
    """(...,) the larger side of the box around the confident joints of ``(..., 17, 3)``
    detections, pixels; NaN where fewer than :data:`MIN_JOINTS` are confident."""
    seen = keypoints2d[..., 2] > threshold
    xy = keypoints2d[..., :2]
    low = np.where(seen[..., None], xy, np.inf).min(-2)
    high = np.where(seen[..., None], xy, -np.inf).max(-2)
    with np.errstate(invalid="ignore"):
        extent = (high - low).max(-1)
    return np.where(seen.sum(-1) >= MIN_JOINTS, extent, np.nan)


def check_person_seen(keypoints2d: np.ndarray, threshold: float, view_names: list[str],
                      frame_indices: np.ndarray | None = None, where: str | Path | None = None) -> None:
    """Check ``(F, V, 17, 3)`` detections before fitting: InputError naming ``where`` when no frame
    shows the person in two views; warnings for frames seen by fewer than two views (their 3D pose
    is not measured), views that never see the person, joints no view sees, a tiny person."""
    keypoints2d = np.asarray(keypoints2d, dtype=np.float64)
    frames = keypoints2d.shape[0]
    numbers = np.arange(frames) if frame_indices is None else np.asarray(frame_indices)
    confident = keypoints2d[..., 2] > threshold
    view_sees = confident.sum(-1) >= MIN_JOINTS  # (F, V)
    usable = view_sees.sum(-1) >= 2
    if not usable.any():
        seeing = [n for n, seen in zip(view_names, view_sees.any(0)) if seen]
        found = f"only {', '.join(seeing)} ever sees" if seeing else "no view sees"
        raise InputError(f"no frame shows the person in two views or more ({found} a person with "
                         f"{MIN_JOINTS}+ joints above confidence {threshold:g}): nothing to fit", where)
    label = f"{where}: " if where is not None else ""
    if not usable.all():
        missing = numbers[~usable]
        log.warning("%sthe person is in fewer than two views in frames %s (%d of %d): their 3D pose is not "
                    "measured (reprojection error NaN in the result)", label, frame_ranges(missing), len(missing), frames)
    for v, name in enumerate(view_names):
        if not view_sees[:, v].any():
            log.warning("%s%s never sees the person: its camera cannot be placed (its pose in the result is a guess)", label, name)
    unseen_joints = ~confident.any(axis=(0, 1))
    if unseen_joints.any():
        names = ", ".join(n for n, unseen in zip(COCO17_NAMES, unseen_joints) if unseen)
        log.warning("%sno view ever sees %s (cut off or hidden): their positions come from the body model", label, names)
    extent = person_extent_px(keypoints2d, threshold)  # (F, V)
    for v, name in enumerate(view_names):
        if view_sees[:, v].any():
            size = float(np.nanmedian(extent[:, v]))
            if size < TINY_PERSON_PX:
                log.warning("%sthe person spans only about %.0f px in %s: too small for reliable keypoints, "
                            "expect a poor fit", label, size, name)

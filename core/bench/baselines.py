"""The rows a benchmark sets beside CMANet's fits: a naive single-view baseline and the calibrated
upper bound a Pose2Sim user gets.

* naive: the one view whose IRV fit reprojects best (chosen from the fit's own reprojection
  errors, without ground truth), its skeleton scored alone;
* calibrated: the true cameras (intrinsics and world->camera poses) given; robust triangulation of
  the detections with them (:func:`core.geometry.bundle.triangulate_keypoints`, gaps filled by
  linear interpolation in time, as Pose2Sim does), and the same body fit with the cameras held
  fixed (``FitInputs.extrinsics``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from core.fit.inputs import FitInputs, KnownExtrinsics
from core.geometry.bundle import triangulate_keypoints

# Pose2Sim's defaults for a reliable 2D point and a view that agrees with the others.
TRIANGULATION_THRESHOLD = 0.3
TRIANGULATION_MAX_ERROR_PX = 20.0


def naive_view(per_view: dict[str, dict]) -> str:
    """The view whose IRV fit reprojects best (``per_view``: view name -> figures with ``reproj_px``)."""
    return min(per_view, key=lambda name: per_view[name]["reproj_px"])


def calibrated_inputs(inputs: FitInputs, rotation: np.ndarray, translation: np.ndarray,
                      focal: np.ndarray | None = None) -> FitInputs:
    """``inputs`` with every camera known: world->camera ``rotation`` (V, 3, 3) and ``translation``
    (V, 3) held fixed, focal lengths (V,) given (None: the inputs' own, taken as known)."""
    views = len(inputs.view_names)
    focal = inputs.focal if focal is None else np.asarray(focal, dtype=np.float32)
    known = np.ones(views, dtype=bool)
    extrinsics = KnownExtrinsics(np.asarray(rotation, np.float32), np.asarray(translation, np.float32), known)
    return dataclasses.replace(inputs, focal=focal, focal_known=known, extrinsics=extrinsics)


def fill_gaps(points: np.ndarray) -> np.ndarray:
    """(F, K, 3) with NaN joints filled by linear interpolation over time (held at the ends); a
    joint never found stays NaN."""
    out = points.copy()
    frames = np.arange(points.shape[0])
    for k in range(points.shape[1]):
        found = ~np.isnan(points[:, k]).any(axis=-1)
        if found.any() and not found.all():
            for c in range(3):
                out[:, k, c] = np.interp(frames, frames[found], points[found, k, c])
    return out


def triangulate_calibrated(keypoints2d: np.ndarray, projections: np.ndarray) -> tuple[np.ndarray, float]:
    """Robust triangulation of (F, V, K, 3) pinhole detections with (V, 3, 4) projections
    (:func:`core.geometry.bundle.projection_matrices`): (F, K, 3) metres with gaps filled
    (:func:`fill_gaps`) and the fraction of joints triangulated directly."""
    frames, joints = keypoints2d.shape[0], keypoints2d.shape[2]
    points = triangulate_keypoints(projections, keypoints2d, TRIANGULATION_THRESHOLD, TRIANGULATION_MAX_ERROR_PX).points
    points = points.reshape(frames, joints, 3)
    found = float((~np.isnan(points).any(axis=-1)).mean())
    return fill_gaps(points), found

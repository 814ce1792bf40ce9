"""Two views of a static rig: the fundamental matrix from people's joints, and how well a pair of
detections agrees with it (no calibration needed: it needs neither focal lengths nor poses)."""

from __future__ import annotations

import cv2
import numpy as np

MIN_POINTS = 16


def fit_fundamental(points_a: np.ndarray, points_b: np.ndarray, threshold_px: float) -> tuple[np.ndarray | None, np.ndarray]:
    """Robust fundamental matrix from (N, 2) corresponding pixels of two views.

    Returns (F (3, 3) mapping view-a points to view-b epipolar lines, or None; (N,) inlier mask).
    """
    points_a = np.ascontiguousarray(points_a, dtype=np.float64)
    points_b = np.ascontiguousarray(points_b, dtype=np.float64)
    inliers = np.zeros(len(points_a), dtype=bool)
    if len(points_a) < MIN_POINTS:
        return None, inliers
    matrix, mask = cv2.findFundamentalMat(points_a, points_b, cv2.USAC_MAGSAC, threshold_px, 0.999, 2000)
    if matrix is None or matrix.shape != (3, 3) or mask is None:
        return None, inliers
    return matrix, mask.ravel().astype(bool)


def epipolar_distance(matrix: np.ndarray, points_a: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """(...,) symmetric point-to-epipolar-line distance (pixels) of corresponding (..., 2) points."""
    a = np.concatenate([points_a, np.ones(points_a.shape[:-1] + (1,))], axis=-1)
    b = np.concatenate([points_b, np.ones(points_b.shape[:-1] + (1,))], axis=-1)
    line_b = a @ matrix.T  # lines in view b
    line_a = b @ matrix  # lines in view a
    residual = np.abs(np.sum(b * line_b, axis=-1))
    to_b = residual / np.maximum(np.linalg.norm(line_b[..., :2], axis=-1), 1e-12)
    to_a = residual / np.maximum(np.linalg.norm(line_a[..., :2], axis=-1), 1e-12)
    return 0.5 * (to_a + to_b)


def pose_epipolar_distance(matrix: np.ndarray, keypoints_a: np.ndarray, keypoints_b: np.ndarray,
                           conf: float = 0.5, min_joints: int = 4) -> np.ndarray:
    """(...,) median epipolar distance (pixels) over the joints confident in both of two people's
    (..., 17, 3) keypoints (view a, view b); inf with fewer than ``min_joints`` such joints."""
    both = (keypoints_a[..., 2] > conf) & (keypoints_b[..., 2] > conf)
    distance = epipolar_distance(matrix, keypoints_a[..., :2].astype(np.float64), keypoints_b[..., :2].astype(np.float64))
    distance = np.where(both, distance, np.nan)
    enough = both.sum(-1) >= min_joints
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(enough[..., None], distance, 0.0), axis=-1)
    return np.where(enough, median, np.inf)

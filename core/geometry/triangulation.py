"""Calibrated triangulation of 2D keypoints: what a calibrated pipeline (Pose2Sim, anipose) does,
and what the real-footage benchmark takes as its reference.

Points (undistorted first: :mod:`core.geometry.distortion`) are triangulated by confidence-weighted DLT, and made robust by dropping, one
at a time, the view that reprojects worst while it is off by more than a threshold and enough
views remain (a detector that picked another person, or a swapped side, in one view).
"""

from __future__ import annotations

import numpy as np


def triangulate_weighted(projections: np.ndarray, points2d: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted DLT for N points seen by V cameras.

    Args:
        projections: (V, 3, 4) projection matrices; points2d: (N, V, 2) undistorted pixels;
        weights: (N, V) per-view weights (0 = not seen).
    Returns:
        (N, 3) points (NaN where fewer than two views have weight).
    """
    x, y = points2d[..., 0:1], points2d[..., 1:2]
    rows = np.concatenate([x * projections[None, :, 2] - projections[None, :, 0],
                           y * projections[None, :, 2] - projections[None, :, 1]], axis=1)  # (N, 2V, 4)
    w = np.concatenate([weights, weights], axis=1)[..., None]
    # Rows are normalised so that a view's weight, not its distance, sets its influence.
    norm = np.linalg.norm(rows, axis=-1, keepdims=True).clip(min=1e-12)
    _, _, vt = np.linalg.svd(rows / norm * w)
    homogeneous = vt[:, -1]
    points = homogeneous[:, :3] / homogeneous[:, 3:4]
    points[(weights > 0).sum(1) < 2] = np.nan
    return points


def project_points(projections: np.ndarray, points3d: np.ndarray) -> np.ndarray:
    """(N, V, 2) pixels of (N, 3) points seen by (V, 3, 4) projection matrices."""
    homogeneous = np.concatenate([points3d, np.ones_like(points3d[:, :1])], axis=1)
    projected = np.einsum("vij,nj->nvi", projections, homogeneous)
    return projected[..., :2] / projected[..., 2:3]


def reprojection_px(projections: np.ndarray, points3d: np.ndarray, points2d: np.ndarray) -> np.ndarray:
    """(N, V) pixel distance of (N, 3) points projected by (V, 3, 4) against (N, V, 2)."""
    return np.linalg.norm(project_points(projections, points3d) - points2d, axis=-1)


def triangulate_robust(projections: np.ndarray, points2d: np.ndarray, confidence: np.ndarray,
                       threshold: float = 0.3, max_error_px: float = 20.0,
                       min_views: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Robust triangulation of N points seen by V calibrated cameras.

    Views with confidence at or below ``threshold`` are left out. Each point takes the largest set
    of its views whose triangulation reprojects within ``max_error_px`` in all of them (the
    smallest mean error among sets of that size), as Pose2Sim does: leaving out views one at a time
    by their error fails when one bad view drags the point towards itself. A point with no such
    set of at least ``min_views`` views is NaN.

    Args:
        projections: (V, 3, 4); points2d: (N, V, 2) undistorted pixels; confidence: (N, V).
    Returns:
        (N, 3) points and (N, V) bool: the views each point was triangulated from.
    """
    from itertools import combinations

    n, views = confidence.shape
    seen = confidence > threshold
    weights = np.where(seen, confidence, 0.0)
    best = np.full((n, 3), np.nan)
    best_used = np.zeros((n, views), dtype=bool)
    done = np.zeros(n, dtype=bool)
    for size in range(views, min_views - 1, -1):
        best_error = np.full(n, np.inf)
        for subset in combinations(range(views), size):
            mask = np.zeros(views, dtype=bool)
            mask[list(subset)] = True
            used = seen & mask
            candidate = ~done & (used.sum(1) == size)
            if not candidate.any():
                continue
            points = triangulate_weighted(projections, points2d[candidate], weights[candidate] * mask)
            error = np.where(used[candidate], reprojection_px(projections, np.nan_to_num(points), points2d[candidate]), np.nan)
            worst, mean = np.nanmax(error, axis=1), np.nanmean(error, axis=1)
            better = (worst <= max_error_px) & (mean < best_error[candidate])
            rows = np.nonzero(candidate)[0][better]
            best[rows], best_used[rows], best_error[rows] = points[better], used[candidate][better], mean[better]
        done |= np.isfinite(best_error)
        if done.all():
            break
    return best, best_used

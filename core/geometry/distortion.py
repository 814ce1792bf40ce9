"""Lens distortion of pinhole cameras, OpenCV's model: coefficients ``[k1, k2, p1, p2(, k3)]``
(radial k, tangential p) acting on normalised image coordinates ``(u - c) / f``.

Fitting works on ideal (undistorted) pixels; what is shown over the images and exported as 2D
points is distorted back into the original image.
"""

from __future__ import annotations

import numpy as np


def camera_matrix(focal: float, principal: np.ndarray) -> np.ndarray:
    """(3, 3) K of a camera with square pixels."""
    return np.array([[focal, 0.0, principal[0]], [0.0, focal, principal[1]], [0.0, 0.0, 1.0]], dtype=np.float64)


# Undistortion inverts the lens model iteratively; OpenCV's default 5 iterations leave up to
# 0.06 px at k1 = -0.2 near the image corners.
_UNDISTORT_ITERATIONS = 100


def undistort_pixels(points: np.ndarray, matrix: np.ndarray, distortions: np.ndarray) -> np.ndarray:
    """(..., 2) pixels of one camera with lens distortion removed (same K)."""
    import cv2

    if not np.any(distortions):
        return points.astype(np.float64)
    flat = np.ascontiguousarray(points.reshape(-1, 1, 2), dtype=np.float64)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, _UNDISTORT_ITERATIONS, 1e-10)
    undistorted = cv2.undistortPointsIter(flat, matrix, np.asarray(distortions, dtype=np.float64), None, matrix, criteria)
    return undistorted.reshape(points.shape)


def distort_pixels(points: np.ndarray, matrix: np.ndarray, distortions: np.ndarray) -> np.ndarray:
    """(..., 2) ideal pixels of one camera -> the pixels its distorted lens shows."""
    import cv2

    if not np.any(distortions):
        return points.astype(np.float64)
    flat = points.reshape(-1, 2).astype(np.float64)
    normalized = np.concatenate([(flat - matrix[:2, 2]) / np.diag(matrix)[:2], np.ones((len(flat), 1))], axis=1)
    projected, _ = cv2.projectPoints(normalized, np.zeros(3), np.zeros(3), matrix, np.asarray(distortions, dtype=np.float64))
    return projected.reshape(points.shape)


def _per_view(keypoints2d: np.ndarray, focal: np.ndarray, principal: np.ndarray, distortions: np.ndarray, fn) -> np.ndarray:
    out = np.array(keypoints2d, dtype=np.float32, copy=True)
    for v in range(out.shape[1]):
        if np.any(distortions[v]):
            matrix = camera_matrix(float(focal[v]), np.asarray(principal[v], dtype=np.float64))
            out[:, v, :, :2] = fn(out[:, v, :, :2], matrix, distortions[v])
    return out


def undistort_keypoints(keypoints2d: np.ndarray, focal: np.ndarray, principal: np.ndarray,
                        distortions: np.ndarray) -> np.ndarray:
    """(F, V, K, 3) detections (x, y px, confidence) with each view's distortion removed.
    focal: (V,); principal: (V, 2); distortions: (V, 4 or 5). Confidence is kept."""
    return _per_view(keypoints2d, focal, principal, distortions, undistort_pixels)


def distort_keypoints(keypoints2d: np.ndarray, focal: np.ndarray, principal: np.ndarray,
                      distortions: np.ndarray) -> np.ndarray:
    """(F, V, K, 3) ideal-pixel keypoints put back into each view's distorted image (the inverse
    of :func:`undistort_keypoints`)."""
    return _per_view(keypoints2d, focal, principal, distortions, distort_pixels)

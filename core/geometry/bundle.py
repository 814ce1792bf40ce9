"""A static rig of pinhole cameras checked against, and refined on, the 2D keypoints of several
recordings: how well it explains them (triangulation residual) and bundle adjustment.

The rig is ``rotation`` (V, 3, 3) world->camera, ``translation`` (V, 3), ``focal`` (V,) and
``principal`` (V, 2) pixels; keypoints are (F, V, K, 3) pixels and confidence, lens distortion
already removed. Points come from :func:`core.geometry.triangulation.triangulate_robust`, so a
view that sees someone else, or a swapped side, is left out of the point it disagrees with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.geometry.triangulation import reprojection_px, triangulate_robust


def projection_matrices(rotation: np.ndarray, translation: np.ndarray, focal: np.ndarray,
                        principal: np.ndarray) -> np.ndarray:
    """(V, 3, 4) ``K [R | t]`` of pinhole cameras with square pixels."""
    views = len(focal)
    matrix = np.zeros((views, 3, 3))
    matrix[:, 0, 0] = matrix[:, 1, 1] = focal
    matrix[:, :2, 2] = principal
    matrix[:, 2, 2] = 1.0
    return matrix @ np.concatenate([rotation, translation[:, :, None]], axis=2)


@dataclass(frozen=True)
class PinholeRig:
    """A static rig of pinhole cameras with square pixels: rotation (V, 3, 3) world->camera,
    translation (V, 3) metres, focal (V,) and principal (V, 2) pixels."""

    rotation: np.ndarray
    translation: np.ndarray
    focal: np.ndarray
    principal: np.ndarray

    @property
    def projections(self) -> np.ndarray:
        """(V, 3, 4) ``K [R | t]``."""
        return projection_matrices(self.rotation, self.translation, self.focal, self.principal)


@dataclass
class Triangulated:
    """A recording's keypoints triangulated by a rig: N = F * K points.

    observed: (N, V, 3) pixels and confidence; points: (N, 3) (NaN where fewer than ``min_views``
    views agree); used: (N, V) the views each point was triangulated from; residual_px: (N, V)
    distance of the reprojected point from each detection.
    """

    observed: np.ndarray
    points: np.ndarray
    used: np.ndarray
    residual_px: np.ndarray


def triangulate_keypoints(projections: np.ndarray, keypoints2d: np.ndarray, threshold: float, max_error_px: float,
                          min_views: int = 2) -> Triangulated:
    """Robust triangulation of every (frame, keypoint) of (F, V, K, 3) detections. A view whose
    camera has the point behind it does not count as agreeing (its mirrored projection can land
    on the detection); a point left with fewer than ``min_views`` views is NaN."""
    views = keypoints2d.shape[1]
    observed = np.asarray(keypoints2d, dtype=np.float64).transpose(0, 2, 1, 3).reshape(-1, views, 3)
    points, used = triangulate_robust(projections, observed[..., :2], observed[..., 2], threshold=threshold,
                                      max_error_px=max_error_px, min_views=min_views)
    homogeneous = np.concatenate([np.nan_to_num(points), np.ones((len(points), 1))], axis=1)
    in_front = np.einsum("vj,nj->nv", projections[:, 2], homogeneous) > 0  # K's last row is (0, 0, 1)
    used &= in_front
    points[used.sum(axis=1) < min_views] = np.nan
    used[np.isnan(points).any(axis=1)] = False
    residual = reprojection_px(projections, np.nan_to_num(points), observed[..., :2])
    return Triangulated(observed, points, used, residual)


@dataclass
class Explained:
    """How well a rig explains a recording's detections: ``error_px``, the mean over confident
    detections of their distance to the point triangulated from the views that agree on it,
    capped at the outlier distance (a detection no point explains counts the cap); ``fraction``:
    the share of confident detections that a point explains. Comparable between rigs on the
    same detections, not between recordings."""

    error_px: float
    fraction: float


def explained(projections: np.ndarray, keypoints2d: np.ndarray, threshold: float, max_error_px: float,
              min_views: int = 2) -> Explained:
    """How well the rig of (V, 3, 4) ``projections`` explains (F, V, K, 3) detections whose
    confidence is above ``threshold``; a view further than ``max_error_px`` from a point is not
    explained by it."""
    tri = triangulate_keypoints(projections, keypoints2d, threshold, max_error_px, min_views)
    seen = tri.observed[..., 2] > threshold
    if not seen.any():
        return Explained(float("nan"), 0.0)
    capped = np.where(tri.used, np.minimum(tri.residual_px, max_error_px), max_error_px)
    return Explained(float(capped[seen].mean()), float((tri.used & seen).sum() / seen.sum()))


def _rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """(V, 3, 3) rotations of (V, 3) axis-angle vectors (Rodrigues)."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    axis = rotvec / np.maximum(angle, 1e-12)
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    zero = np.zeros_like(x)
    cross = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(-1, 3, 3)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * cross + (1.0 - c) * cross @ cross


def centre_spread(rotation: np.ndarray, translation: np.ndarray) -> float:
    """The size of a rig: the mean distance of its (V,) camera centres from their mean."""
    centres = -np.einsum("vji,vj->vi", rotation, translation)
    return float(np.linalg.norm(centres - centres.mean(0), axis=1).mean())


def bundle_adjust(rotation: np.ndarray, translation: np.ndarray, focal: np.ndarray, principal: np.ndarray,
                  sequences: list[np.ndarray], threshold: float, max_error_px: float, robust_px: float,
                  estimate_focal: bool = False, focal_sigma: float = 0.2, min_views: int = 2,
                  max_evaluations: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rig refined on the detections of several recordings, (F_i, V, K, 3) each.

    The keypoints are triangulated with the starting rig (each point from the views that agree on
    it); then the cameras and every point are adjusted together to minimise the
    confidence-weighted soft-L1 reprojection error (scale ``robust_px``). The first camera's pose
    and the spread of the camera centres are held, which keeps the starting rig's world and
    scale (the detections fix neither). ``estimate_focal``: refine the focal lengths too, with a
    log-normal prior of width ``focal_sigma`` around the start. Returns (rotation, translation,
    focal); the start unchanged when no point is seen by enough views.
    """
    from scipy.optimize import least_squares
    from scipy.sparse import coo_matrix

    rotation, translation = np.asarray(rotation, np.float64), np.asarray(translation, np.float64)
    focal, principal = np.asarray(focal, np.float64), np.asarray(principal, np.float64)
    projections = projection_matrices(rotation, translation, focal, principal)
    point_ids, view_ids, pixels, weights, starts = [], [], [], [], []
    count = 0
    for keypoints in sequences:
        tri = triangulate_keypoints(projections, keypoints, threshold, max_error_px, min_views)
        valid = ~np.isnan(tri.points).any(axis=1)
        index = np.full(len(valid), -1)
        index[valid] = np.arange(int(valid.sum())) + count
        n, v = np.nonzero(tri.used & valid[:, None])
        point_ids.append(index[n])
        view_ids.append(v)
        pixels.append(tri.observed[n, v, :2])
        weights.append(np.sqrt(tri.observed[n, v, 2]))
        starts.append(tri.points[valid])
        count += int(valid.sum())
    if count == 0:
        return rotation, translation, focal
    point_ids, view_ids = np.concatenate(point_ids), np.concatenate(view_ids)
    pixels, weights, points0 = np.concatenate(pixels), np.concatenate(weights), np.concatenate(starts)

    views = len(focal)
    poses = 6 * (views - 1)  # the first camera's pose is held
    cameras = poses + (views if estimate_focal else 0)
    spread0 = centre_spread(rotation, translation)
    log_focal0 = np.log(focal)
    gauge_weight = 100.0 * np.sqrt(len(view_ids))

    def unpack(x: np.ndarray):
        pose = np.concatenate([np.zeros((1, 6)), x[:poses].reshape(-1, 6)])
        rot = _rotvec_to_matrix(pose[:, :3]) @ rotation
        log_focal = log_focal0 + (x[poses:cameras] if estimate_focal else 0.0)
        return rot, translation + pose[:, 3:], log_focal, x[cameras:].reshape(-1, 3)

    def residuals(x: np.ndarray) -> np.ndarray:
        rot, trans, log_focal, points = unpack(x)
        cam = np.einsum("nij,nj->ni", rot[view_ids], points[point_ids]) + trans[view_ids]
        projected = cam[:, :2] / np.maximum(cam[:, 2:3], 1e-6) * np.exp(log_focal)[view_ids, None] + principal[view_ids]
        parts = [((projected - pixels) * weights[:, None]).ravel(),
                 [gauge_weight * (centre_spread(rot, trans) / spread0 - 1.0)]]
        if estimate_focal:
            parts.append(np.sqrt(len(view_ids) / views) * (log_focal - log_focal0) / focal_sigma)
        return np.concatenate(parts)

    # Which residuals each parameter moves: an observation's two rows depend on its camera's and
    # its point's parameters; the spread row on every pose; a focal prior row on its focal.
    obs = np.arange(len(view_ids))
    rows, cols = [], []

    def depends(row_ids: np.ndarray, col_ids: np.ndarray) -> None:
        rows.append(row_ids)
        cols.append(col_ids)

    moving = view_ids > 0
    for k in range(6):
        for r in (0, 1):
            depends(2 * obs[moving] + r, 6 * (view_ids[moving] - 1) + k)
    for k in range(3):
        for r in (0, 1):
            depends(2 * obs + r, cameras + 3 * point_ids + k)
    depends(np.full(poses, 2 * len(obs)), np.arange(poses))
    if estimate_focal:
        for r in (0, 1):
            depends(2 * obs + r, poses + view_ids)
        depends(2 * len(obs) + 1 + np.arange(views), poses + np.arange(views))
    total_rows = 2 * len(obs) + 1 + (views if estimate_focal else 0)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    sparsity = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(total_rows, cameras + 3 * count)).tocsr()
    sparsity.data[:] = 1

    x0 = np.concatenate([np.zeros(cameras), points0.ravel()])
    solution = least_squares(residuals, x0, jac_sparsity=sparsity, loss="soft_l1", f_scale=robust_px, x_scale="jac",
                             method="trf", max_nfev=max_evaluations)
    rot, trans, log_focal, _ = unpack(solution.x)
    return rot, trans, np.exp(log_focal) if estimate_focal else focal

"""Drawing meshes over a view, without Qt (numpy + OpenCV, called from a worker thread).

Mesh overlays are rasterised here rather than with an Open3D renderer: projecting a body
(~14k vertices) and filling its ~14k front-facing triangles with OpenCV takes ~30 ms for a
640x480 view and ~50 ms at 1920x1080 on one CPU core (cmanet_app/bench.py), versus ~70-300 ms
per view for an offscreen Filament render. Triangles are back-face culled, painted far to near
in depth slices, and flat-shaded in a few grey levels (one ``cv2.fillPoly`` call per slice and
level), which is exactly what a semi-transparent overlay needs.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import torch

from core.geometry.camera import MIN_DEPTH, project
from core.geometry.distortion import camera_matrix, distort_pixels
from core.render.shading import shade

# Per-view colours (RGB): view v uses VIEW_COLOURS[v % len]. IEV (one fused body) has its own.
VIEW_COLOURS: tuple[tuple[int, int, int], ...] = (
    (66, 135, 245), (245, 130, 48), (60, 180, 75), (230, 25, 75), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40),
)
IEV_COLOUR = (255, 212, 84)  # gold: stands out on people, floors and the per-view colours
BLANK_COLOUR = (38, 40, 46)
MESH_ALPHA = 0.55
# Larger frames are shown downscaled (overlays stay in source pixels): a view panel in the grid
# is rarely wider than this, and decoding, drawing and uploading scale with the pixel count.
MAX_DISPLAY_SIDE = 1024

_SHADE_LEVELS = 12
_DEPTH_SLICES = 16
_MIN_DEPTH = 0.05
# Direction towards the light in camera coordinates: from above-left of the camera, so the body's
# relief reads clearly.
_LIGHT = np.array([-0.35, -0.55, -1.0]) / np.linalg.norm([-0.35, -0.55, -1.0])


def view_colour(view: int) -> tuple[int, int, int]:
    return VIEW_COLOURS[view % len(VIEW_COLOURS)]


def display_scale(width: int, height: int, max_side: int = MAX_DISPLAY_SIDE) -> float:
    """Factor source pixels are divided by for display (1 when the frame is small enough)."""
    return max(1.0, max(width, height) / max_side)


def blank_canvas(width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 background for a view without images (keypoints-only sequences)."""
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BLANK_COLOUR
    return canvas


def irv_camera(result, frame: int, view: int) -> tuple[float, np.ndarray] | None:
    """(focal px, principal point px) of the camera view ``view``'s IRV body of ``frame`` was
    fitted with -- its own, not the fused (IEV) one -- or None for a format-1 result, which does
    not keep it (its IRV bodies cannot be drawn where they belong)."""
    if result.irv_cam_f is None:
        return None
    return float(result.irv_cam_f[frame, view]), np.asarray(result.cam_c[frame, view])


def to_camera(points_world: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``X_cam = R X_world + t`` for (N, 3) points."""
    return points_world @ np.asarray(R).T + np.asarray(t)


def project_points(points_cam: np.ndarray, focal: float, principal: np.ndarray, small: bool = False,
                   distortions: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) pixels of camera-frame points, with core's own pinhole projection, then the lens's
    ``distortions`` (OpenCV order) when given: the original image's pixels. ``small``: the same
    formula in numpy (for a handful of points torch's per-call overhead dominates)."""
    if small:
        depth = np.maximum(points_cam[:, 2:3], MIN_DEPTH)
        uv = points_cam[:, :2] / depth * focal + np.asarray(principal)
    else:
        uv = project(torch.as_tensor(points_cam, dtype=torch.float32), torch.tensor(float(focal)),
                     torch.as_tensor(np.asarray(principal), dtype=torch.float32)).numpy()
    if distortions is not None and np.any(distortions):
        uv = distort_pixels(uv, camera_matrix(float(focal), np.asarray(principal, dtype=np.float64)), distortions)
    return uv


def rasterize_mesh(points_cam: np.ndarray, faces: np.ndarray, focal: float, principal: np.ndarray,
                   size: tuple[int, int], colour: tuple[int, int, int], scale: float = 1.0,
                   distortions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flat-shaded mesh seen by a pinhole camera (with its lens ``distortions``, if any): (H, W, 3)
    uint8 colour layer and (H, W) uint8 mask, at ``size`` (width, height) in display pixels
    (source pixels divided by ``scale``)."""
    width, height = size
    layer = np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.uint8)
    tri = points_cam[faces]  # (T, 3, 3)
    ok = (tri[:, :, 2] > _MIN_DEPTH).all(1)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    centre = tri.mean(1)
    ok &= (normal * centre).sum(1) < 0  # facing the camera
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return layer, mask
    n = normal[idx] / np.linalg.norm(normal[idx], axis=1, keepdims=True).clip(1e-12)
    level = np.minimum((shade(n, _LIGHT, ambient=0.35, key=0.65) * _SHADE_LEVELS).astype(np.int32), _SHADE_LEVELS - 1)
    order = np.argsort(-centre[idx, 2], kind="stable")  # far to near (painter's algorithm)
    idx, level = idx[order], level[order]
    uv = project_points(points_cam, focal, principal, distortions=distortions) / scale
    # Sub-pixel precision: fillPoly with shift=2 takes coordinates in quarter pixels.
    pts = np.round(uv[faces[idx]] * 4).clip(-(2**28), 2**28).astype(np.int32)
    base = np.asarray(colour, np.float64)
    tints = [tuple(int(c) for c in np.clip(base * (lv + 0.5) / _SHADE_LEVELS * 1.25, 0, 255)) for lv in range(_SHADE_LEVELS)]
    # One fill per (depth slice, shade level), slices far to near: the triangles of a group made
    # contiguous by a stable sort (which keeps them far to near within it).
    bounds = np.linspace(0, idx.size, _DEPTH_SLICES + 1).astype(np.int64)
    group = (np.searchsorted(bounds, np.arange(idx.size), side="right") - 1) * _SHADE_LEVELS + level
    by_group = np.argsort(group, kind="stable")
    group, pts = group[by_group], pts[by_group]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1, group.size]
    for lo, hi in itertools.pairwise(starts):
        cv2.fillPoly(layer, list(pts[lo:hi]), tints[group[lo] % _SHADE_LEVELS], lineType=cv2.LINE_8, shift=2)
    # The mask is where a front face was painted (every tint keeps a channel above 0): the same
    # silhouette as filling every face again, for half the filling.
    np.greater(layer.max(axis=2), 0, out=mask.view(bool))
    mask *= 255
    return layer, mask


def blend(base: np.ndarray, layer: np.ndarray, mask: np.ndarray, alpha: float = MESH_ALPHA) -> np.ndarray:
    """``base`` with ``layer`` over it where ``mask`` is set, at opacity ``alpha`` (in place)."""
    where = mask > 0
    if where.any():
        mixed = base[where].astype(np.float32) * (1.0 - alpha) + layer[where].astype(np.float32) * alpha
        base[where] = mixed.astype(np.uint8)
    return base


def resize_for_display(image: np.ndarray, scale: float) -> np.ndarray:
    if scale <= 1.0:
        return image
    height, width = image.shape[:2]
    return cv2.resize(image, (max(1, round(width / scale)), max(1, round(height / scale))), interpolation=cv2.INTER_AREA)

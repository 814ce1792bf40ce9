"""Pinhole cameras: per-view focal length (pixels) and principal point, OpenCV axes
(x right, y down, z forward). World->camera: ``X_cam = R X_world + t``."""

from __future__ import annotations

import torch

# Depth below which points are treated as being at the camera (keeps projection finite while a
# fit passes through bad states).
MIN_DEPTH = 1e-3


def default_focal_px(width: float, height: float) -> float:
    """A focal length guess from the image size: a ~55 degree field of view across the longer side.

    Typical of phones, webcams and action cameras in their non-wide modes; good enough to start
    a fit, and refined by ``--estimate-focal`` when the sequence has enough motion.
    """
    return 0.96 * max(width, height)


def default_principal_point(width: float, height: float) -> tuple[float, float]:
    """The image centre, in pixels."""
    return width / 2.0, height / 2.0


def project(points: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor) -> torch.Tensor:
    """Perspective projection of camera-frame points.

    Args:
        points: (..., N, 3) points in the camera frame, metres.
        focal: (...,) focal length in pixels.
        principal: (..., 2) principal point in pixels.
    Returns:
        (..., N, 2) pixel coordinates.
    """
    depth = points[..., 2:3].clamp(min=MIN_DEPTH)
    return points[..., :2] / depth * focal[..., None, None] + principal[..., None, :]


def transform_points(points: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """``R X + t`` for (..., N, 3) points, (..., 3, 3) rotations, (..., 3) translations."""
    return points @ rotation.transpose(-1, -2) + translation[..., None, :]


def camera_centers(rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """(..., 3) camera centres in the world, ``-R^T t``, from world->camera (..., 3, 3), (..., 3)."""
    return -(rotation.transpose(-1, -2) @ translation[..., None])[..., 0]


def intrinsics_matrix(focal: torch.Tensor, principal: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) K matrices from (...,) focal lengths and (..., 2) principal points."""
    zero = torch.zeros_like(focal)
    one = torch.ones_like(focal)
    rows = [
        torch.stack([focal, zero, principal[..., 0]], dim=-1),
        torch.stack([zero, focal, principal[..., 1]], dim=-1),
        torch.stack([zero, zero, one], dim=-1),
    ]
    return torch.stack(rows, dim=-2)

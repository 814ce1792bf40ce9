"""The reprojection loss (paper Eq. 1 and 4) and the priors, shared by optimizers and networks.

Residuals are measured in units of the person's size in that view (the height of the box around
the confident keypoints), so that a far camera and a near one, or a 640x480 and a 4K camera,
weigh the same; reported errors (:func:`reprojection_error_px`) stay in pixels.
"""

from __future__ import annotations

import torch

from core.keypoints import COCO17_FLIP

# Below this many pixels a person box is treated as degenerate (no usable detection).
MIN_PERSON_SIZE_PX = 8.0


def confidence_weights(keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(..., K) weights: the confidence where it exceeds ``threshold`` (lambda), else 0."""
    conf = keypoints2d[..., 2]
    return torch.where(conf > threshold, conf, torch.zeros_like(conf))


def person_scale(keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(...,) the person's size in pixels: the larger side of the box around confident keypoints."""
    valid = keypoints2d[..., 2] > threshold
    big = torch.finfo(keypoints2d.dtype).max
    xy = keypoints2d[..., :2]
    lo = torch.where(valid[..., None], xy, torch.full_like(xy, big)).amin(dim=-2)
    hi = torch.where(valid[..., None], xy, torch.full_like(xy, -big)).amax(dim=-2)
    size = (hi - lo).amax(dim=-1)
    return torch.where(valid.sum(-1) >= 2, size, torch.zeros_like(size)).clamp(min=MIN_PERSON_SIZE_PX)


def geman_mcclure(squared: torch.Tensor, sigma: float) -> torch.Tensor:
    """Robust penalty of squared residuals: ~r^2 for small r, saturating at sigma^2 for outliers."""
    s2 = sigma * sigma
    return s2 * squared / (squared + s2)


def reprojection_loss(
    projected: torch.Tensor,
    keypoints2d: torch.Tensor,
    threshold: float,
    robust_sigma: float | None = 0.1,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Confidence-filtered, confidence-weighted reprojection loss per item.

    Args:
        projected: (..., K, 2) predicted pixels.
        keypoints2d: (..., K, 3) detections (x, y, confidence).
        threshold: lambda; detections at or below it are ignored.
        robust_sigma: Geman-McClure scale in person-size units (None: plain squared error).
        scale: (...,) person size in pixels (default: from the detections).
    Returns:
        (...,) sum over keypoints of weight * rho(|residual / scale|^2), divided by the sum of
        weights (0 where nothing is visible).
    """
    weights = confidence_weights(keypoints2d, threshold)
    if scale is None:
        scale = person_scale(keypoints2d, threshold)
    squared = ((projected - keypoints2d[..., :2]) / scale[..., None, None]).square().sum(-1)
    if robust_sigma is not None:
        squared = geman_mcclure(squared, robust_sigma)
    total = weights.sum(-1)
    return (weights * squared).sum(-1) / total.clamp(min=1e-6)


def reprojection_error_px(projected: torch.Tensor, keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(...,) mean confidence-weighted reprojection distance in pixels (NaN where nothing visible)."""
    weights = confidence_weights(keypoints2d, threshold)
    distance = (projected - keypoints2d[..., :2]).norm(dim=-1)
    total = weights.sum(-1)
    error = (weights * distance).sum(-1) / total.clamp(min=1e-6)
    return torch.where(total > 0, error, torch.full_like(error, float("nan")))


def flip_keypoints(keypoints2d: torch.Tensor) -> torch.Tensor:
    """(..., 17, C) detections with every left and right keypoint exchanged."""
    return keypoints2d[..., list(COCO17_FLIP), :]


def smoothness_loss(points: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Mean squared second difference (acceleration) along the time dimension ``dim``."""
    if points.shape[dim] < 3:
        return points.new_zeros(())
    second = points.narrow(dim, 2, points.shape[dim] - 2) - 2 * points.narrow(dim, 1, points.shape[dim] - 2) + points.narrow(dim, 0, points.shape[dim] - 2)
    return second.square().sum(-1).mean()


def shape_prior_loss(shape: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(...,) squared distance of the shape parameters from the average body."""
    return (shape - mean).square().sum(-1)

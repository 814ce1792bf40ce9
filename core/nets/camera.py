"""Scale-free camera translation (HMR/SPIN/CLIFF): what the regressors predict instead of metres.

A network sees a person box, not the whole image, so it predicts the translation as a
weak-perspective scale ``s`` and an offset ``o`` of the body origin in box units:
``u = (x_px - box_centre) / box_size ~= s * X_xy + o`` for camera-frame points ``X`` near the body.
With the focal length ``f`` and principal point ``c`` this is the full-perspective translation

    tz = f / (s * box_size),    t_xy = (o * box_size + box_centre - c) / (s * box_size).

The networks regress ``log s`` (``s`` stays positive) and ``o``: the triple ``(log s, ox, oy)``.
"""

from __future__ import annotations

import torch

# Person boxes are squares around the confident keypoints, grown by this fraction on each side
# (as core.detect.box.person_box does for crops).
BOX_PADDING = 0.15
# Typical scale: a 1.7 m person filling a box padded by 30 %.
MEAN_LOG_SCALE = float(torch.log(torch.tensor(1.0 / (1.7 * (1 + 2 * BOX_PADDING)))))


def keypoint_boxes(
    keypoints2d: torch.Tensor, image_size: torch.Tensor, threshold: float, padding: float = BOX_PADDING
) -> tuple[torch.Tensor, torch.Tensor]:
    """Square person boxes around the confident keypoints.

    Args:
        keypoints2d: (..., 17, 3) detections; image_size: (..., 2) width, height in pixels.
    Returns:
        centre (..., 2) and size (...,) in pixels. Fewer than two confident keypoints: the whole
        image (centred, its longer side), so that every item has a usable box.
    """
    valid = keypoints2d[..., 2] > threshold
    xy = keypoints2d[..., :2]
    big = torch.finfo(xy.dtype).max
    lo = torch.where(valid[..., None], xy, torch.full_like(xy, big)).amin(-2)
    hi = torch.where(valid[..., None], xy, torch.full_like(xy, -big)).amax(-2)
    ok = valid.sum(-1) >= 2
    lo, hi = torch.where(ok[..., None], lo, torch.zeros_like(lo)), torch.where(ok[..., None], hi, torch.zeros_like(hi))
    centre = (lo + hi) / 2
    size = ((hi - lo).amax(-1) * (1 + 2 * padding)).clamp(min=1.0)
    image_size = image_size.to(xy)
    centre = torch.where(ok[..., None], centre, image_size / 2)
    size = torch.where(ok, size, image_size.amax(-1))
    return centre, size


def cam_to_translation(
    cam: torch.Tensor, box_centre: torch.Tensor, box_size: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor
) -> torch.Tensor:
    """(..., 3) ``(log s, ox, oy)`` -> (..., 3) camera-frame translation in metres."""
    scale = cam[..., 0].exp() * box_size
    tz = focal / scale
    txy = (cam[..., 1:] * box_size[..., None] + box_centre - principal) / scale[..., None]
    return torch.cat([txy, tz[..., None]], dim=-1)


def translation_to_cam(
    transl: torch.Tensor, box_centre: torch.Tensor, box_size: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor
) -> torch.Tensor:
    """Inverse of :func:`cam_to_translation`: (..., 3) metres -> (..., 3) ``(log s, ox, oy)``.
    Depths are clamped at 1 cm so that a degenerate fit cannot produce infinities."""
    tz = transl[..., 2].clamp(min=1e-2)
    scale = focal / tz
    offset = (transl[..., :2] * scale[..., None] + principal - box_centre) / box_size[..., None]
    return torch.cat([(scale / box_size).log()[..., None], offset], dim=-1)


def box_context(box_centre: torch.Tensor, box_size: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor) -> torch.Tensor:
    """(..., 3) where the box lies in the camera's field of view (CLIFF): its centre's ray
    ``(c_box - c) / f`` and its size ``b / f``. Lets a box-level network tell an off-centre,
    obliquely seen person from a centred one."""
    return torch.cat([(box_centre - principal) / focal[..., None], (box_size / focal)[..., None]], dim=-1)

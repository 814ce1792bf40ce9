"""The body's standing height, and the prior that fixes the scale of a calibration-free fit.

Without calibration the whole scene's scale is unobservable: a larger person further from larger
cameras reprojects the same. The body's shape alone sets it, so a prior on the standing height
(an adult of ordinary height, or the height the user gives) fixes the scale while the detections
still decide the body's proportions.

Standing height (top of the head to the soles) is measured on the full mesh; fitting uses a
keypoint proxy that costs nothing extra: the rest pose's eyes-to-ankles height, which predicts the
mesh height within 9 mm over Anny's phenotypes (adults and teenagers, measured on 60 random
shapes: height = 1.090 * eyes-to-ankles + 0.072 m).
"""

from __future__ import annotations

import torch

from core.body import BodyModel
from core.canonical.params import body_frame_keypoints

_EYES, _ANKLES = (1, 2), (15, 16)
# Standing height from the rest pose's eyes-to-ankles height (metres), fitted on Anny (see above).
HEIGHT_PER_EYE_HEIGHT = 1.090
HEIGHT_OFFSET_M = 0.072


def keypoint_standing_height(body: BodyModel, shape: torch.Tensor) -> torch.Tensor:
    """(...,) standing height in metres of bodies with (..., S) shapes, from rest-pose keypoints."""
    batch = shape.shape[:-1]
    flat = shape.reshape(-1, shape.shape[-1])
    rest = torch.eye(3, dtype=flat.dtype, device=flat.device).expand(flat.shape[0], body.num_pose_joints, 3, 3)
    heights = body_frame_keypoints(body, rest, flat) @ body.up_axis.to(flat)
    eye_height = heights[:, list(_EYES)].mean(-1) - heights[:, list(_ANKLES)].mean(-1)
    return (HEIGHT_PER_EYE_HEIGHT * eye_height + HEIGHT_OFFSET_M).reshape(batch)


def height_prior_loss(body: BodyModel, shape: torch.Tensor, target_m: float, sigma_m: float) -> torch.Tensor:
    """(...,) squared deviation of the standing height from ``target_m``, in units of ``sigma_m``."""
    return ((keypoint_standing_height(body, shape) - target_m) / sigma_m).square()

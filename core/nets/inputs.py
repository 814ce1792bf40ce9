"""What the networks see of each view: detections, intrinsics, the person box, optionally the crop."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from core.nets.camera import box_context, keypoint_boxes

# Width of :func:`camera_context`: the box in the field of view (3) and the image size / focal (2).
CONTEXT_DIM = 5


@dataclass
class ViewInputs:
    """A batch of multi-view frames as the networks take them (``...`` = batch dims, V = views).

    keypoints2d: (..., V, 17, 3) x, y pixels, confidence; focal: (..., V) pixels;
    principal: (..., V, 2) pixels; image_size: (..., V, 2) width, height;
    box_centre: (..., V, 2) and box_size: (..., V) the square person box, pixels;
    crops: (..., V, 3, S, S) uint8 person crops of that box, or None (keypoint encoder only).
    """

    keypoints2d: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor
    image_size: torch.Tensor
    box_centre: torch.Tensor
    box_size: torch.Tensor
    crops: torch.Tensor | None = None

    @property
    def num_views(self) -> int:
        return self.keypoints2d.shape[-3]

    def map(self, fn) -> ViewInputs:
        """A copy with ``fn`` applied to every tensor (indexing, moving to a device)."""
        return ViewInputs(**{f.name: None if getattr(self, f.name) is None else fn(getattr(self, f.name)) for f in fields(self)})

    def to(self, device: torch.device | str) -> ViewInputs:
        return self.map(lambda t: t.to(device, non_blocking=True))


def make_view_inputs(
    keypoints2d: torch.Tensor,
    focal: torch.Tensor,
    principal: torch.Tensor,
    image_size: torch.Tensor,
    threshold: float,
    crops: torch.Tensor | None = None,
) -> ViewInputs:
    """ViewInputs with the person boxes computed from the detections (shapes as in ViewInputs;
    focal, principal and image_size broadcast against the keypoints' batch)."""
    batch = keypoints2d.shape[:-2]
    kp = keypoints2d.float()
    focal = focal.to(kp).expand(batch)
    principal = principal.to(kp).expand(*batch, 2)
    image_size = image_size.to(kp).expand(*batch, 2)
    centre, size = keypoint_boxes(kp, image_size, threshold)
    return ViewInputs(kp, focal, principal, image_size, centre, size, crops)


def camera_context(inputs: ViewInputs) -> torch.Tensor:
    """(..., V, 5): the box's ray and size relative to the focal length, and the image's size
    relative to it (the field of view)."""
    return torch.cat([
        box_context(inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal),
        inputs.image_size / inputs.focal[..., None],
    ], dim=-1)

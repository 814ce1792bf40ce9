"""Left/right swaps of a detector, found and undone by the fitted body."""

from __future__ import annotations

import torch

from core.canonical.losses import flip_keypoints, person_scale, reprojection_loss
from core.canonical.params import Intrinsics
from core.fit.config import FitConfig
from core.geometry.camera import project
from core.keypoints import COCO17_NAMES

# Left/right groups a detector swaps together.
SIDE_GROUPS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(17)),
    "arms": tuple(i for i, n in enumerate(COCO17_NAMES) if n.split("_")[-1] in ("shoulder", "elbow", "wrist")),
    "legs": tuple(i for i, n in enumerate(COCO17_NAMES) if n.split("_")[-1] in ("hip", "knee", "ankle")),
}


def correct_swaps(
    points_cam: torch.Tensor, keypoints2d: torch.Tensor, intrinsics: Intrinsics, config: FitConfig, margin: float = 0.7
) -> torch.Tensor:
    """Detections with left/right groups exchanged where the fitted body explains the exchanged
    version much better (its loss below ``margin`` times the original's). Shapes (F, V, 17, 3/2)."""
    projected = project(points_cam, intrinsics.focal, intrinsics.principal)
    threshold, sigma = config.confidence_threshold, config.robust_sigma
    scale = person_scale(keypoints2d, threshold)
    corrected = keypoints2d
    for group in SIDE_GROUPS.values():
        flipped = flip_keypoints(corrected)
        candidate = corrected.clone()
        candidate[..., group, :] = flipped[..., group, :]
        before = reprojection_loss(projected, corrected, threshold, sigma, scale)
        after = reprojection_loss(projected, candidate, threshold, sigma, scale)
        better = (after < margin * before)[..., None, None]
        corrected = torch.where(better, candidate, corrected)
    return corrected

"""Person crops for the image encoders: the square box around the confident keypoints (the same
box the camera conversion uses, core.nets.camera.keypoint_boxes), resized to the encoder's size."""

from __future__ import annotations

import numpy as np
import torch

from core.detect.box import crop_person
from core.nets.camera import keypoint_boxes


def person_crops(images: list[np.ndarray], keypoints2d: np.ndarray, threshold: float, size: int) -> np.ndarray:
    """Crops of one frame's views.

    Args:
        images: V RGB uint8 images (H_v, W_v, 3); keypoints2d: (V, 17, 3) detections.
    Returns:
        (V, 3, size, size) uint8 (outside the image is black).
    """
    image_size = torch.tensor([[im.shape[1], im.shape[0]] for im in images], dtype=torch.float32)
    centre, side = keypoint_boxes(torch.as_tensor(keypoints2d, dtype=torch.float32), image_size, threshold)
    boxes = torch.cat([centre - side[:, None] / 2, centre + side[:, None] / 2], dim=-1).numpy()
    crops = [crop_person(im, box, size)[0] for im, box in zip(images, boxes)]
    return np.stack(crops).transpose(0, 3, 1, 2).copy()

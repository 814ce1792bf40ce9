"""Person boxes from 2D keypoints, and the square crops the networks see."""

from __future__ import annotations

import cv2
import numpy as np


def person_box(
    keypoints: np.ndarray,
    conf_threshold: float = 0.3,
    padding: float = 0.15,
    square: bool = True,
    min_joints: int = 2,
) -> np.ndarray:
    """Box around the confident joints of each person.

    Args:
        keypoints: ``(..., 17, 3)`` x, y (pixels), confidence.
        conf_threshold: joints with confidence at or below it are ignored.
        padding: each side moves out by this fraction of the box's extent, because the joints
            stop short of the head top, the feet and the hands.
        square: grow the shorter side to the longer (same centre), for undistorted square crops.
        min_joints: fewer confident joints than this give no box.

    Returns:
        ``(..., 4)`` float32 ``x0, y0, x1, y1`` in pixels, not clipped to the image (crops pad
        outside it). A person without enough confident joints gets all zeros (``x1 <= x0``).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim < 2 or keypoints.shape[-1] != 3:
        raise ValueError(f"expected keypoints (..., K, 3), got {keypoints.shape}")
    mask = keypoints[..., 2] > conf_threshold
    xy = keypoints[..., :2]
    low = np.where(mask[..., None], xy, np.inf).min(-2)
    high = np.where(mask[..., None], xy, -np.inf).max(-2)
    valid = mask.sum(-1) >= min_joints
    low = np.where(valid[..., None], low, 0.0)  # no infinities in the arithmetic below
    high = np.where(valid[..., None], high, 0.0)

    centre = (low + high) / 2
    half = (high - low) / 2 * (1 + 2 * padding)
    if square:
        half = np.repeat(half.max(-1, keepdims=True), 2, axis=-1)
    half = np.maximum(half, 0.5)  # at least one pixel wide, even for coincident joints
    box = np.concatenate([centre - half, centre + half], axis=-1)
    return np.where(valid[..., None], box, 0.0).astype(np.float32)


def box_to_crop_transform(box: np.ndarray, size: int = 256) -> np.ndarray:
    """(2, 3) affine map from image pixels to the pixels of a ``size`` x ``size`` crop of ``box``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty box {box}")
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    return np.array([[sx, 0.0, -sx * x0], [0.0, sy, -sy * y0]])


def crop_person(image: np.ndarray, box: np.ndarray, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``box`` (x0, y0, x1, y1) out of ``image`` (H, W, C), resized to ``size`` x ``size``.

    Outside the image is filled with zeros. Returns ``(crop (size, size, C), transform (2, 3))``
    where ``transform`` maps image pixels to crop pixels (apply it to keypoints to follow them).
    """
    transform = box_to_crop_transform(box, size)
    crop = cv2.warpAffine(
        image, transform, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return crop, transform

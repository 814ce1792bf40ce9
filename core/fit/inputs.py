"""What a fit takes: a sequence's detections, its cameras' intrinsics, and what is known of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.geometry.camera import default_focal_px, default_principal_point
from core.people import Scene


@dataclass
class KnownExtrinsics:
    """Known world->camera poses: rotation (V, 3, 3), translation (V, 3) metres, known (V,) bool
    (the cameras whose pose is known; the others are estimated in the same world)."""

    rotation: np.ndarray
    translation: np.ndarray
    known: np.ndarray


@dataclass
class FitInputs:
    """What fitting needs from a sequence.

    keypoints2d: (F, V, 17, 3); focal: (V,) pixels; principal: (V, 2); image_sizes: (V, 2) w, h;
    focal_known: (V,) bool, the focal lengths given by the user (not estimated); None: none given.
    extrinsics: camera poses given by the user or an earlier fit, held fixed (their focal lengths
        are then known too); the result stays in their world.
    scene: every person detected and who is who (keypoints2d are its person 0's); None: not known.
    """

    keypoints2d: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    image_sizes: np.ndarray
    view_names: list[str]
    frame_indices: np.ndarray
    fps: float = 30.0
    timings: dict[str, float] = field(default_factory=dict)
    focal_known: np.ndarray | None = None
    extrinsics: KnownExtrinsics | None = None
    scene: Scene | None = None


def camera_intrinsics(image_sizes: np.ndarray, focal: list | None = None, principal: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(V,) focal and (V, 2) principal point: the given ones where known, else the defaults."""
    views = len(image_sizes)
    focal = focal or [None] * views
    principal = principal or [None] * views
    f = np.array([fv if fv is not None else default_focal_px(*size) for fv, size in zip(focal, image_sizes)], dtype=np.float32)
    c = np.array([cv if cv is not None else default_principal_point(*size) for cv, size in zip(principal, image_sizes)], dtype=np.float32)
    return f, c

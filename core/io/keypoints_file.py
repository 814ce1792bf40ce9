"""``keypoints.npz``: 2D keypoints given with a sequence instead of running the detector.

Holds ``keypoints2d`` ``(F, V, 17, 3)``: x, y in pixels and a confidence in [0, 1] per joint of
each frame and view (COCO-17 order), or ``(F, V, P, 17, 3)``: up to P people per image, in any
order (a person whose joints all have confidence 0 is absent), as a multi-person detector gives. An optional ``view_names`` ``(V,)`` is checked against the
sequence's cameras. Joints whose x or y is NaN count as missing (zeros, confidence 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import InputError
from core.io.npz import read_npz
from core.keypoints import NUM_KEYPOINTS

KEYPOINTS_NPZ = "keypoints.npz"


def read_keypoints_npz(path: str | Path) -> tuple[np.ndarray, list[str] | None]:
    """Load and check the file: ``(keypoints2d (F, V, 17, 3) or (F, V, P, 17, 3) float32, view_names
    or None)``."""
    path = Path(path)
    data = read_npz(path, "keypoint file")
    if "keypoints2d" not in data:
        raise InputError(f"has no 'keypoints2d' array (it has: {', '.join(data) or 'nothing'})", path)
    keypoints = data["keypoints2d"]
    names = data.get("view_names")

    if keypoints.ndim not in (4, 5) or keypoints.shape[-2:] != (NUM_KEYPOINTS, 3):
        raise InputError(f"keypoints2d has shape {tuple(keypoints.shape)}, expected (F, V, 17, 3) or "
                         "(F, V, P, 17, 3)", path)
    if not np.issubdtype(keypoints.dtype, np.number) or np.iscomplexobj(keypoints):
        raise InputError(f"keypoints2d must hold real numbers, not {keypoints.dtype}", path)
    if keypoints.shape[0] == 0:
        raise InputError("keypoints2d has no frames", path)
    keypoints = keypoints.astype(np.float32, copy=True)

    missing = ~np.isfinite(keypoints[..., :2]).all(-1)
    keypoints[missing] = 0.0
    conf = keypoints[..., 2]
    if not np.isfinite(conf).all():
        raise InputError("keypoints2d has a NaN or infinite confidence", path)
    if conf.min() < -1e-4 or conf.max() > 1 + 1e-4:
        raise InputError(f"keypoints2d confidences must lie in [0, 1], found {conf.min():.3g}..{conf.max():.3g}", path)
    np.clip(conf, 0.0, 1.0, out=conf)

    view_names = None
    if names is not None:
        if names.ndim != 1 or names.shape[0] != keypoints.shape[1] or names.dtype.kind not in "US":
            raise InputError(f"view_names must be {keypoints.shape[1]} strings, one per view of keypoints2d", path)
        view_names = [str(n) for n in names]
    return keypoints, view_names

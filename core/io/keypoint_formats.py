"""2D keypoint layouts of other detectors, mapped onto the project's COCO-17.

* ``coco17``: COCO's 17 (MMPose, RTMPose, ViTPose, Detectron2).
* ``coco18``: OpenPose's COCO model (a ``Neck`` at 1, right before left, eyes and ears last).
* ``body25``: OpenPose's default BODY_25 (``Neck`` 1, ``MidHip`` 8, feet 19-24).
* ``body25b``: OpenPose's experimental BODY_25B, Pose2Sim's older default (COCO's 17 first, then
  ``Neck``, ``Head`` and the feet).
* ``halpe26``: HALPE-26 of AlphaPose and RTMLib, Pose2Sim's current default (COCO's 17 first,
  then ``Head``, ``Neck``, ``Hip`` and the feet).

The keypoint count tells every layout apart except BODY_25 and BODY_25B (both 25): for those
:func:`detect_format` looks at keypoint 1, BODY_25's neck, which lies between the shoulders
(keypoints 2 and 5 there), while BODY_25B's keypoint 1 is the left eye.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError

# Format -> (number of keypoints, index in that layout of each COCO-17 keypoint, in COCO-17 order).
KEYPOINT_FORMATS: dict[str, tuple[int, tuple[int, ...]]] = {
    "coco17": (17, tuple(range(17))),
    "coco18": (18, (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)),
    "body25": (25, (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)),
    "body25b": (25, tuple(range(17))),
    "halpe26": (26, tuple(range(17))),
}
FORMAT_NAMES = tuple(KEYPOINT_FORMATS)

# body25 vs body25b: keypoint 1's distance from the midpoint of keypoints 2 and 5, over their
# distance. BODY_25's neck sits at ~0; BODY_25B's left eye lies far from the midpoint of the right
# eye and the left shoulder.
_NECK_RATIO = 0.25


def to_coco17(points: np.ndarray, keypoint_format: str) -> np.ndarray:
    """(..., K, C) keypoints of ``keypoint_format`` -> (..., 17, C) in COCO-17 order."""
    count, indices = KEYPOINT_FORMATS[keypoint_format]
    if points.shape[-2] != count:
        raise ValueError(f"{keypoint_format} has {count} keypoints, got {points.shape[-2]}")
    return points[..., list(indices), :]


def formats_with(count: int) -> list[str]:
    """The layouts with ``count`` keypoints."""
    return [name for name, (n, _) in KEYPOINT_FORMATS.items() if n == count]


def detect_format(people: np.ndarray, where=None) -> str:
    """The layout of (N, K, 3) keypoints (x, y, confidence) of N people; InputError when the count
    fits no layout."""
    count = people.shape[-2]
    candidates = formats_with(count)
    if not candidates:
        raise InputError(f"{count} keypoints per person fit no known layout ({', '.join(FORMAT_NAMES)}): "
                         "give --keypoint-format", where)
    if len(candidates) == 1:
        return candidates[0]
    seen = (people[:, [1, 2, 5], 2] > 0).all(-1)
    if not seen.any():
        raise InputError(f"{count} keypoints per person (body25 or body25b) and none shows keypoints 1, 2 and 5 "
                         "to tell them apart: give --keypoint-format", where)
    p = people[seen][..., :2]
    ratio = np.linalg.norm(p[:, 1] - 0.5 * (p[:, 2] + p[:, 5]), axis=-1) / np.linalg.norm(p[:, 2] - p[:, 5], axis=-1).clip(1e-6)
    return "body25" if np.median(ratio) < _NECK_RATIO else "body25b"


def check_format(name: str) -> str:
    """``name`` if it is a known layout, else InputError listing them."""
    if name not in KEYPOINT_FORMATS:
        raise InputError(f"--keypoint-format: unknown layout {name!r} (choose from {', '.join(FORMAT_NAMES)})")
    return name

"""The COCO-17 keypoint convention every part of the project speaks.

Body models regress these 17 keypoints (metres), the detector produces them (pixels), and the
results store them in this order.
"""

from __future__ import annotations

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_KEYPOINTS = len(COCO17_NAMES)

# Index of the mirrored keypoint (left <-> right), used for swap checks and flip augmentation.
COCO17_FLIP: tuple[int, ...] = tuple(
    COCO17_NAMES.index(
        n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")
    )
    for n in COCO17_NAMES
)

# Bones drawn for the skeleton (pairs of indices into COCO17_NAMES).
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4),
    (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16),
)

# MediaPipe Pose's 33 landmarks -> COCO-17: the first 17 COCO points are landmarks
# nose 0, eyes 2/5 (centre), ears 7/8, shoulders 11/12, elbows 13/14, wrists 15/16, hips 23/24,
# knees 25/26, ankles 27/28.
MEDIAPIPE33_TO_COCO17: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

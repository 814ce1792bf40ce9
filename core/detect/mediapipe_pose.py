"""MediaPipe Pose's models and its 33 landmarks as COCO-17 keypoints (the people detector is
:mod:`core.detect.people`).

MediaPipe's 33 landmarks map onto COCO-17 by :data:`core.keypoints.MEDIAPIPE33_TO_COCO17`;
coordinates become pixels and each joint's confidence is MediaPipe's visibility (times its
presence where the model reports one). An image without a person gives zeros with confidence 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.keypoints import MEDIAPIPE33_TO_COCO17, NUM_KEYPOINTS

# Pose landmark model per model_complexity. Only "full" ships inside the mediapipe wheel; MediaPipe
# downloads the others on first use, which fails offline.
MODEL_FILES = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}


def import_mediapipe() -> Any:
    # Imported on first use: it takes a second and most of the project never needs it.
    import mediapipe as mp

    return mp


def model_path(model_complexity: int) -> Path:
    """Where MediaPipe keeps (or would download) the landmark model for ``model_complexity``."""
    mp = import_mediapipe()
    return Path(mp.__file__).parent / "modules" / "pose_landmark" / MODEL_FILES[model_complexity]


def mediapipe_version() -> str:
    return str(import_mediapipe().__version__)


def ensure_model(model_complexity: int) -> Path:
    """Make sure the landmark model for ``model_complexity`` is on disk (MediaPipe downloads the
    lite and heavy models on first use); InputError saying what to do when it cannot be had."""
    if model_complexity not in MODEL_FILES:
        raise ValueError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
    path = model_path(model_complexity)
    if path.is_file():
        return path
    from mediapipe.python.solutions import download_utils

    try:
        download_utils.download_oss_model(f"mediapipe/modules/pose_landmark/{path.name}")
    except Exception as exc:  # URLError, HTTPError, ConnectionError, PermissionError, ...
        path.unlink(missing_ok=True)  # never leave a half-downloaded model behind
        raise InputError(
            f"model complexity {model_complexity} needs {path.name}, which the mediapipe package does not "
            f"ship and which could not be downloaded ({exc}); use model complexity 1 or put the file there",
            path,
        ) from None
    return path


def landmarks_to_coco17(landmarks: Any, width: int, height: int) -> np.ndarray:
    """MediaPipe's normalized pose landmarks (33 of them) -> (17, 3) float32: x, y pixels, confidence."""
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    for k, j in enumerate(MEDIAPIPE33_TO_COCO17):
        lm = landmarks[j]
        confidence = lm.visibility
        # The legacy Pose solution leaves presence unset; newer graphs fill it.
        if lm.HasField("presence"):
            confidence *= lm.presence
        out[k] = (lm.x * width, lm.y * height, confidence)
    out[:, 2] = np.clip(out[:, 2], 0.0, 1.0)
    return out

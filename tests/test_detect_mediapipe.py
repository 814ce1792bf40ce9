"""MediaPipe Pose -> COCO-17 on a rendered person whose true keypoints are known."""

from __future__ import annotations

import numpy as np
import pytest
from _render_person import render_person

from core.detect import PoseDetector
from core.detect.mediapipe_pose import ensure_model
from core.keypoints import COCO17_NAMES

# Shoulders, hips, knees: joints MediaPipe and the body model's regressor place alike.
CHECKED = [COCO17_NAMES.index(n) for n in
           ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee")]


@pytest.mark.parametrize("clothes", [True, False], ids=["clothed", "skin"])
def test_detects_the_rendered_person(clothes):
    image, truth = render_person(480, 640, clothes=clothes)
    with PoseDetector(model_complexity=1) as detector:
        keypoints = detector(image)
    assert keypoints.shape == (17, 3) and keypoints.dtype == np.float32
    errors = np.linalg.norm(keypoints[CHECKED, :2] - truth[CHECKED], axis=-1)
    assert errors.max() < 25, dict(zip([COCO17_NAMES[k] for k in CHECKED], errors.round(1)))
    assert (keypoints[CHECKED, 2] > 0.5).all()
    # Left stays left: the person faces the camera, so their left shoulder is on the image's right.
    assert keypoints[COCO17_NAMES.index("left_shoulder"), 0] > keypoints[COCO17_NAMES.index("right_shoulder"), 0]
    assert ((keypoints[:, 2] >= 0) & (keypoints[:, 2] <= 1)).all()


def test_pixels_follow_the_image_size():
    image, truth = render_person(480, 640)
    small = image[::2, ::2].copy()  # 240 x 320
    with PoseDetector() as detector:
        keypoints = detector(small)
    errors = np.linalg.norm(keypoints[CHECKED, :2] - truth[CHECKED] / 2, axis=-1)
    assert errors.max() < 15


def test_tracking_mode_over_frames():
    image, truth = render_person(480, 640)
    with PoseDetector(tracking=True) as detector:
        results = [detector(image) for _ in range(3)]
    for keypoints in results:
        assert np.linalg.norm(keypoints[CHECKED, :2] - truth[CHECKED], axis=-1).max() < 25


def test_no_person_gives_zero_confidence():
    blank = np.full((480, 640, 3), 200, dtype=np.uint8)
    with PoseDetector() as detector:
        keypoints = detector(blank)
    np.testing.assert_array_equal(keypoints, np.zeros((17, 3), np.float32))


def test_rejects_non_rgb_images():
    with PoseDetector() as detector, pytest.raises(ValueError, match="RGB uint8"):
        detector(np.zeros((10, 10), np.uint8))


def test_full_model_ships_with_mediapipe():
    assert ensure_model(1).is_file()
    with pytest.raises(ValueError):
        ensure_model(3)

"""MediaPipe Pose -> COCO-17 for every person, on rendered people whose true keypoints are known."""

from __future__ import annotations

import numpy as np
import pytest
from _render_person import render_person
from core.detect import PeopleDetector
from core.detect.mediapipe_pose import ensure_model
from core.keypoints import COCO17_FLIP, COCO17_NAMES

# Shoulders, hips, knees: joints MediaPipe and the body model's regressor place alike.
CHECKED = [COCO17_NAMES.index(n) for n in
           ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee")]


@pytest.mark.parametrize("clothes", [True, False], ids=["clothed", "skin"])
def test_detects_the_rendered_person(clothes):
    image, truth = render_person(480, 640, clothes=clothes)
    with PeopleDetector(model_complexity=1) as detector:
        people = detector(image)
    assert len(people) == 1
    keypoints = people.keypoints[0]
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
    with PeopleDetector() as detector:
        keypoints = detector(small).keypoints[0]
    errors = np.linalg.norm(keypoints[CHECKED, :2] - truth[CHECKED] / 2, axis=-1)
    assert errors.max() < 15


def test_tracking_mode_over_frames():
    image, truth = render_person(480, 640)
    with PeopleDetector(tracking=True) as detector:
        results = [detector(image) for _ in range(3)]
    for people in results:
        assert len(people) == 1
        keypoints = people.keypoints[0]
        assert np.linalg.norm(keypoints[CHECKED, :2] - truth[CHECKED], axis=-1).max() < 25


def test_no_person_gives_zero_confidence():
    blank = np.full((480, 640, 3), 200, dtype=np.uint8)
    with PeopleDetector() as detector:
        people = detector(blank)
    assert len(people) == 0 and people.keypoints.shape == (0, 17, 3)


def test_rejects_non_rgb_images():
    with PeopleDetector() as detector, pytest.raises(ValueError, match="RGB uint8"):
        detector(np.zeros((10, 10), np.uint8))


def test_full_model_ships_with_mediapipe():
    assert ensure_model(1).is_file()
    with pytest.raises(ValueError):
        ensure_model(3)


def test_finds_two_people_side_by_side():
    """Two people in one image: both found, each with their own joints, boxes and regions."""
    image, truth = render_person(480, 640)
    width = image.shape[1]
    right = image[:, ::-1].copy()  # a mirrored copy: another person (their left is the copy's right)
    pair = np.concatenate([image, right], axis=1)
    truth_right = truth[list(COCO17_FLIP)].copy()
    truth_right[:, 0] = 2 * width - 1 - truth_right[:, 0]
    with PeopleDetector() as detector:
        people = detector(pair)
    assert len(people) == 2
    left_first = np.argsort(people.boxes[:, 0])
    for found, expected in zip(people.keypoints[left_first], (truth, truth_right)):
        errors = np.linalg.norm(found[CHECKED, :2] - expected[CHECKED], axis=-1)
        assert np.median(errors) < 25
    assert people.rois.shape == (2, 5) and (people.scores > 0.5).all()


def test_tracking_follows_people_when_told_where_they_were():
    """follow(): the regions of a cached previous frame find the same person again."""
    image, truth = render_person(480, 640)
    with PeopleDetector(tracking=True) as first:
        rois = first(image).rois
    with PeopleDetector(tracking=True) as detector:
        detector.follow(rois)
        people = detector(image)
    assert len(people) == 1
    assert np.linalg.norm(people.keypoints[0, CHECKED, :2] - truth[CHECKED], axis=-1).max() < 25

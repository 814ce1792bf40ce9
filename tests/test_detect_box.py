"""Person boxes from keypoints and the crops made from them."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect import crop_person, person_box


def keypoints_at(points, conf=1.0):
    kp = np.zeros((17, 3), np.float32)
    kp[: len(points), :2] = points
    kp[: len(points), 2] = conf
    return kp


def test_box_around_confident_joints():
    kp = keypoints_at([(100, 50), (140, 250), (120, 150)])
    kp[5] = (1000, 1000, 0.1)  # not confident: ignored
    box = person_box(kp, conf_threshold=0.3, padding=0.0, square=False)
    np.testing.assert_allclose(box, [100, 50, 140, 250])
    assert box.dtype == np.float32


def test_padding_and_square():
    kp = keypoints_at([(100, 50), (140, 250)])
    box = person_box(kp, padding=0.1, square=True)
    # extent 40 x 200 -> padded 48 x 240 -> square 240 x 240 around the centre (120, 150)
    np.testing.assert_allclose(box, [0, 30, 240, 270])


def test_too_few_joints_give_an_empty_box():
    kp = keypoints_at([(100, 50)])
    np.testing.assert_array_equal(person_box(kp), [0, 0, 0, 0])
    np.testing.assert_array_equal(person_box(np.zeros((17, 3))), [0, 0, 0, 0])


def test_batched_shapes():
    kp = np.zeros((4, 3, 17, 3), np.float32)  # (F, V, 17, 3)
    kp[..., :2] = np.random.default_rng(0).uniform(0, 500, (4, 3, 17, 2))
    kp[..., 2] = 1.0
    kp[2, 1, :, 2] = 0.0
    boxes = person_box(kp)
    assert boxes.shape == (4, 3, 4)
    np.testing.assert_array_equal(boxes[2, 1], 0)
    np.testing.assert_allclose(boxes[0, 0], person_box(kp[0, 0]))
    side = boxes[..., 2] - boxes[..., 0]
    np.testing.assert_allclose(side, boxes[..., 3] - boxes[..., 1], rtol=1e-5)


def test_crop_follows_keypoints():
    image = np.zeros((200, 300, 3), np.uint8)
    image[90:110, 140:160] = 255  # a white square around (150, 100)
    kp = keypoints_at([(120, 70), (180, 130)])
    box = person_box(kp, padding=0.0)
    crop, transform = crop_person(image, box, size=64)
    assert crop.shape == (64, 64, 3)
    centre = transform @ np.array([150.0, 100.0, 1.0])
    np.testing.assert_allclose(centre, [32, 32])
    assert crop[32, 32].tolist() == [255, 255, 255] and crop[2, 2].tolist() == [0, 0, 0]


def test_crop_outside_the_image_is_black():
    image = np.full((100, 100, 3), 77, np.uint8)
    crop, _ = crop_person(image, np.array([-100, -100, 0, 0]), size=32)
    assert crop.max() == 0
    with pytest.raises(ValueError, match="empty box"):
        crop_person(image, np.zeros(4))

"""Lens distortion: the pixel model round trip, sequence.yaml's distortions, detections
undistorted for fitting and put back for drawing, and the app's projection through the lens."""

from __future__ import annotations

import numpy as np
from _make_sequence import image_sequence, write_yaml

from cmanet_app.overlay import project_points
from core.bench import real
from core.geometry.distortion import (
    camera_matrix,
    distort_keypoints,
    distort_pixels,
    undistort_keypoints,
    undistort_pixels,
)
from core.io import MultiViewSequence
from core.io.calibration import read_qca


def test_distortion_round_trip():
    calib = read_qca(real.SHIPPED_REFERENCE).cameras[0]
    strong = np.array([-0.2, 0.05, 0.001, -0.001])
    pixels = np.array([[100.0, 200.0], [540.0, 960.0], [1000.0, 1800.0]])
    back = undistort_pixels(distort_pixels(pixels, calib.matrix, strong), calib.matrix, strong)
    assert np.abs(back - pixels).max() < 0.05


def test_keypoints_undistorted_and_back_keep_confidence():
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.uniform(100, 900, size=(5, 2, 17, 2)), rng.uniform(0, 1, size=(5, 2, 17, 1))], -1)
    focal, principal = np.array([800.0, 900.0]), np.array([[500.0, 500.0], [480.0, 520.0]])
    lens = np.array([[-0.2, 0.0, 0.0, 0.0, 0.0], [0.0] * 5])
    ideal = undistort_keypoints(kp, focal, principal, lens)
    # Barrel distortion pulls points in, so the ideal points lie further from the centre.
    def radius(points):
        return np.linalg.norm(points[:, 0, :, :2] - principal[0], axis=-1)

    assert (radius(ideal) >= radius(kp) - 1e-6).all() and (radius(ideal) > radius(kp) + 1).any()
    np.testing.assert_array_equal(ideal[:, 1], kp[:, 1].astype(np.float32))  # no distortion: untouched
    np.testing.assert_array_equal(ideal[..., 2], kp[..., 2].astype(np.float32))
    np.testing.assert_allclose(distort_keypoints(ideal, focal, principal, lens), kp, atol=0.05)


def test_sequence_yaml_distortions(tmp_path):
    image_sequence(tmp_path, num_frames=(2, 2))
    write_yaml(tmp_path, {"cameras": [{"name": "cam01", "distortions": [-0.2, 0.05, 0.0, 0.0]}, {"name": "cam02"}]})
    with MultiViewSequence.open(tmp_path) as seq:
        assert seq.cameras[0].distortions == (-0.2, 0.05, 0.0, 0.0)
        assert seq.cameras[1].distortions is None
        np.testing.assert_allclose(seq.distortions, [[-0.2, 0.05, 0, 0, 0], [0, 0, 0, 0, 0]])


def test_overlay_projects_through_the_lens():
    points = np.array([[0.3, -0.2, 2.0], [0.0, 0.0, 3.0], [-0.5, 0.4, 2.5]])
    lens = np.array([-0.2, 0.0, 0.0, 0.0, 0.0])
    principal = np.array([320.0, 240.0])
    ideal = project_points(points, 500.0, principal, small=True)
    seen = project_points(points, 500.0, principal, small=True, distortions=lens)
    np.testing.assert_allclose(seen, distort_pixels(ideal, camera_matrix(500.0, principal), lens))
    np.testing.assert_allclose(seen[1], principal)  # the centre does not move
    assert np.linalg.norm(seen[0] - principal) < np.linalg.norm(ideal[0] - principal)
    np.testing.assert_allclose(project_points(points, 500.0, principal, distortions=lens), seen, atol=1e-3)

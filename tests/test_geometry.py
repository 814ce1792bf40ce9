"""Projection and the paper's metrics against hand-computed cases."""

import math

import pytest
import roma
import torch

from core.geometry import camera, metrics, rotations


def test_project_hand_computed():
    points = torch.tensor([[[0.0, 0.0, 2.0], [1.0, -0.5, 2.0], [0.2, 0.4, 4.0]]])
    uv = camera.project(points, torch.tensor([1000.0]), torch.tensor([[320.0, 240.0]]))
    expected = torch.tensor([[[320.0, 240.0], [820.0, -10.0], [370.0, 340.0]]])
    assert torch.allclose(uv, expected)


def test_project_matches_intrinsics_matrix():
    points = torch.rand(2, 5, 3) + torch.tensor([0.0, 0.0, 1.0])
    focal = torch.tensor([800.0, 1200.0])
    principal = torch.tensor([[300.0, 200.0], [960.0, 540.0]])
    K = camera.intrinsics_matrix(focal, principal)
    homog = points @ K.transpose(-1, -2)
    assert torch.allclose(camera.project(points, focal, principal), homog[..., :2] / homog[..., 2:], atol=1e-4)


def test_camera_center_is_where_the_camera_sees_zero():
    R = roma.random_rotmat(3)
    t = torch.randn(3, 3)
    centers = camera.camera_centers(R, t)
    in_cam = camera.transform_points(centers[:, None], R, t)
    assert torch.allclose(in_cam, torch.zeros_like(in_cam), atol=1e-5)


def test_mpjpe_hand_computed():
    gt = torch.zeros(1, 2, 3)
    pred = torch.tensor([[[0.003, 0.004, 0.0], [0.0, 0.0, 0.010]]])  # 5 mm and 10 mm
    assert metrics.mpjpe(pred, gt).item() == pytest.approx(7.5, abs=1e-4)


def test_pa_mpjpe_removes_similarity_but_not_shape():
    torch.manual_seed(0)
    gt = torch.randn(4, 17, 3)
    R, t, s = roma.random_rotmat(), torch.randn(3), 1.3
    moved = s * gt @ R.T + t
    assert metrics.pa_mpjpe(moved, gt).item() < 1e-2
    assert metrics.mpjpe(moved, gt).item() > 100
    bent = gt.clone()
    bent[:, 0] += torch.tensor([0.1, 0.0, 0.0])  # a real 100 mm pose error on one joint stays
    assert metrics.pa_mpjpe(bent, gt).item() > 2.0


def test_pck_and_auc_hand_computed():
    gt = torch.zeros(1, 4, 3)
    # errors 0, 50, 100, 200 mm
    pred = torch.tensor([[[0.0, 0, 0], [0.05, 0, 0], [0.1, 0, 0], [0.2, 0, 0]]])
    assert metrics.pck(pred, gt).item() == pytest.approx(75.0)
    # thresholds 0,5,...,150 (31): error 0 counted at all 31, 50 mm at 21 (50..150), 100 mm at 11
    assert metrics.auc(pred, gt).item() == pytest.approx((31 + 21 + 11 + 0) / (4 * 31) * 100, abs=1e-3)


def test_align_sequence_uses_one_transform():
    torch.manual_seed(1)
    gt = torch.randn(6, 17, 3)
    R, t = roma.random_rotmat(), torch.randn(3)
    pred = 0.8 * gt @ R.T + t
    assert metrics.mpjpe(metrics.align_sequence(pred, gt), gt).item() < 1e-2
    # per-frame different rotations cannot be removed by one transform
    wobbly = pred @ roma.random_rotmat(6).transpose(-1, -2)
    assert metrics.mpjpe(metrics.align_sequence(wobbly, gt), gt).item() > 50


def test_relative_rotation_error_ignores_world_frame_and_sees_a_turned_camera():
    true = roma.random_rotmat(4)
    gauge = roma.random_rotmat()
    assert metrics.relative_rotation_error_deg(true @ gauge, true).max().item() < 1e-3
    turned = true.clone()
    turned[2] = roma.rotvec_to_rotmat(torch.tensor([0.0, math.radians(10.0), 0.0])) @ true[2]
    errors = metrics.relative_rotation_error_deg(turned, true)
    assert errors.shape == (6,)
    # pairs (0,2), (1,2), (2,3) see 10 degrees, the others 0
    assert sorted(round(e) for e in errors.tolist()) == [0, 0, 0, 10, 10, 10]


def test_6d_round_trip_and_gram_schmidt_of_noisy_input():
    R = roma.random_rotmat(10)
    assert torch.allclose(rotations.rot6d_to_rotmat(rotations.rotmat_to_6d(R)), R, atol=1e-5)
    noisy = rotations.rot6d_to_rotmat(torch.randn(10, 6))
    assert torch.allclose(noisy @ noisy.transpose(-1, -2), torch.eye(3).expand(10, 3, 3), atol=1e-5)
    assert torch.allclose(torch.det(noisy), torch.ones(10), atol=1e-5)


def test_default_focal_is_about_55_degrees():
    f = camera.default_focal_px(1920, 1080)
    fov = 2 * math.degrees(math.atan(960 / f))
    assert 50 < fov < 60

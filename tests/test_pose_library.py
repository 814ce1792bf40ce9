"""The pose library of the canonical pose space: joint limits, key poses, the walk cycle and the
poses sampled from them (the fitting's pose prior)."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from core.body.anny_body import ANNY_POSE_BONES, AnnyBody
from core.canonical import joint_limits, key_poses, walk_cycle
from core.canonical.pose_library import sample_pose_library
from core.geometry.rotations import slerp_rotvec


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return AnnyBody()


def test_joint_order_matches_the_body_model():
    assert joint_limits.POSE_JOINT_NAMES == tuple(j for j, _ in ANNY_POSE_BONES)
    lower, upper = joint_limits.joint_limits()
    assert lower.shape == upper.shape == (19, 3) and (lower < upper).all()
    # Right is the mirror of left: same X range, negated Y and Z ranges.
    li, ri = joint_limits.POSE_JOINT_NAMES.index("left_hip"), joint_limits.POSE_JOINT_NAMES.index("right_hip")
    np.testing.assert_allclose(lower[li, 0], lower[ri, 0])
    np.testing.assert_allclose(lower[li, 1:], -upper[ri, 1:])


def test_rest_geometry_constants_match_anny(body):
    with torch.no_grad():
        out = body.full_model(phenotype_kwargs=torch.full((1, 6), 0.5), return_bone_ends=False)
    heads = out["bone_poses"][0, :, :3, 3].numpy()
    idx = {n: i for i, n in enumerate(body.full_model.bone_labels)}

    def angle(a, b):
        return np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))

    upper_arm = heads[idx["lowerarm01.L"]] - heads[idx["upperarm01.L"]]
    forearm = heads[idx["wrist.L"]] - heads[idx["lowerarm01.L"]]
    thigh = heads[idx["lowerleg01.L"]] - heads[idx["upperleg01.L"]]
    assert angle(upper_arm, key_poses.REST_UPPER_ARM) < 3
    assert angle(forearm, key_poses.REST_FOREARM) < 3
    assert angle(thigh, key_poses.REST_THIGH) < 3


def at_a_limit(poses: np.ndarray) -> np.ndarray:
    """(..., J, 3) bool: the components that sit exactly on one of their joint limits."""
    lower, upper = joint_limits.joint_limits()
    return np.isclose(poses, lower, rtol=0, atol=1e-6) | np.isclose(poses, upper, rtol=0, atol=1e-6)


def test_clamp_pose_moves_only_what_lies_outside_the_limits():
    lower, upper = joint_limits.joint_limits()
    inside = (lower + upper) / 2
    poses = np.stack([inside, lower - 0.3, upper + 0.2])
    np.testing.assert_allclose(joint_limits.limit_violation(poses)[1:], np.stack([np.full_like(lower, 0.3), np.full_like(upper, 0.2)]))
    clamped = joint_limits.clamp_pose(poses)
    np.testing.assert_array_equal(clamped[0], inside)
    np.testing.assert_allclose(clamped[1:], np.stack([lower, upper]))
    assert joint_limits.limit_violation(clamped).max() == 0


def test_key_poses_walk_cycle_and_library_respect_joint_limits():
    # Key poses and the walk cycle are not clamped: they are authored (and converted) inside.
    for pose in key_poses.key_poses().values():
        assert joint_limits.limit_violation(pose.body_pose).max() == 0, pose.name
    cycle = walk_cycle.load_walk_cycle()
    assert cycle.body_pose.shape == (40, 19, 3) and 0.5 < cycle.stride_m < 1.0
    assert joint_limits.limit_violation(cycle.body_pose).max() == 0
    poses = sample_pose_library(500, np.random.default_rng(0))
    assert poses.shape == (500, 19, 3) and poses.dtype == np.float32
    # The library's clamp trims noise at the edges; it does not shape the poses: almost no
    # component ends on a limit (0.13 % of them for this seed).
    assert at_a_limit(poses).mean() < 0.01
    # Varied, not a handful of copies.
    assert np.unique(poses.round(2).reshape(500, -1), axis=0).shape[0] == 500
    assert poses.std(axis=0).mean() > np.radians(5)


def test_walk_cycle_walks(body):
    """Legs alternate: the ankles swap front and back over a cycle, knees bend in swing."""
    cycle = walk_cycle.load_walk_cycle()
    with torch.no_grad():
        out = body(
            torch.as_tensor(cycle.root_orient, dtype=torch.float32),
            torch.as_tensor(cycle.body_pose, dtype=torch.float32),
            torch.full((40, 6), 0.5),
            vertices=False,
        )
    ankles_y = out.keypoints[:, [15, 16], 1].numpy()  # -Y is forward
    lead = ankles_y[:, 0] - ankles_y[:, 1]
    assert lead.max() > 0.2 and lead.min() < -0.2
    knees = np.degrees(cycle.body_pose[:, [15, 16], 0])
    assert knees.max() > 40 and knees.min() < 25


def test_mirror_pose_is_an_involution():
    pose = key_poses.key_poses()["wave_right"].body_pose
    np.testing.assert_allclose(key_poses.mirror_pose(key_poses.mirror_pose(pose)), pose)
    assert "wave_right:mirror" in key_poses.key_poses()


def test_slerp_endpoints_and_midpoint():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    ra = roma.rotvec_to_rotmat(torch.tensor(a))
    rb = roma.rotvec_to_rotmat(torch.tensor(b))
    r0 = roma.rotvec_to_rotmat(torch.tensor(slerp_rotvec(a, b, 0.0)))
    r1 = roma.rotvec_to_rotmat(torch.tensor(slerp_rotvec(a, b, 1.0)))
    rm = roma.rotvec_to_rotmat(torch.tensor(slerp_rotvec(a, b, 0.5)))
    assert roma.rotmat_geodesic_distance(r0, ra).max() < 1e-6
    assert roma.rotmat_geodesic_distance(r1, rb).max() < 1e-6
    half = roma.rotmat_geodesic_distance(ra, rb) / 2
    torch.testing.assert_close(roma.rotmat_geodesic_distance(ra, rm), half, atol=1e-6, rtol=0)

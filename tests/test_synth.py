"""Synthetic sequences: motion, rigs, simulated detections, files and the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import roma
import torch
import yaml

from core.body.anny_body import AnnyBody
from core.canonical import joint_limits
from core.errors import CancelledError
from core.geometry.camera import project, transform_points
from core.keypoints import COCO17_NAMES
from core.synth import motion
from core.synth.detections import DetectionFaults, self_occlusion, simulate_detections
from core.synth.rig import look_at, random_rig
from core.synth.sequence import (
    generate_sequence,
    is_synth_output,
    make_synthetic_sequence,
    write_sequence,
)


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return AnnyBody()


@pytest.fixture(scope="module")
def seq(body):
    return generate_sequence(views=4, frames=60, seed=3, body_model=body)


# --- motion ------------------------------------------------------------------------------------


def test_motion_is_deterministic_smooth_varied_and_within_limits():
    a = motion.generate_motion(240, 30.0, np.random.default_rng(5))
    b = motion.generate_motion(240, 30.0, np.random.default_rng(5))
    np.testing.assert_array_equal(a.body_pose, b.body_pose)
    assert a.body_pose.shape == (240, 19, 3) and a.global_orient.shape == a.transl.shape == (240, 3)
    # Inside the joint limits by construction: the final clamp leaves (almost) nothing on a limit.
    lower, upper = joint_limits.joint_limits()
    assert (np.isclose(a.body_pose, lower, rtol=0, atol=1e-6) | np.isclose(a.body_pose, upper, rtol=0, atol=1e-6)).mean() < 0.01
    # Smooth: every joint turns less than 15 degrees between frames at 30 fps (450 deg/s).
    rot = roma.rotvec_to_rotmat(torch.tensor(a.body_pose))
    step = torch.rad2deg(roma.rotmat_geodesic_distance(rot[1:], rot[:-1]))
    assert step.max() < 15
    glob = roma.rotvec_to_rotmat(torch.tensor(a.global_orient))
    assert torch.rad2deg(roma.rotmat_geodesic_distance(glob[1:], glob[:-1])).max() < 10
    assert np.abs(np.diff(a.transl, axis=0)).max() < 0.1
    # Not degenerate: poses change a lot over 8 s, and more than one clip plays.
    assert torch.rad2deg(roma.rotmat_geodesic_distance(rot, rot[:1])).max() > 45
    assert len(a.clips) >= 3
    # The person stays near the rig centre.
    assert np.linalg.norm(a.transl[:, :2], axis=1).max() < 2.0


def test_motions_differ_between_seeds():
    a = motion.generate_motion(60, 30.0, np.random.default_rng(1))
    b = motion.generate_motion(60, 30.0, np.random.default_rng(2))
    assert not np.allclose(a.body_pose, b.body_pose)


# --- rigs ------------------------------------------------------------------------------------


def test_look_at_points_the_optical_axis_at_the_target():
    eye, target = np.array([3.0, -1.0, 1.5]), np.array([0.0, 0.5, 1.0])
    R = look_at(eye, target, roll=0.0)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    cam = R @ (target - eye)
    np.testing.assert_allclose(cam[:2], 0.0, atol=1e-12)
    assert cam[2] > 0
    # Level: world up is image up (camera -y) when there is no roll.
    assert (R @ np.array([0.0, 0.0, 1.0]))[1] < 0 and abs((R @ np.array([0.0, 0.0, 1.0]))[0]) < 1e-12


def test_random_rigs_vary_and_frame_the_points():
    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.3, size=(200, 3)) + [0, 0, 0.9]
    rigs = [random_rig(v, rng, points) for v in (2, 5, 8) for _ in range(4)]
    sizes, focals, heights, distances = set(), [], [], []
    for rig in rigs:
        pixels, depth = rig.project(points)
        assert (depth > 0).all()
        inside = (pixels >= 0).all(-1) & (pixels < rig.image_size[:, None, :]).all(-1)
        assert inside.all()
        np.testing.assert_allclose(rig.principal, rig.image_size / 2)
        sizes |= {tuple(s) for s in rig.image_size}
        focals += list(rig.focal)
        heights += list(rig.centers[:, 2])
        distances += list(np.linalg.norm(rig.centers[:, :2] - points[:, :2].mean(0), axis=1))
        assert rig.names[0] == "cam01"
    assert len(sizes) >= 4 and any(w < h for w, h in sizes)
    assert np.ptp(focals) > 300
    assert 0.5 <= min(heights) and max(heights) <= 2.5
    assert 2.2 <= min(distances) and max(distances) <= 6.3


# --- detections ------------------------------------------------------------------------------


def test_self_occlusion_hides_the_far_side():
    """Seen from the body's left, the right shoulder, hip and ear are behind the body; from
    behind, the nose and eyes are. Joints: a rest-like standing body facing -Y."""
    joints = np.array(
        [
            [0.0, -0.14, 1.62], [0.03, -0.12, 1.65], [-0.03, -0.12, 1.65], [0.074, -0.04, 1.63], [-0.074, -0.04, 1.63],
            [0.16, 0.0, 1.45], [-0.16, 0.0, 1.45], [0.32, -0.03, 1.25], [-0.32, -0.03, 1.25], [0.44, -0.18, 1.12],
            [-0.44, -0.18, 1.12], [0.09, 0.0, 0.97], [-0.09, 0.0, 0.97], [0.14, -0.03, 0.6], [-0.14, -0.03, 0.6],
            [0.17, 0.0, 0.22], [-0.17, 0.0, 0.22],
        ]
    )  # fmt: skip
    k = {n: i for i, n in enumerate(COCO17_NAMES)}
    from_left = look_at(np.array([4.0, 0.0, 1.2]), np.array([0.0, 0.0, 1.0]))
    cam = joints @ from_left.T - from_left @ np.array([4.0, 0.0, 1.2])
    hidden = self_occlusion(cam)
    assert hidden[k["right_shoulder"]] and hidden[k["right_hip"]] and hidden[k["right_ear"]]
    assert not hidden[k["left_shoulder"]] and not hidden[k["left_hip"]] and not hidden[k["left_ear"]]
    from_back = look_at(np.array([0.0, 4.0, 1.2]), np.array([0.0, 0.0, 1.0]))
    cam = joints @ from_back.T - from_back @ np.array([0.0, 4.0, 1.2])
    hidden = self_occlusion(cam)
    assert hidden[k["nose"]] and hidden[k["left_eye"]] and not hidden[k["left_shoulder"]]
    from_front = look_at(np.array([0.0, -4.0, 1.2]), np.array([0.0, 0.0, 1.0]))
    cam = joints @ from_front.T - from_front @ np.array([0.0, -4.0, 1.2])
    assert not self_occlusion(cam).any()


def test_detection_noise_matches_the_requested_sigma(seq):
    faults = DetectionFaults(noise_px=6.0, bias_px=0.0, outlier_rate=0.0, body_swap_rate=0.0, limb_swap_rate=0.0)
    rng = np.random.default_rng(1)
    joints_cam = np.einsum("vij,fkj->fvki", seq.cam_R, seq.joints3d) + seq.cam_t[None, :, None]
    det = simulate_detections(joints_cam, seq.keypoints2d_clean[..., :2], seq.image_size, rng, faults)
    plain = ~det.occluded & ~det.out_of_frame & ~det.missing
    scale = seq.image_size[:, 1] / 1000.0
    err = (det.keypoints[..., :2] - seq.keypoints2d_clean[..., :2]) / scale[None, :, None, None]
    sigma = err[plain].std(axis=0)
    np.testing.assert_allclose(sigma, 6.0, rtol=0.1)
    assert abs(err[plain].mean()) < 0.5
    conf = det.keypoints[..., 2]
    assert conf.min() >= 0 and conf.max() <= 1
    assert conf[plain].mean() > 0.7 and conf[det.occluded].mean() < 0.35


def test_detection_faults_occur_at_plausible_rates(seq):
    gt = seq.gt_arrays()
    occluded, outlier, swapped, missing = (gt[f"fault_{k}"] for k in ("occluded", "outlier", "swapped", "missing"))
    assert 0.03 < occluded.mean() < 0.4
    assert 0.002 < outlier.mean() < 0.03
    assert 0.005 < swapped.any(axis=-1).mean() < 0.12
    assert 0.005 < missing.mean() < 0.2
    conf = seq.keypoints2d[..., 2]
    assert (conf[missing] == 0).all() and (conf[~missing] > 0).all()
    err = np.linalg.norm(seq.keypoints2d[..., :2] - seq.keypoints2d_clean[..., :2], axis=-1)
    height = seq.image_size[None, :, None, 1]
    # Outliers are far off; swapped joints sit near their partner.
    assert np.median((err / height)[outlier]) > 0.03
    assert np.median((err / height)[~outlier & ~swapped & ~occluded]) < 0.01
    # The per-view bias is fixed over time and largest at the hips.
    bias = gt["detection_bias"]
    assert bias.shape == (4, 17, 2)
    assert np.abs(bias[:, 11:13]).mean() > np.abs(bias[:, :11]).mean()


# --- sequences -------------------------------------------------------------------------------


def test_sequence_shapes_and_projection(seq):
    F, V = 60, 4
    assert seq.keypoints2d.shape == seq.keypoints2d_clean.shape == (F, V, 17, 3)
    assert seq.joints3d.shape == (F, 17, 3) and seq.body_pose.shape == (F, 19, 3)
    assert seq.cam_R.shape == (V, 3, 3) and seq.cam_t.shape == (V, 3) and seq.cam_f.shape == (V,)
    # keypoints2d_clean is exactly the pinhole projection of joints3d (core.geometry.camera).
    cam = transform_points(torch.tensor(seq.joints3d)[:, None], torch.tensor(seq.cam_R), torch.tensor(seq.cam_t))
    uv = project(cam, torch.tensor(seq.cam_f).expand(F, V), torch.tensor(seq.cam_c).expand(F, V, 2))
    np.testing.assert_allclose(seq.keypoints2d_clean[..., :2], uv.numpy(), atol=1e-6)
    # Cameras look at the person: everything in front, nearly everything in the image.
    assert (cam[..., 2] > 0.5).all()
    inside = (uv >= 0).all(-1) & (uv < torch.tensor(seq.image_size)[None, :, None]).all(-1)
    assert inside.float().mean() > 0.97


def test_sequence_truth_is_consistent_with_the_body_model(seq, body):
    with torch.no_grad():
        out = body(
            torch.tensor(seq.global_orient, dtype=torch.float32),
            torch.tensor(seq.body_pose, dtype=torch.float32),
            torch.tensor(seq.shape, dtype=torch.float32).expand(60, 6),
            torch.tensor(seq.transl, dtype=torch.float32),
        )
    np.testing.assert_allclose(out.keypoints.numpy(), seq.joints3d, atol=2e-4)
    # Feet on the floor: the lowest vertex of every frame is at z = 0.
    np.testing.assert_allclose(out.vertices[..., 2].min(dim=1).values.numpy(), 0.0, atol=2e-4)
    assert ((0.1 <= seq.shape) & (seq.shape <= 0.9)).all()


def test_sequence_is_deterministic_per_seed(body):
    a = generate_sequence(views=3, frames=8, seed=11, body_model=body, keep_vertices=False)
    b = generate_sequence(views=3, frames=8, seed=11, body_model=body, keep_vertices=False)
    c = generate_sequence(views=3, frames=8, seed=12, body_model=body, keep_vertices=False)
    for key, value in a.gt_arrays().items():
        np.testing.assert_array_equal(value, b.gt_arrays()[key], err_msg=key)
    assert not np.allclose(a.joints3d, c.joints3d)


def test_written_files(tmp_path, body):
    out = make_synthetic_sequence(tmp_path / "seq", views=3, frames=5, seed=2, known_intrinsics=True, body_model=body)
    assert sorted(p.name for p in out.iterdir()) == ["gt.npz", "keypoints.npz", "sequence.yaml"]
    config = yaml.safe_load((out / "sequence.yaml").read_text())
    assert config["fps"] == 30.0
    assert [c["name"] for c in config["cameras"]] == ["cam01", "cam02", "cam03"]
    gt = np.load(out / "gt.npz")
    kp = np.load(out / "keypoints.npz")
    for name, shape in {
        "joints3d": (5, 17, 3), "cam_R": (3, 3, 3), "cam_t": (3, 3), "cam_f": (3,), "cam_c": (3, 2),
        "global_orient": (5, 3), "body_pose": (5, 19, 3), "shape": (6,), "transl": (5, 3),
        "keypoints2d": (5, 3, 17, 3), "keypoints2d_clean": (5, 3, 17, 3), "keypoint_names": (17,), "view_names": (3,),
    }.items():  # fmt: skip
        assert gt[name].shape == shape, name
    assert kp["keypoints2d"].dtype == np.float32
    np.testing.assert_array_equal(kp["keypoints2d"], gt["keypoints2d"])
    assert list(gt["keypoint_names"]) == list(COCO17_NAMES)
    for v, camera in enumerate(config["cameras"]):
        assert camera["image_size"] == gt["image_size"][v].tolist()
        assert camera["focal_px"] == pytest.approx(float(gt["cam_f"][v]), abs=1e-3)
        assert camera["principal_point"] == pytest.approx(gt["cam_c"][v].tolist(), abs=1e-3)
    # Without --known-intrinsics the focal length is not given away.
    again = make_synthetic_sequence(tmp_path / "seq", views=3, frames=5, seed=2, body_model=body)
    config = yaml.safe_load((again / "sequence.yaml").read_text())
    assert all("focal_px" not in c and "principal_point" not in c for c in config["cameras"])
    assert is_synth_output(again)


def test_the_io_reader_accepts_the_output(tmp_path, body):
    from core.io import MultiViewSequence

    out = make_synthetic_sequence(tmp_path / "seq", views=2, frames=3, seed=0, body_model=body, image_size=(320, 240))
    with MultiViewSequence.open(out) as sequence:
        assert sequence.num_frames == 3 and sequence.num_views == 2
        assert list(sequence.view_names) == ["cam01", "cam02"]
        np.testing.assert_array_equal(np.asarray(sequence.image_sizes), [[320, 240], [320, 240]])
        np.testing.assert_array_equal(np.asarray(sequence.given_keypoints), np.load(out / "gt.npz")["keypoints2d"])


def test_refuses_a_foreign_folder_and_leaves_it_alone(tmp_path, body):
    from core.errors import InputError

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    seq = generate_sequence(views=2, frames=2, seed=0, body_model=body, keep_vertices=False)
    with pytest.raises(InputError, match="not empty"):
        write_sequence(seq, foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    # An empty folder is fine; no temporary folders are left behind.
    empty = tmp_path / "empty"
    empty.mkdir()
    write_sequence(seq, empty)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]


def test_bad_arguments_raise_input_errors(body):
    from core.errors import InputError

    for kwargs in ({"views": 1}, {"views": 9}, {"frames": 0}, {"fps": 0.0}, {"noise_px": -1.0}):
        with pytest.raises(InputError):
            generate_sequence(**{"views": 2, "frames": 2, **kwargs}, body_model=body)


# --- command line ----------------------------------------------------------------------------


def _main(capsys, *args: str) -> tuple[int, str]:
    from core.cli import main

    try:
        code = main(["synth", *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


def test_cli_writes_a_sequence_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "seq"
    code, err = _main(capsys, str(out), "--views", "2", "--frames", "3", "--seed", "4", "--noise", "2", "--fps", "25")
    assert code == 0, err
    assert (out / "gt.npz").exists()
    assert yaml.safe_load((out / "sequence.yaml").read_text())["fps"] == 25.0
    # Overwriting a previous output is allowed; missing parent folders are made.
    assert _main(capsys, str(out), "--views", "2", "--frames", "2")[0] == 0
    assert _main(capsys, str(tmp_path / "new" / "deeper"), "--views", "2", "--frames", "1")[0] == 0

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("x")
    (tmp_path / "file").write_text("x")
    for args in (
        (str(tmp_path / "x"), "--views", "1"),
        (str(tmp_path / "x"), "--views", "9"),
        (str(tmp_path / "x"), "--frames", "0"),
        (str(tmp_path / "x"), "--noise", "-3"),
        (str(tmp_path / "x"), "--fps", "0"),
        (str(foreign),),
        (str(tmp_path / "file"),),
    ):
        code, err = _main(capsys, *args)
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    # argparse's own errors exit 2 too.
    assert _main(capsys, str(tmp_path / "x"), "--image-size", "big")[0] == 2
    assert not (tmp_path / "x").exists()
    assert [p.name for p in foreign.iterdir()] == ["a.txt"]


def test_cli_exit_status_in_a_real_process(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "core.cli", "synth", str(tmp_path / "x"), "--views", "12"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["error: --views must be between 2 and 8, got 12"]


def test_cli_render_writes_readable_images(tmp_path, capsys):
    import cv2

    out = tmp_path / "seq"
    code, err = _main(capsys, str(out), "--views", "2", "--frames", "2", "--render", "--image-size", "160x120")
    assert code == 0, err
    gt = np.load(out / "gt.npz")
    for v, name in enumerate(("cam01", "cam02")):
        files = sorted((out / "images" / name).iterdir())
        assert [f.name for f in files] == ["000000.png", "000001.png"]
        for f, path in enumerate(files):
            image = cv2.imread(str(path))
            assert image.shape == (120, 160, 3)
            assert image.std() > 10  # a scene, not a blank frame
            # The person is in the picture (where the renderer puts them is tested in test_render).
            x, y = gt["keypoints2d_clean"][f, v, 11, :2].astype(int)
            assert 0 <= x < 160 and 0 <= y < 120


def test_render_can_be_cancelled_and_leaves_nothing(tmp_path, body):
    """The app's demo dialog cancels the first build through ``on_frame``."""
    seen = []

    def on_frame(done, total):
        seen.append((done, total))
        if done >= 2:
            raise CancelledError("cancelled")

    out = tmp_path / "cancelled"
    with pytest.raises(CancelledError):
        make_synthetic_sequence(out, views=2, frames=3, seed=5, render=True, body_model=body, on_frame=on_frame,
                                image_size=(160, 120))
    assert seen and seen[-1] == (2, 6), seen
    assert not out.exists() and not any(p.name.startswith(".cancelled") for p in tmp_path.iterdir())

"""Interop on a real fit (`cmanet synth` sequence, optimizer): the exported calibration reprojects
the result as the app reports it, Pose2Sim's triangulation with it agrees with our joints3d, and
detections imported as OpenPose JSON give the same fit as the native path."""

import shutil
import subprocess
import sys
import tomllib

import numpy as np
import pytest
from _interop_readers import dlt_triangulate, pose2sim_projections

from core.body import load_body_model
from core.fit.config import load_fit_config
from core.fit.sequence import fit_sequence
from core.io.calibration import read_calibration
from core.io.export import export_result
from core.io.keypoint_import import openpose_frame_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from core.synth import make_synthetic_sequence

    root = tmp_path_factory.mktemp("interop")
    body = load_body_model()
    seq = make_synthetic_sequence(root / "seq", views=4, frames=16, seed=11, body_model=body)
    result, _ = fit_sequence(seq, root / "res", load_fit_config())
    export_result(root / "res", root / "exp", ("calib-toml", "easymocap", "openpose-json"), body)
    return seq, root, result


def test_exported_calibration_reprojects_with_the_error_the_app_shows(fitted):
    import cv2

    _, root, result = fitted
    calib = tomllib.loads((root / "exp" / "Calib.toml").read_text())
    cameras = [calib[str(v)] for v in result.view_names]
    assert calib["metadata"]["error"] == pytest.approx(float(np.nanmean(result.iev_reproj_px)))
    threshold = load_fit_config().confidence_threshold
    errors = np.zeros((result.num_frames, result.num_views))
    for v, cam in enumerate(cameras):
        assert cam["size"] == [float(s) for s in result.image_sizes[v]] and cam["fisheye"] is False
        projected, _ = cv2.projectPoints(result.joints3d.reshape(-1, 3).astype(np.float64), np.array(cam["rotation"]),
                                         np.array(cam["translation"]), np.array(cam["matrix"]), np.array(cam["distortions"]))
        projected = projected.reshape(result.num_frames, 17, 2)
        detections = result.keypoints2d[:, v]
        weight = np.where(detections[..., 2] > threshold, detections[..., 2], 0.0)
        distance = np.linalg.norm(projected - detections[..., :2], axis=-1)
        with np.errstate(invalid="ignore"):  # a frame that view does not see: no error (NaN, as the result's)
            errors[:, v] = (weight * distance).sum(-1) / weight.sum(-1)
    assert np.allclose(errors, result.iev_reproj_px, atol=0.01, equal_nan=True)


def test_pose2sim_triangulation_with_the_exported_calibration_agrees_with_joints3d(fitted):
    _, root, result = fitted
    projections = pose2sim_projections(tomllib.loads((root / "exp" / "Calib.toml").read_text()))
    threshold = load_fit_config().confidence_threshold
    errors = []
    for f in range(result.num_frames):
        for k in range(17):
            seen = result.keypoints2d[f, :, k, 2] > threshold
            if seen.sum() < 3:
                continue
            point = dlt_triangulate([p for p, s in zip(projections, seen) if s], result.keypoints2d[f, seen, k, :2],
                                    result.keypoints2d[f, seen, k, 2])
            errors.append(np.linalg.norm(point - result.joints3d[f, k]))
    assert len(errors) > 100 and np.median(errors) < 0.03  # metres


def test_easymocap_calibration_holds_the_same_cameras(fitted):
    _, root, result = fitted
    rig = read_calibration(root / "exp" / "easymocap")
    assert rig.names == [str(v) for v in result.view_names]
    assert np.allclose(rig.rotations, result.cam_R[0], atol=1e-6) and np.allclose(rig.translations, result.cam_t[0], atol=1e-6)
    assert np.allclose([c.focal_px for c in rig.cameras], result.cam_f[0], rtol=1e-6)


def test_openpose_json_of_our_detections_gives_the_same_fit(fitted, tmp_path):
    seq, root, native = fitted
    given = np.load(seq / "keypoints.npz")["keypoints2d"]
    pose = tmp_path / "pose"
    for v, name in enumerate(native.view_names):
        (pose / f"{name}_json").mkdir(parents=True)
        for f in range(given.shape[0]):
            (pose / f"{name}_json" / f"{name}_{f:012d}_keypoints.json").write_text(openpose_frame_json(given[f, v]))
    bare = tmp_path / "seq"  # the same sequence without its keypoints.npz
    bare.mkdir()
    shutil.copy(seq / "sequence.yaml", bare / "sequence.yaml")
    imported, _ = fit_sequence(bare, tmp_path / "res", load_fit_config(), keypoints=pose)
    assert np.array_equal(imported.keypoints2d, native.keypoints2d)
    assert np.abs(imported.joints3d - native.joints3d).max() < 1e-4
    assert np.abs(imported.cam_R - native.cam_R).max() < 1e-4
    # and the detections exported by `cmanet export --format openpose-json` read back as they were used
    from core.io.keypoint_import import read_keypoints

    back = read_keypoints(root / "exp" / "openpose").for_views([str(v) for v in native.view_names])
    assert np.allclose(back, native.keypoints2d, atol=1e-4)


def test_fit_cli_with_calibration_and_keypoints_bad_input(fitted, tmp_path):
    seq, root, _ = fitted

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "core.cli", "fit", str(seq), "--out", str(tmp_path / "res"), *extra],
                              capture_output=True, text=True)

    proc = run("--keypoints", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "nope: no such keypoint folder or file" in proc.stderr
    (tmp_path / "bad.toml").write_text("[cam01\n")
    proc = run("--calibration", str(tmp_path / "bad.toml"))
    assert proc.returncode == 2 and "bad.toml: not a readable TOML calibration" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_known_calibration_holds_the_cameras_and_keeps_its_world(fitted, tmp_path):
    """The rig's true cameras as a Pose2Sim TOML (cmanet fit --calibration): the fit keeps them
    exactly and its skeleton lands in their world, without any alignment."""
    from core.io.calibration import CameraCalibration, RigCalibration, toml_text

    seq, _, native = fitted
    gt = np.load(seq / "gt.npz")
    cam_R, cam_t, focal = gt["cam_R"], gt["cam_t"], gt["cam_f"]
    rig = RigCalibration(tuple(
        CameraCalibration(str(name), tuple(int(v) for v in size), np.array([[f, 0, c[0]], [0, f, c[1]], [0, 0, 1.0]]),
                          np.zeros(4), R.astype(np.float64), t.astype(np.float64))
        for name, size, f, c, R, t in zip(gt["view_names"], gt["image_size"], focal, gt["cam_c"], cam_R, cam_t)))
    (tmp_path / "Calib.toml").write_text(toml_text(rig))
    result, _ = fit_sequence(seq, tmp_path / "res", load_fit_config(), calibration=tmp_path / "Calib.toml")
    assert np.allclose(result.cam_R[0], cam_R, atol=1e-5) and np.allclose(result.cam_t[0], cam_t, atol=1e-5)
    assert np.allclose(result.cam_f[0], focal, rtol=1e-5)
    error = np.linalg.norm(result.joints3d - gt["joints3d"], axis=-1).mean()
    assert error < 0.05  # metres, in the calibration's own world

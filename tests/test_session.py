"""Sessions of trials (``cmanet batch``): the folder layout, the shared rig, resuming, a failing
trial, and the same results from worker processes and from a local Ray instance."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from _make_sequence import keypoints_only_sequence, snapshot, video_sequence, write_yaml
from core.config import to_dict
from core.errors import InputError
from core.fit.config import load_fit_config
from core.geometry import metrics
from core.geometry.bundle import bundle_adjust, explained, projection_matrices
from core.io.calibration import CameraCalibration, RigCalibration, read_toml, toml_text
from core.io.results import FitResult
from core.io.sequence import MultiViewSequence
from core.session.batch import BatchOptions, run_batch
from core.session.config import load_session_config
from core.session.executors import ProcessExecutor, SerialExecutor
from core.session.layout import open_session
from core.synth.session import generate_session, write_session

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------ layout


def _calibration(names: list[str]) -> RigCalibration:
    cameras = tuple(CameraCalibration(n, (64, 48), np.array([[80.0, 0, 32], [0, 80.0, 24], [0, 0, 1]]), np.zeros(4),
                                      np.eye(3), np.array([0.1 * i, 0.0, 3.0])) for i, n in enumerate(names))
    return RigCalibration(cameras)


def test_pose2sim_session_layout(tmp_path):
    session = tmp_path / "Demo_Batch"
    video_sequence(session / "Trial_1")
    video_sequence(session / "Trial_10")
    video_sequence(session / "Trial_2", under=None)  # videos directly in the trial folder
    video_sequence(session / "P01" / "T01")  # a participant's folder of trials
    (session / "Config.toml").write_text("[project]\n")
    (session / "calibration").mkdir()
    (session / "calibration" / "Calib.toml").write_text(toml_text(_calibration(["cam01", "cam02"])))
    (session / "calibration" / "intrinsics").mkdir()  # Pose2Sim's board images: not a trial
    video_sequence(session / "_old" / "Trial_9")  # folders starting with _ are skipped

    found = open_session(session)
    assert [t.name for t in found.trials] == ["P01/T01", "Trial_1", "Trial_2", "Trial_10"]
    assert found.calibration == (session / "calibration" / "Calib.toml").resolve()
    assert found.sequence_yaml is None


def test_our_session_layout_with_a_shared_sequence_yaml(tmp_path):
    session = tmp_path / "session"
    for name in ("walk", "run"):
        (session / name).mkdir(parents=True)
        np.savez(session / name / "keypoints.npz", keypoints2d=np.zeros((5, 2, 17, 3), np.float32))
    write_yaml(session, {"fps": 50, "cameras": [{"name": "left", "image_size": [640, 480]},
                                                {"name": "right", "image_size": [640, 480]}]})
    keypoints_only_sequence(session / "own")  # a trial with its own sequence.yaml keeps it
    found = open_session(session)
    assert [t.name for t in found.trials] == ["own", "run", "walk"]
    assert found.calibration is None and found.sequence_yaml == session.resolve() / "sequence.yaml"
    with MultiViewSequence.open(found.trial("walk").path, default_yaml=found.sequence_yaml) as seq:
        assert seq.view_names == ["left", "right"] and seq.fps == 50
    with MultiViewSequence.open(found.trial("own").path, default_yaml=found.sequence_yaml) as seq:
        assert seq.view_names == ["cam01", "cam02", "cam03"]


def test_session_layout_errors(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        open_session(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no trials"):
        open_session(tmp_path / "empty")
    video_sequence(tmp_path / "single")
    with pytest.raises(InputError, match="single multi-view sequence.*cmanet fit"):
        open_session(tmp_path / "single")
    session = tmp_path / "two_calibrations"
    video_sequence(session / "Trial_1")
    (session / "calibration").mkdir()
    for name in ("Calib_a.toml", "Calib_b.toml"):
        (session / "calibration" / name).write_text(toml_text(_calibration(["cam01", "cam02"])))
    with pytest.raises(InputError, match="several calibrations.*--calibration"):
        open_session(session)


# ------------------------------------------------------------------------------- the rig


def test_bundle_adjustment_recovers_a_perturbed_rig():
    """Two recordings' noisy detections pull a rotated, shifted rig back to the true one."""
    rng = np.random.default_rng(0)
    views = 4
    angles = np.linspace(0, 2 * np.pi, views, endpoint=False)
    eyes = np.stack([4 * np.cos(angles), 4 * np.sin(angles), np.full(views, 1.5)], axis=1)
    from core.synth.rig import look_at

    rotation = np.stack([look_at(e, np.array([0.0, 0.0, 1.0])) for e in eyes])
    translation = -np.einsum("vij,vj->vi", rotation, eyes)
    focal, principal = np.full(views, 800.0), np.tile([480.0, 270.0], (views, 1))
    true = projection_matrices(rotation, translation, focal, principal)
    recordings = []
    for _ in range(2):
        points = rng.uniform([-1, -1, 0], [1, 1, 1.8], (40, 17, 3))
        homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
        pixels = np.einsum("vij,fkj->fvki", true, homogeneous)
        pixels = pixels[..., :2] / pixels[..., 2:] + rng.normal(0, 1.0, (40, views, 17, 2))
        recordings.append(np.concatenate([pixels, np.ones(pixels.shape[:-1] + (1,))], axis=-1))
    recordings[0][::7, 1, :, :2] += 60.0  # a view that sees something else now and then

    turn = np.stack([np.eye(3)] + [_small_rotation(rng, 2.0) for _ in range(views - 1)])
    start_rot, start_t = turn @ rotation, translation + np.r_[[[0, 0, 0]], rng.normal(0, 0.05, (views - 1, 3))]
    rot, trans, f = bundle_adjust(start_rot, start_t, focal, principal, recordings, 0.5, 20.0, 2.0)

    def error(r):
        return float(metrics.relative_rotation_error_deg(torch.as_tensor(r), torch.as_tensor(rotation)).mean())

    assert error(start_rot) > 1.0
    assert error(rot) < 0.1 * error(start_rot)
    np.testing.assert_array_equal(f, focal)  # focal lengths kept unless estimated
    before = explained(projection_matrices(start_rot, start_t, focal, principal), recordings[1], 0.5, 20.0)
    after = explained(projection_matrices(rot, trans, f, principal), recordings[1], 0.5, 20.0)
    assert after.error_px < before.error_px and after.fraction > 0.99


def _small_rotation(rng, degrees: float) -> np.ndarray:
    import cv2

    axis = rng.normal(size=3)
    return cv2.Rodrigues((np.radians(degrees) * axis / np.linalg.norm(axis)).reshape(3, 1))[0]


# ------------------------------------------------------------------------- batch fitting


def _fast_config():
    """The optimizer with short schedules: the session machinery, not the fit, is tested here."""
    config = load_fit_config()
    return dataclasses.replace(
        config, irv=dataclasses.replace(config.irv, orientation_iterations=10, iterations=25),
        iev=dataclasses.replace(config.iev, rig_iterations=150, iterations=40))


@pytest.fixture(scope="module")
def synthetic_session(tmp_path_factory):
    """Three trials (each its own person and motion, 24 frames) seen by one 4-camera rig."""
    root = tmp_path_factory.mktemp("session") / "session"
    write_session(generate_session(trials=3, views=4, frames=24, seed=3), root)
    return root


@pytest.fixture(scope="module")
def serial_run(synthetic_session, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "serial"
    options = BatchOptions(_fast_config(), "optimize", session_config=load_session_config())
    summary = run_batch(synthetic_session, out, options, SerialExecutor())
    return out, summary, options


def _rotation_error(cam_r: np.ndarray, gt_r: np.ndarray) -> float:
    return float(metrics.relative_rotation_error_deg(torch.as_tensor(cam_r, dtype=torch.float64),
                                                     torch.as_tensor(gt_r, dtype=torch.float64)).mean())


def test_the_shared_rig_beats_every_trial_alone(synthetic_session, serial_run):
    out, summary, _ = serial_run
    names = ["trial01", "trial02", "trial03"]
    assert all(summary["trials"][n]["status"] == "done" for n in names)
    assert summary["rig"]["source"] == "estimated" and set(summary["rig"]["joined"]) == set(names)
    gt = np.load(synthetic_session / "trial01" / "gt.npz")
    alone = [_rotation_error(FitResult.load(out / n / "alone" / "result.npz").cam_R[0], gt["cam_R"]) for n in names]
    rig = read_toml(out / "calibration.toml").by_name([str(v) for v in gt["view_names"]])
    shared = _rotation_error(rig.rotations, gt["cam_R"])
    assert shared < min(alone), (shared, alone)
    for name in names:  # every trial fitted with exactly that rig, in its world
        result = FitResult.load(out / name / "result.npz")
        np.testing.assert_allclose(result.cam_R[0], rig.rotations, atol=1e-5)
        np.testing.assert_allclose(result.cam_t[0], rig.translations, atol=1e-5)
        report = summary["rig"]["trials"][name]
        assert report["own_reprojection_px"] > 0 and report["session_rig_explains_px"] > 0
        assert summary["trials"][name]["fit"]["iev_reproj_px_mean"] > 0


def test_resume_fits_only_what_is_missing(synthetic_session, serial_run, tmp_path):
    out, summary, options = serial_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = snapshot(copy)
    again = run_batch(synthetic_session, copy, options, SerialExecutor())
    assert {t["fit"]["status"] for t in again["trials"].values()} == {"skipped"}
    assert {t["alone"]["status"] for t in again["trials"].values()} == {"skipped"}
    after = snapshot(copy)
    assert {k: v for k, v in after.items() if k != "session.json"} == {k: v for k, v in before.items() if k != "session.json"}

    (copy / "trial02" / "result.npz").unlink()  # as if the run had stopped while fitting it
    again = run_batch(synthetic_session, copy, options, SerialExecutor())
    assert [n for n, t in again["trials"].items() if t["fit"]["status"] == "done"] == ["trial02"]
    np.testing.assert_array_equal(FitResult.load(copy / "trial02" / "result.npz").joints3d,
                                  FitResult.load(out / "trial02" / "result.npz").joints3d)


def test_a_failing_trial_is_reported_and_the_others_go_on(synthetic_session, serial_run, tmp_path):
    session = tmp_path / "session"
    shutil.copytree(synthetic_session, session)
    broken = session / "trial02" / "keypoints.npz"
    broken.write_bytes(b"not an npz")
    out = tmp_path / "out"
    config = tmp_path / "fit.yaml"
    config.write_text(yaml.safe_dump(to_dict(_fast_config())))
    done = subprocess.run([sys.executable, "-m", "core.cli", "batch", str(session), "--out", str(out), "--mode",
                           "optimize", "--config", str(config)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 1, done.stderr
    assert "failed: trial02: detect:" in done.stderr and "Traceback" not in done.stderr
    summary = json.loads((out / "session.json").read_text())
    assert summary["trials"]["trial02"]["status"] == "failed"
    assert str(broken) in summary["trials"]["trial02"]["error"]
    assert [summary["trials"][n]["status"] for n in ("trial01", "trial03")] == ["done", "done"]
    assert summary["rig"]["joined"] and "trial02" not in summary["rig"]["trials"]
    assert (out / "trial01" / "result.npz").is_file() and not (out / "trial02" / "result.npz").exists()


def test_bad_session_input_exits_2(tmp_path):
    session = tmp_path / "session"
    video_sequence(session / "Trial_1")
    def run(*args):
        return subprocess.run([sys.executable, "-m", "core.cli", "batch", *map(str, args)], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)
    done = run(session, "--out", session / "out")
    assert done.returncode == 2 and "must be outside the session" in done.stderr
    done = run(session, "--out", tmp_path / "out", "--calibration", tmp_path / "missing.toml")
    assert done.returncode == 2 and "no such calibration file" in done.stderr
    done = run(session / "Trial_1", "--out", tmp_path / "out")
    assert done.returncode == 2 and "single multi-view sequence" in done.stderr
    assert not (tmp_path / "out").exists()


def test_ray_missing_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    """``--ray`` where the optional ``ray`` package is not installed (an import of it fails)."""
    from core.cli import main

    session = tmp_path / "session"
    video_sequence(session / "Trial_1")
    monkeypatch.setitem(sys.modules, "ray", None)  # what ``import ray`` meets where it is not installed
    code = main(["batch", str(session), "--out", str(tmp_path / "out"), "--ray", "local"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --ray needs the ray package: pip install ray"
    assert not (tmp_path / "out").exists()


def test_detections_go_to_the_detection_cache_not_the_output(tmp_path, monkeypatch):
    """Video trials are detected into the one detection cache (by content, shared with ``cmanet
    fit`` and the app), never into the session or the output folder; trials in which nobody is
    seen are reported failed."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CMANET_CACHE_DIR", str(cache))
    session = tmp_path / "session"
    for name in ("Trial_1", "Trial_2"):
        video_sequence(session / name, num_frames=(3, 3))
    before = snapshot(session)
    out = tmp_path / "out"
    summary = run_batch(session, out, BatchOptions(_fast_config(), "optimize"), SerialExecutor())
    entries = sorted((cache / "detections").rglob("f*.npz"))
    assert len(entries) == 6  # 2 trials x 2 views x 3 frames, one entry each
    assert not list(out.rglob("f*.npz")) and snapshot(session) == before
    assert {t["status"] for t in summary["trials"].values()} == {"failed"}
    assert all("no frame shows the person" in t["error"] for t in summary["trials"].values())


def _same_results(a: Path, b: Path, names=("trial01", "trial02", "trial03")) -> None:
    assert (a / "calibration.toml").read_text() == (b / "calibration.toml").read_text()
    for name in names:
        for sub in ("alone", "."):
            x, y = FitResult.load(a / name / sub / "result.npz"), FitResult.load(b / name / sub / "result.npz")
            for key in ("joints3d", "cam_R", "cam_t", "cam_f", "shape"):
                np.testing.assert_array_equal(getattr(x, key), getattr(y, key), err_msg=f"{name}/{sub} {key}")


def test_worker_processes_give_the_serial_results(synthetic_session, serial_run, tmp_path):
    out, _, options = serial_run
    summary = run_batch(synthetic_session, tmp_path / "jobs2", options, ProcessExecutor(jobs=2, threads=1))
    assert summary["executor"] == "2 processes x 1 thread"
    _same_results(out, tmp_path / "jobs2")


def test_a_local_ray_instance_gives_the_serial_results(synthetic_session, serial_run, tmp_path):
    pytest.importorskip("ray", reason="ray is an optional dependency (pip install ray)")
    from core.session.executors import RayExecutor

    out, _, options = serial_run
    summary = run_batch(synthetic_session, tmp_path / "ray", options, RayExecutor("local", threads=1, cpus=2))
    assert summary["executor"].startswith("Ray at local")
    _same_results(out, tmp_path / "ray")

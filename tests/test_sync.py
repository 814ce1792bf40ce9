"""Cameras out of sync: offsets estimated from the person's motion (core.fit.sync), applied
around the fit (core.fit.capture), kept where known, reported in the result and summary, and
made by ``cmanet synth --time-offsets``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from core.bench.capture import TIME_MARGIN, common_frames
from core.body import load_body_model
from core.fit.capture import CaptureInfo, fit_captured
from core.fit.config import load_fit_config
from core.fit.sequence import FitInputs, camera_intrinsics, fit_result
from core.fit.sync import estimate_offsets
from core.geometry.bundle import PinholeRig
from core.io.results import FitResult
from core.io.timeline import shift_in_time
from core.synth import generate_sequence

OFFSETS = np.array([0.0, 2.5, -3.0, 4.5])


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def shifted(body):
    return generate_sequence(4, 80, 3, body_model=body, keep_vertices=False, time_offsets=OFFSETS, time_margin=TIME_MARGIN)


def inputs_of(seq) -> FitInputs:
    focal, principal = camera_intrinsics(seq.image_size)
    return FitInputs(seq.keypoints2d.astype(np.float32), focal, principal, np.asarray(seq.image_size), list(seq.view_names),
                     np.arange(seq.num_frames), seq.fps, {}, np.zeros(seq.num_views, dtype=bool))


def quick_config(**sync):
    config = load_fit_config()
    sync = {"enabled": True, **sync}
    return dataclasses.replace(
        config, irv=dataclasses.replace(config.irv, orientation_starts=4, iterations=25),
        iev=dataclasses.replace(config.iev, rig_iterations=150), sync=dataclasses.replace(config.sync, **sync))


def test_synthetic_offsets_make_each_view_film_its_own_moments(body, shifted):
    """View v's frame f + o_v shows the truth's frame f: its detections (without faults) are the
    truth projected there, so moving them back by o_v lines them up with the first view's clock."""
    rig = shifted.rig
    pixels, _ = rig.project(shifted.joints3d)  # (F, V, 17, 2) the first view's moments
    clean = shift_in_time(shifted.keypoints2d_clean, OFFSETS)
    both = common_frames(OFFSETS, shifted.num_frames)
    error = np.linalg.norm(clean[both, :, :, :2] - pixels[both], axis=-1)
    assert np.median(error) < 0.5 and np.mean(error < 3.0) > 0.99  # interpolated linearly, motion is not linear
    assert np.abs(shifted.keypoints2d_clean[both, 1, :, :2] - pixels[both, 1]).max() > 10
    np.testing.assert_array_equal(shifted.gt_arrays()["time_offsets_frames"], OFFSETS)


def test_offsets_found_with_the_true_rig(shifted):
    rig = PinholeRig(shifted.cam_R, shifted.cam_t, shifted.cam_f, shifted.cam_c)
    found = estimate_offsets(shifted.keypoints2d, rig, 0.3, 10)
    assert found.offsets[0] == 0.0
    assert np.abs(found.offsets - OFFSETS).max() < 0.25
    whole = estimate_offsets(shifted.keypoints2d, rig, 0.3, 10, sub_frame=False)
    assert np.all(whole.offsets == np.round(whole.offsets)) and np.abs(whole.offsets - OFFSETS).max() <= 1.0
    fixed = estimate_offsets(shifted.keypoints2d, rig, 0.3, 10, fixed=np.array([False, True, False, False]))
    assert fixed.offsets[1] == 0.0


def test_fit_synchronises_the_cameras(body, shifted):
    result, timings = fit_captured(inputs_of(shifted), quick_config(), fit_result, body=body)
    assert np.abs(result.view_time_offsets - OFFSETS).max() < 0.5
    assert timings["sync_s"] > 0
    np.testing.assert_array_equal(result.view_distortions, np.zeros((4, 5)))


def test_known_offsets_are_kept_and_sync_can_be_off(body, shifted):
    capture = dataclasses.replace(CaptureInfo.default(4, shifted.fps), offset_known=np.array([True, True, True, True]),
                                  shift=OFFSETS.copy())
    result, timings = fit_captured(inputs_of(shifted), quick_config(), fit_result, capture, body=body)
    np.testing.assert_allclose(result.view_time_offsets, OFFSETS)
    assert "sync_s" not in timings  # nothing left to estimate: one fit
    off, timings = fit_captured(inputs_of(shifted), quick_config(enabled=False), fit_result, body=body)
    np.testing.assert_array_equal(off.view_time_offsets, np.zeros(4))
    assert "sync_s" not in timings


def test_cli_synth_offsets_and_fit_summary(tmp_path):
    seq, out = tmp_path / "seq", tmp_path / "res"
    cli = [sys.executable, "-m", "core.cli"]
    made = subprocess.run(cli + ["synth", str(seq), "--frames", "24", "--views", "2", "--time-offsets", "0", "1.5",
                                 "--known-offsets", "--distortion", "-0.1"], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    text = (seq / "sequence.yaml").read_text()
    assert "time_offset_frames: 1.5" in text and "distortions" in text
    fitted = subprocess.run(cli + ["fit", str(seq), "--out", str(out), "--mode", "optimize"], capture_output=True, text=True, check=False)
    assert fitted.returncode == 0, fitted.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["time_offsets_frames"] == {"cam01": 0.0, "cam02": 1.5}
    result = FitResult.load(out)
    assert result.frame_indices[0] == 0 and result.num_frames == 22  # cut to the moments both filmed
    np.testing.assert_allclose(result.view_distortions[:, 0], [-0.1, -0.1], rtol=1e-6)
    bad = subprocess.run(cli + ["synth", str(tmp_path / "r"), "--render", "--time-offsets", "0", "1"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


def test_cli_fit_sync_on_and_off(tmp_path):
    seq = tmp_path / "seq"
    cli = [sys.executable, "-m", "core.cli"]
    assert subprocess.run(cli + ["synth", str(seq), "--frames", "40", "--views", "3", "--time-offsets", "0", "2", "-1"],
                          capture_output=True, check=False).returncode == 0
    found = {}
    for flag in ("--sync", "--no-sync"):
        out = tmp_path / flag
        fitted = subprocess.run(cli + ["fit", str(seq), "--out", str(out), "--mode", "optimize", flag],
                                capture_output=True, text=True, check=False)
        assert fitted.returncode == 0, fitted.stderr
        found[flag] = json.loads((out / "summary.json").read_text())["time_offsets_frames"]
    assert abs(found["--sync"]["cam02"] - 2.0) < 0.5 and abs(found["--sync"]["cam03"] + 1.0) < 0.5
    assert found["--no-sync"] == {"cam01": 0.0, "cam02": 0.0, "cam03": 0.0}


def test_offsets_set_by_hand_become_known_shifts(tmp_path):
    from _make_sequence import image_sequence, write_yaml

    from core.errors import InputError
    from core.io import MultiViewSequence

    root = image_sequence(tmp_path, num_frames=(12, 12, 12), sizes=((64, 48),) * 3)
    write_yaml(root, {"frame_step": 2, "cameras": [{"name": "cam01"}, {"name": "cam02", "fps": 50, "time_offset_frames": 1},
                                                   {"name": "cam03"}]})
    with MultiViewSequence.open(root) as seq:
        info = CaptureInfo.of_sequence(seq, {"cam03": -3.0})
        np.testing.assert_array_equal(info.offset_known, [False, True, True])
        # cam03 moves by -3 of its frames: -1.5 frames of the sequence (every second frame).
        np.testing.assert_allclose(info.shift, [0.0, 0.0, -1.5])
        np.testing.assert_allclose(info.frames_per_sequence_frame, [2.0, 2 * 50 / 30, 2.0])  # cam01 at 30 fps
        try:
            CaptureInfo.of_sequence(seq, {"cam09": 1.0})
        except InputError as exc:
            assert "cam09" in str(exc)
        else:
            raise AssertionError("an unknown camera must be refused")

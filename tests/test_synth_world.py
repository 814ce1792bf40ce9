"""The shipped model's training world: wide rigs, detector faults measured on real footage, and
bystanders (core/synth/rig.py RIG_RANGES, core/synth/measured_faults.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.body.anny_body import AnnyBody
from core.synth.detections import FAULT_PRESETS, simulate_detections
from core.synth.measured_faults import load_measured_faults
from core.synth.rig import RIG_RANGES, random_rig
from core.synth.sequence import generate_sequence


@pytest.fixture(scope="module")
def body():
    return AnnyBody()


def test_wide_rigs_cover_the_ranges_and_keep_the_person_in_frame():
    rng = np.random.default_rng(3)
    points = rng.normal(0, 0.25, size=(300, 3)) * [1.0, 1.0, 2.5] + [0, 0, 0.9]
    centre = 0.5 * (points.min(0) + points.max(0))
    ranges = RIG_RANGES["wide"]
    ratios, distances, elevations, rolls = [], [], [], []
    for _ in range(30):
        rig = random_rig(4, rng, points, ranges=ranges)
        pixels, depth = rig.project(points)
        assert (depth > 0).all()
        assert ((pixels >= 0) & (pixels < rig.image_size[:, None, :])).all()
        offset = rig.centers - centre
        distances += list(np.linalg.norm(offset, axis=1))
        elevations += list(np.degrees(np.arcsin(offset[:, 2] / np.linalg.norm(offset, axis=1))))
        ratios += list(rig.focal / rig.image_size.max(axis=1))
        gravity = rig.rotation @ np.array([0.0, 0.0, -1.0])  # (V, 3) in each camera's axes
        rolls += list(np.degrees(np.arctan2(gravity[:, 0], gravity[:, 1])))
    assert min(distances) >= 2.0 - 1e-6 and max(distances) <= 8.0 + 1e-6 and np.ptp(distances) > 4.0
    assert min(elevations) >= -1e-6 and max(elevations) > 50.0  # ceiling mounts
    assert 0.55 < min(ratios) < 0.75 and 1.4 < max(ratios) <= 1.6 + 1e-9
    # Tripods set by hand: the real demo rig has cameras rolled 13 and 26 deg.
    assert np.percentile(np.abs(rolls), 90) > 15.0 and max(np.abs(rolls)) > 25.0


def test_measured_tables_load_and_describe_mediapipe():
    tables = load_measured_faults("mediapipe_pose2sim")
    assert tables.conf_hist.shape == (17, 2, len(tables.conf_edges) - 1)
    np.testing.assert_allclose(tables.conf_hist.sum(-1), 1.0, atol=1e-3)
    # MediaPipe reports high confidences for the face and torso, and errors of centimetres.
    assert tables.conf_hist[0, 0, -2:].sum() > 0.8
    assert (0.005 < tables.sigma_m).all() and (tables.sigma_m < 0.2).all()
    assert 0.0 <= tables.noise_correlation < 1.0


def test_real_faults_follow_the_measured_tables(body):
    """``--faults real``: confidences drawn from the measured histograms (mostly near 1, never
    missing when in view), and the noise of plainly seen joints, in metres at their depth, near the
    table's sigma; the noise is correlated from frame to frame as measured."""
    preset = dataclasses.replace(FAULT_PRESETS["real"], bystander_rate=0.0, body_swap_rate=0.0, limb_swap_rate=0.0)
    seq = generate_sequence(4, 60, seed=5, faults=preset, body_model=body, keep_vertices=False, rig_ranges="wide")
    tables = load_measured_faults(preset.measured)
    det = seq.detections
    joints_cam = np.einsum("vij,fkj->fvki", seq.cam_R, seq.joints3d) + seq.cam_t[None, :, None]
    plain = ~det.occluded & ~det.out_of_frame & ~det.outlier
    conf = seq.keypoints2d[..., 2]
    assert np.median(conf[plain]) > 0.95 and not det.missing[plain].any()
    err_m = (seq.keypoints2d[..., :2] - seq.keypoints2d_clean[..., :2] - det.bias[None]) * (
        joints_cam[..., 2] / seq.cam_f[None, :, None])[..., None]
    measured = err_m[plain].std()
    expected = np.sqrt(np.mean(np.square(tables.sigma_m)))
    assert 0.5 * expected < measured < 2.0 * expected
    lag = err_m[1:][plain[1:] & plain[:-1]].ravel(), err_m[:-1][plain[1:] & plain[:-1]].ravel()
    assert np.corrcoef(*lag)[0, 1] > 0.5


def test_bystanders_take_over_runs_of_a_view(body):
    clean = generate_sequence(3, 40, seed=2, body_model=body, keep_vertices=False)
    faults = dataclasses.replace(FAULT_PRESETS["default"], bystander_rate=0.2, noise_px=0.0)
    rng = np.random.default_rng(0)
    joints_cam = np.einsum("vij,fkj->fvki", clean.cam_R, clean.joints3d) + clean.cam_t[None, :, None]
    det = simulate_detections(joints_cam, clean.keypoints2d_clean[..., :2], clean.image_size, rng, faults, focal=clean.cam_f)
    taken = det.outlier.all(-1)  # a bystander's frame: every joint is someone else's
    assert taken.any() and not taken.all()
    moved = np.linalg.norm(det.keypoints[..., :2] - clean.keypoints2d_clean[..., :2], axis=-1).mean(-1)
    assert np.median(moved[taken]) > 5 * np.median(moved[~det.outlier.any(-1)])
    assert (det.keypoints[..., 2][taken] >= 0.7).all()
    frames, views = np.nonzero(taken)
    xy = det.keypoints[frames, views, :, :2]
    assert ((xy >= 0) & (xy <= clean.image_size[views][:, None, :])).all()  # someone in the picture

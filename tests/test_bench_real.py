"""The real-footage benchmark on a slice of the shipped demo (the walking trial): its reference,
its calibration reader, and its scores."""

from __future__ import annotations

import numpy as np
import pytest

from core.bench import real
from core.geometry.triangulation import triangulate_robust
from core.io.calibration import read_qca


def test_qca_calibration_sees_the_other_cameras():
    """The Qualisys file read as Pose2Sim converts it: four cameras in metres, about 1680 px focal
    length, and each camera centre in front of the cameras that film it (the rig is ceiling-mounted
    around one platform, so every camera sees at least one other)."""
    calib = read_qca(real.SHIPPED_REFERENCE)
    assert calib.names == ["cam01", "cam02", "cam03", "cam04"]
    assert all(1600 < c.focal_px < 1750 for c in calib.cameras)
    centres = [-c.rotation.T @ c.translation for c in calib.cameras]
    assert all(1.5 < centre[2] < 2.5 for centre in centres)  # z up, camera heights in metres
    for cam in calib.cameras:
        depths = [(cam.rotation @ centre + cam.translation)[2] for centre in centres]
        assert sum(d > 0.5 for d in depths) >= 1


def test_robust_triangulation_drops_the_view_that_disagrees():
    rng = np.random.default_rng(0)
    calib = read_qca(real.SHIPPED_REFERENCE)
    projections = np.stack([c.projection_matrix for c in calib.cameras])
    points = rng.normal(size=(20, 3)) * 0.3 + np.array([0.0, 0.0, 1.0])
    homogeneous = np.concatenate([points, np.ones((20, 1))], axis=1)
    pixels = np.einsum("vij,nj->nvi", projections, homogeneous)
    pixels = pixels[..., :2] / pixels[..., 2:]
    pixels[:, 2] += 150.0  # one view sees something else
    found, used = triangulate_robust(projections, pixels, np.ones((20, 4)))
    assert not used[:, 2].any() and used[:, [0, 1, 3]].all()
    assert np.abs(found - points).max() < 1e-6


@pytest.mark.slow
def test_benchmark_on_a_slice_of_the_shipped_demo(tmp_path):
    """24 frames of the walking trial, detected with MediaPipe, fitted by the optimizer: the
    reference is consistent and the fit is near the calibration."""
    report = real.run_trial(real.shipped_walk_trial(), runs=(real.RealRun("optimize"),), workdir=tmp_path, frames=24)
    assert report["frames"] == 24 and report["views"] == 4
    assert report["reference_residual_px"] < 15.0
    row = report["rows"][0]
    assert row["body_frames"] >= 20
    for key in ("body_pa_mpjpe_mm", "seq_mpjpe_mm", "camera_err_deg_mean", "camera_err_deg_max", "focal_err_pct_mean",
                "segment_ratio", "body_height_m", "fit_s"):
        assert key in row
    assert row["body_pa_mpjpe_mm"] < 60.0
    assert row["camera_err_deg_mean"] < 10.0
    assert "walk" in real.format_report([report])

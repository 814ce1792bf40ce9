"""What the fitter chooses and what it is told: known cameras held fixed, the scale set by the
height prior or the user's height, the candidate fits of the default mode, the IRV cameras kept
in the result (format 2)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import roma
import torch
from test_fit import body, synthetic_rig  # noqa: F401 - the body fixture

from core.bench.real import standing_height
from core.errors import InputError
from core.fit.config import load_fit_config
from core.fit.sequence import KnownExtrinsics, fit_keypoints
from core.geometry.camera import project
from core.io.results import FitResult

pytestmark = pytest.mark.slow


def _rotation_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return torch.rad2deg(roma.rotmat_geodesic_distance(torch.as_tensor(a), torch.as_tensor(b))).numpy()


def test_known_cameras_stay_fixed_and_set_the_world(body):  # noqa: F811
    """All four cameras given: they come back unchanged and the body is in their (metric) world,
    so its joints match the truth without any alignment."""
    inputs, gt = synthetic_rig(body, frames=12, views=4, seed=3)
    inputs = dataclasses.replace(inputs, extrinsics=KnownExtrinsics(gt["cam_R"], gt["cam_t"], np.ones(4, dtype=bool)))
    result, _ = fit_keypoints(inputs, load_fit_config(), body=body)
    assert _rotation_error_deg(result.cam_R[0], gt["cam_R"]).max() < 1e-3
    assert np.abs(result.cam_t[0] - gt["cam_t"]).max() < 1e-4
    error_mm = np.linalg.norm(result.joints3d - gt["joints3d"], axis=-1).mean() * 1000
    assert error_mm < 40.0


def test_two_known_cameras_anchor_the_other_two(body):  # noqa: F811
    inputs, gt = synthetic_rig(body, frames=12, views=4, seed=4)
    known = np.array([True, False, True, False])
    inputs = dataclasses.replace(inputs, extrinsics=KnownExtrinsics(gt["cam_R"], gt["cam_t"], known))
    result, _ = fit_keypoints(inputs, load_fit_config(), body=body)
    errors = _rotation_error_deg(result.cam_R[0], gt["cam_R"])
    assert errors[known].max() < 1e-3
    assert errors[~known].max() < 4.0  # estimated, in the known cameras' world
    centres = -np.einsum("vji,vj->vi", result.cam_R[0], result.cam_t[0])
    true_centres = -np.einsum("vji,vj->vi", gt["cam_R"], gt["cam_t"])
    assert np.linalg.norm(centres - true_centres, axis=-1)[~known].max() < 0.3


def test_height_prior_and_given_height_set_the_scale(body):  # noqa: F811
    """The scale of a calibration-free fit is the body's: an adult of ordinary height by default,
    the user's height when given (the synthetic person's own height is neither)."""
    inputs, _ = synthetic_rig(body, frames=12, views=4, seed=5)
    default, _ = fit_keypoints(inputs, load_fit_config(), body=body)
    given, _ = fit_keypoints(inputs, load_fit_config(body_height_m=1.88), body=body)
    default_height = standing_height(body, np.median(default.shape, axis=0))
    given_height = standing_height(body, np.median(given.shape, axis=0))
    assert 1.60 < default_height < 1.80
    assert abs(given_height - 1.88) < 0.03
    # The whole scene scales with the body: the camera distances follow the height.
    ratio = np.linalg.norm(given.cam_t[0], axis=-1) / np.linalg.norm(default.cam_t[0], axis=-1)
    assert np.allclose(ratio, given_height / default_height, rtol=0.05)


def test_bad_height_is_refused():
    with pytest.raises(InputError, match="between 0.5 and 2.5"):
        load_fit_config(body_height_m=3.2)


def test_irv_cameras_redraw_the_irv_bodies_and_old_results_open(body, tmp_path):  # noqa: F811
    """Format 2 keeps the focal length each IRV body was fitted with: reprojecting the IRV
    keypoints with it gives IRV's reprojection error back. A format-1 result still opens."""
    inputs, _ = synthetic_rig(body, frames=8, views=3, seed=6, focal_guess=0.8)
    result, _ = fit_keypoints(inputs, load_fit_config(), body=body)
    assert result.format_version == 2 and result.irv_cam_f.shape == (8, 3)
    projected = project(torch.as_tensor(result.irv_joints3d), torch.as_tensor(result.irv_cam_f),
                        torch.as_tensor(result.cam_c))
    kp = torch.as_tensor(result.keypoints2d)
    conf = torch.where(kp[..., 2] > 0.3, kp[..., 2], torch.zeros_like(kp[..., 2]))
    # IRV's error is against the raw detections; IEV may have swapped sides in some: compare where
    # both agree, i.e. as a mean over items, within 5 %.
    distance = (projected - kp[..., :2]).norm(dim=-1)
    redrawn = ((conf * distance).sum(-1) / conf.sum(-1)).numpy()
    assert np.nanmean(redrawn) == pytest.approx(np.nanmean(result.irv_reproj_px), rel=0.05)

    result.save(tmp_path)
    with np.load(tmp_path / "result.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "irv_cam_f"}
    arrays["format_version"] = np.int64(1)
    np.savez(tmp_path / "old.npz", **arrays)
    old = FitResult.load(tmp_path / "old.npz")
    assert old.format_version == 1 and old.irv_cam_f is None


def test_default_mode_keeps_the_fit_that_explains_the_views_better(body):  # noqa: F811
    """A network that does not transfer (untrained weights) cannot make the default worse than
    the optimizer: the optimizer's own fit is a candidate and explains the views better."""
    from core.canonical.pose_prior import default_pose_prior
    from core.nets.cmanet import build_model
    from core.nets.config import ModelConfig

    inputs, gt = synthetic_rig(body, frames=12, views=4, seed=7)
    torch.manual_seed(0)
    untrained = build_model(ModelConfig(), body, load_fit_config().body_model, default_pose_prior(body).mean)
    config = load_fit_config()
    optimized, _ = fit_keypoints(inputs, config, body=body, mode="optimize")
    default, timings = fit_keypoints(inputs, config, body=body, mode="network+refine", model=untrained)
    assert timings["chosen"] == "optimize"
    assert set(timings["start_losses"]) == {"network+refine", "optimize"}
    assert timings["start_losses"]["optimize"] < timings["start_losses"]["network+refine"]
    alone, _ = fit_keypoints(inputs, dataclasses.replace(config, refine=dataclasses.replace(config.refine, optimizer_start=False)),
                             body=body, mode="network+refine", model=untrained)
    assert np.nanmean(default.iev_reproj_px) <= np.nanmean(alone.iev_reproj_px)
    assert np.nanmean(default.iev_reproj_px) == pytest.approx(np.nanmean(optimized.iev_reproj_px), rel=0.05)

"""The training losses: ``L = alpha * L2D + gamma * LSMPL`` (paper Eq. 1-3 for IRV, 4-6 for IEV).

L2D is core.canonical.losses.reprojection_loss, the very loss the optimizers minimise (confidence
filtered by lambda and weighted, robust, in person-size units). LSMPL compares the predicted
parameters with the sample's SMPLify pseudo-label: rotations, shape, the scale-free camera, and
root-relative 3D keypoints.

Rotations are compared in the regressors' raw 6D output (before Gram-Schmidt), not as matrices:
the matrix distance has no gradient towards a target half a turn away (a view's orientation
predicted facing the camera when the person faces away), and a regressor trained with it settles
on one average orientation for everyone.
"""

from __future__ import annotations

import roma
import torch

from core.body import BodyModel
from core.canonical.losses import reprojection_loss
from core.canonical.params import (
    CanonicalParams,
    ViewBodies,
    body_frame_keypoints,
    view_keypoints,
)
from core.canonical.pose_prior import PosePrior
from core.geometry.camera import project
from core.geometry.rotations import rotmat_to_6d
from core.nets.camera import translation_to_cam
from core.nets.inputs import ViewInputs
from core.nets.param_space import CanonicalTheta, ParamSpace
from core.train.config import LossConfig

_HIPS = (11, 12)
# A label that puts the person nearer than this to a camera is a failed fit: its camera is ignored.
MIN_LABEL_DEPTH_M = 0.2


def rot6d_distance(raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., 6) raw 6D output, (..., 3, 3) target rotation -> (...,) squared distance to the
    target's 6D form."""
    return (raw - rotmat_to_6d(target)).square().sum(-1)


def root_relative(points: torch.Tensor) -> torch.Tensor:
    """(..., 17, 3) keypoints relative to the mid-hip."""
    return points - points[..., list(_HIPS), :].mean(-2, keepdim=True)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` (same shape) holds; 0 when it holds nowhere."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def _camera_targets(transl: torch.Tensor, inputs: ViewInputs) -> torch.Tensor:
    return translation_to_cam(transl, inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal)


def irv_loss(
    body: BodyModel,
    space: ParamSpace,
    theta: torch.Tensor,
    inputs: ViewInputs,
    labels: ViewBodies | None,
    valid: torch.Tensor | None,
    config: LossConfig,
    threshold: float,
    prior: PosePrior | None = None,
) -> dict[str, torch.Tensor]:
    """Stage-1 loss of per-view predictions (B, V).

    Args:
        theta: (B, V, D) the regressors' output (core.nets.param_space).
        labels, valid: pseudo-labels and (B, V) which samples have one (None: no LSMPL).
    Returns:
        scalar terms: ``loss`` (the total), ``l2d``, ``lsmpl`` and LSMPL's parts.
    """
    bodies = space.view_bodies(theta, inputs)
    orient, pose, _, cam = space.split(theta)
    points = view_keypoints(body, bodies)
    detections = inputs.keypoints2d
    visible = (detections[..., 2] > threshold).sum(-1) >= 2
    l2d = masked_mean(reprojection_loss(project(points, inputs.focal, inputs.principal), detections, threshold, config.robust_sigma), visible)
    terms = {"l2d": l2d}
    lsmpl = torch.zeros_like(l2d)
    if labels is not None and valid is not None:
        with torch.no_grad():
            label_points = root_relative(view_keypoints(body, labels))
        parts = {
            "orient": rot6d_distance(orient, labels.global_orient),
            "pose": rot6d_distance(pose, labels.body_pose).mean(-1),
            "shape": (bodies.shape - labels.shape).square().sum(-1),
            "camera": (cam - _camera_targets(labels.transl, inputs)).square().sum(-1),
            "joints": (root_relative(points) - label_points).square().sum(-1).mean(-1),
        }
        in_front = valid & (labels.transl[..., 2] > MIN_LABEL_DEPTH_M)
        for name, value in parts.items():
            terms[name] = masked_mean(value, in_front if name == "camera" else valid)
            lsmpl = lsmpl + getattr(config, name) * terms[name]
    terms["lsmpl"] = lsmpl
    total = config.alpha * l2d + config.gamma * lsmpl
    if config.prior > 0 and prior is not None:
        terms["prior"] = prior(roma.rotmat_to_rotvec(bodies.body_pose)).mean()
        total = total + config.prior * terms["prior"]
    terms["loss"] = total
    return terms


def iev_loss(
    body: BodyModel,
    space: ParamSpace,
    state: CanonicalTheta,
    inputs: ViewInputs,
    labels: CanonicalParams | None,
    valid: torch.Tensor | None,
    config: LossConfig,
    threshold: float,
    prior: PosePrior | None = None,
) -> dict[str, torch.Tensor]:
    """Stage-2 loss of canonical predictions for B frames of V views.

    L2D is summed over the views (paper Eq. 4) and averaged over the frames; ``state`` is IEV's
    output; labels/valid (B,) as in :func:`irv_loss`.
    """
    params = space.canonical(state, inputs)
    cam = state.cam
    local = body_frame_keypoints(body, params.body_pose, params.shape)  # (B, 17, 3)
    points = local[:, None] @ params.global_orient.transpose(-1, -2) + params.transl[..., None, :]
    detections = inputs.keypoints2d
    per_view = reprojection_loss(project(points, inputs.focal, inputs.principal), detections, threshold, config.robust_sigma)
    l2d = per_view.sum(-1).mean()
    terms = {"l2d": l2d}
    lsmpl = torch.zeros_like(l2d)
    if labels is not None and valid is not None:
        with torch.no_grad():
            label_local = root_relative(body_frame_keypoints(body, labels.body_pose, labels.shape))
        # A view without detections has no trustworthy camera in the label.
        views = valid[:, None] & ((detections[..., 2] > threshold).sum(-1) >= 2) & (labels.transl[..., 2] > MIN_LABEL_DEPTH_M)
        parts = {
            "orient": (rot6d_distance(state.orient, labels.global_orient), views),
            "pose": (rot6d_distance(state.pose, labels.body_pose).mean(-1), valid),
            "shape": ((params.shape - labels.shape).square().sum(-1), valid),
            "camera": ((cam - _camera_targets(labels.transl, inputs)).square().sum(-1), views),
            "joints": ((root_relative(local) - label_local).square().sum(-1).mean(-1), valid),
        }
        for name, (value, mask) in parts.items():
            terms[name] = masked_mean(value, mask)
            lsmpl = lsmpl + getattr(config, name) * terms[name]
    terms["lsmpl"] = lsmpl
    total = config.alpha * l2d + config.gamma * lsmpl
    if config.prior > 0 and prior is not None:
        terms["prior"] = prior(roma.rotmat_to_rotvec(params.body_pose)).mean()
        total = total + config.prior * terms["prior"]
    terms["loss"] = total
    return terms

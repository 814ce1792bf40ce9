"""IRV as an optimizer: SMPLify on each view alone, batched over all (frame, view) items.

Two stages per item: (A) a rigid fit of the mean-posed body's head and torso from several
upright orientations (``IRVConfig.orientation_starts``), keeping the best, so that a person seen
from behind is not fitted facing the camera; (B) the full fit of orientation, translation, pose
and shape to the confidence-filtered keypoints (paper Eq. 1) with the pose and shape priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import roma
import torch

from core.body import BodyModel
from core.canonical.losses import (
    person_scale,
    reprojection_error_px,
    reprojection_loss,
    shape_prior_loss,
)
from core.canonical.params import ViewBodies, body_frame_keypoints, view_keypoints
from core.canonical.pose_prior import PosePrior
from core.fit.config import FitConfig
from core.fit.height import height_prior_loss
from core.fit.init import RIGID_KEYPOINTS, initial_translation, orientation_starts
from core.fit.optim import CancelFn, ProgressFn, minimize
from core.geometry.camera import project, transform_points
from core.geometry.rotations import rot6d_to_rotmat, rotmat_to_6d


@dataclass
class IRVFit:
    """IRV's result for N items. bodies: ViewBodies with leading dim N (no view dim);
    keypoints3d: (N, 17, 3) camera frame; reproj_px: (N,); loss: (N,)."""

    bodies: ViewBodies
    keypoints3d: torch.Tensor
    reproj_px: torch.Tensor
    loss: torch.Tensor


def _rigid_stage(
    body: BodyModel,
    prior: PosePrior,
    keypoints2d: torch.Tensor,
    focal: torch.Tensor,
    principal: torch.Tensor,
    config: FitConfig,
    should_cancel: CancelFn | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage A: best (N, 3, 3) orientation and (N, 3) translation over the orientation starts."""
    n, starts = keypoints2d.shape[0], config.irv.orientation_starts
    shape = body.mean_shape().to(keypoints2d)
    rest = body_frame_keypoints(body, roma.rotvec_to_rotmat(prior.mean.to(keypoints2d))[None], shape[None])[0]
    rot0 = orientation_starts(body, keypoints2d, starts, config.confidence_threshold).reshape(n * starts, 3, 3)
    rep = lambda x: x.repeat_interleave(starts, dim=0)  # noqa: E731
    kp2d, f, c = rep(keypoints2d), rep(focal), rep(principal)
    rigid_only = torch.zeros_like(kp2d)
    rigid_only[:, list(RIGID_KEYPOINTS)] = kp2d[:, list(RIGID_KEYPOINTS)]
    scale = person_scale(kp2d, config.confidence_threshold)
    transl = initial_translation(rot0, rest, kp2d, f, c, config.confidence_threshold).requires_grad_()
    orient = rotmat_to_6d(rot0).clone().requires_grad_()

    def loss_per_item():
        points = transform_points(rest[None], rot6d_to_rotmat(orient), transl)
        return reprojection_loss(project(points, f, c), rigid_only, config.confidence_threshold, config.robust_sigma, scale)

    minimize([orient, transl], lambda: loss_per_item().sum(), config.irv.orientation_iterations, config.irv.lr * 2,
             should_cancel=should_cancel)
    with torch.no_grad():
        best = loss_per_item().reshape(n, starts).argmin(dim=1)
        pick = torch.arange(n, device=best.device) * starts + best
        return rot6d_to_rotmat(orient[pick]), transl[pick]


def evaluate_view_bodies(
    body: BodyModel, bodies: ViewBodies, keypoints2d: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor, config: FitConfig
) -> IRVFit:
    """An IRVFit for given bodies (e.g. a network's), without optimizing. Shapes as in fit_irv."""
    with torch.no_grad():
        points = view_keypoints(body, bodies)
        projected = project(points, focal, principal)
        loss = reprojection_loss(projected, keypoints2d, config.confidence_threshold, config.robust_sigma)
        reproj = reprojection_error_px(projected, keypoints2d, config.confidence_threshold)
    return IRVFit(bodies=bodies, keypoints3d=points, reproj_px=reproj, loss=loss)


def fit_irv(
    body: BodyModel,
    prior: PosePrior,
    keypoints2d: torch.Tensor,
    focal: torch.Tensor,
    principal: torch.Tensor,
    config: FitConfig,
    init: ViewBodies | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> IRVFit:
    """Fit one body per item to its view's keypoints.

    Args:
        keypoints2d: (N, 17, 3) detections; focal: (N,); principal: (N, 2).
        init: start from these bodies (e.g. a network's prediction) instead of stage A.
    """
    n = keypoints2d.shape[0]
    threshold = config.confidence_threshold
    if init is None:
        rotation, transl0 = _rigid_stage(body, prior, keypoints2d, focal, principal, config, should_cancel)
        pose0 = roma.rotvec_to_rotmat(prior.mean.to(keypoints2d)).expand(n, -1, -1, -1)
        shape0 = body.mean_shape().to(keypoints2d).expand(n, -1)
    else:
        rotation, transl0, pose0, shape0 = init.global_orient, init.transl, init.body_pose, init.shape

    orient = rotmat_to_6d(rotation).detach().clone().requires_grad_()
    transl = transl0.detach().clone().requires_grad_()
    pose = roma.rotmat_to_rotvec(pose0).detach().clone().requires_grad_()
    shape = shape0.detach().clone().requires_grad_()
    lo, hi = (b.to(keypoints2d) for b in body.shape_bounds())
    mean_shape = body.mean_shape().to(keypoints2d)
    height_m, height_sigma = config.height_target
    scale = person_scale(keypoints2d, threshold)

    def current() -> ViewBodies:
        return ViewBodies(rot6d_to_rotmat(orient), roma.rotvec_to_rotmat(pose), shape, transl)

    def loss_per_item():
        points = view_keypoints(body, current())
        data = reprojection_loss(project(points, focal, principal), keypoints2d, threshold, config.robust_sigma, scale)
        return (data + config.irv.pose_prior_weight * prior(pose)
                + config.irv.shape_prior_weight * shape_prior_loss(shape, mean_shape)
                + config.height.weight * height_prior_loss(body, shape, height_m, height_sigma))

    def clamp_shape():
        shape.copy_(torch.maximum(torch.minimum(shape, hi), lo))

    minimize([orient, transl, pose, shape], lambda: loss_per_item().sum(), config.irv.iterations, config.irv.lr,
             progress=progress, should_cancel=should_cancel, after_step=clamp_shape)
    with torch.no_grad():
        bodies = current()
        points = view_keypoints(body, bodies)
        reproj = reprojection_error_px(project(points, focal, principal), keypoints2d, threshold)
        return IRVFit(
            bodies=ViewBodies(bodies.global_orient.clone(), bodies.body_pose.clone(), shape.detach().clone(), transl.detach().clone()),
            keypoints3d=points,
            reproj_px=reproj,
            loss=loss_per_item(),
        )

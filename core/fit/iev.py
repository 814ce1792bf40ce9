"""IEV as an optimizer: multi-view SMPLify over the canonical parameter space (paper Eq. 4-5).

Two forms: per frame (here: the paper's; cameras may move) — for each frame, per-view
body->camera rotation and translation, one body pose and shape shared by the views — and over a
static rig (:mod:`core.fit.static_rig`). Both start from IRV (cameras and orientations from every
view, the body pose and shape of the view that reprojects best) and both check each view for
left/right swapped detections.
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
from core.canonical.params import CanonicalParams, Intrinsics, body_frame_keypoints
from core.canonical.pose_prior import PosePrior
from core.fit.config import FitConfig
from core.fit.height import height_prior_loss
from core.fit.irv import IRVFit
from core.fit.optim import CancelFn, ProgressFn
from core.fit.rig import relative_cameras
from core.fit.schedule import two_phase
from core.fit.swaps import correct_swaps
from core.geometry.camera import project, transform_points
from core.geometry.rotations import rot6d_to_rotmat, rotmat_to_6d


@dataclass
class IEVFit:
    """Fused result in one world frame for F frames and V views.

    body_rot: (F, 3, 3) body->world; body_transl: (F, 3); body_pose: (F, J, 3, 3); shape: (F, S);
    cam_rot: (F, V, 3, 3) world->camera; cam_t: (F, V, 3); focal: (F, V); principal: (F, V, 2);
    joints3d: (F, 17, 3) world keypoints; reproj_px: (F, V); keypoints2d: (F, V, 17, 3) the
    detections used (after swap corrections).
    """

    body_rot: torch.Tensor
    body_transl: torch.Tensor
    body_pose: torch.Tensor
    shape: torch.Tensor
    cam_rot: torch.Tensor
    cam_t: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor
    joints3d: torch.Tensor
    reproj_px: torch.Tensor
    keypoints2d: torch.Tensor


def initial_canonical(irv: IRVFit, frames: int, views: int) -> CanonicalParams:
    """The paper's IEV initialisation from IRV fits laid out as (F*V,): every view's orientation
    and translation, and the pose and shape of the view with the least reprojection error."""
    bodies = irv.bodies
    error = torch.nan_to_num(irv.reproj_px.reshape(frames, views), nan=float("inf"))
    best = error.argmin(dim=1)
    frame_idx = torch.arange(frames, device=best.device)
    pose = bodies.body_pose.reshape(frames, views, *bodies.body_pose.shape[1:])[frame_idx, best]
    shape = bodies.shape.reshape(frames, views, -1)[frame_idx, best]
    return CanonicalParams(
        global_orient=bodies.global_orient.reshape(frames, views, 3, 3),
        transl=bodies.transl.reshape(frames, views, 3),
        body_pose=pose,
        shape=shape,
    )


def fit_iev_per_frame(
    body: BodyModel,
    prior: PosePrior,
    keypoints2d: torch.Tensor,
    intrinsics: Intrinsics,
    init: CanonicalParams,
    config: FitConfig,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> IEVFit:
    """Multi-view SMPLify for each frame on its own (cameras may move). keypoints2d: (F, V, 17, 3)."""
    threshold = config.confidence_threshold
    orient = rotmat_to_6d(init.global_orient).detach().clone().requires_grad_()
    transl = init.transl.detach().clone().requires_grad_()
    pose = roma.rotmat_to_rotvec(init.body_pose).detach().clone().requires_grad_()
    shape = init.shape.detach().clone().requires_grad_()
    lo, hi = (b.to(shape) for b in body.shape_bounds())
    mean_shape = body.mean_shape().to(shape)
    height_m, height_sigma = config.height_target
    detections = [keypoints2d]
    scale = person_scale(keypoints2d, threshold)

    def points():
        local = body_frame_keypoints(body, roma.rotvec_to_rotmat(pose), shape)
        return transform_points(local[:, None], rot6d_to_rotmat(orient), transl)

    def objective():
        projected = project(points(), intrinsics.focal, intrinsics.principal)
        data = reprojection_loss(projected, detections[0], threshold, config.robust_sigma, scale).sum(-1)
        return (data + config.iev.pose_prior_weight * prior(pose)
                + config.iev.shape_prior_weight * shape_prior_loss(shape, mean_shape)
                + config.height.weight * height_prior_loss(body, shape, height_m, height_sigma)).sum()

    def clamp_shape():
        shape.copy_(torch.maximum(torch.minimum(shape, hi), lo))

    def correct():
        detections[0] = correct_swaps(points(), keypoints2d, intrinsics, config)

    two_phase([orient, transl, pose, shape], objective, config.iev.iterations, config.iev.lr,
              correct if config.iev.swap_check else None, progress, should_cancel, clamp_shape)

    with torch.no_grad():
        rot = rot6d_to_rotmat(orient)
        reproj = reprojection_error_px(project(points(), intrinsics.focal, intrinsics.principal), detections[0], threshold)
        # World = the frame of view 0's camera: the body's pose seen by it, cameras relative to it.
        cam_rot, cam_t = relative_cameras(rot, transl, ref=0)
        body_rot, body_t = rot[:, 0], transl[:, 0]
        local = body_frame_keypoints(body, roma.rotvec_to_rotmat(pose), shape)
        joints = transform_points(local, body_rot, body_t)
        return IEVFit(
            body_rot=body_rot, body_transl=body_t.clone(), body_pose=roma.rotvec_to_rotmat(pose), shape=shape.clone(),
            cam_rot=cam_rot, cam_t=cam_t, focal=intrinsics.focal.clone(), principal=intrinsics.principal.clone(),
            joints3d=joints, reproj_px=reproj, keypoints2d=detections[0],
        )


def unexplained_fraction(fit: IEVFit, config: FitConfig) -> torch.Tensor:
    """(V,) the fraction of each view's frames that reproject worse than
    ``IEVConfig.rig_failure_error`` times the person's size."""
    relative = fit.reproj_px / person_scale(fit.keypoints2d, config.confidence_threshold)
    return (torch.nan_to_num(relative, nan=0.0) > config.iev.rig_failure_error).float().mean(dim=0)

"""IEV as an optimizer: multi-view SMPLify over the canonical parameter space (paper Eq. 4-5).

Two forms:

* per frame (the paper; cameras may move): for each frame, per-view body->camera rotation and
  translation, one body pose and shape shared by the views;
* static rig (cameras fixed over the sequence): one world->camera pose per camera for the whole
  sequence, per-frame body orientation, translation and pose in the world, one shape, and
  temporally smooth motion. All frames are fitted jointly, batched.

Both start from IRV (cameras and orientations from every view, the body pose and shape of the view
that reprojects best) and both check each view for left/right swapped detections.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import roma
import torch

from core.body import BodyModel
from core.canonical.losses import (
    confidence_weights,
    flip_keypoints,
    person_scale,
    reprojection_error_px,
    reprojection_loss,
    shape_prior_loss,
    smoothness_loss,
)
from core.canonical.params import CanonicalParams, Intrinsics, body_frame_keypoints, canonical_keypoints
from core.canonical.pose_prior import PosePrior
from core.fit.config import FitConfig
from core.fit.irv import IRVFit
from core.fit.optim import CancelFn, ProgressFn, minimize
from core.fit.rig import consensus_body_poses, relative_cameras, relative_cameras_from_skeletons, static_rig_from_frames
from core.geometry.camera import project, transform_points
from core.geometry.rotations import rot6d_to_rotmat, rotmat_to_6d
from core.keypoints import COCO17_NAMES

# Focal estimation: a weak log-normal prior around the starting focal length (sigma in log units,
# weight per frame), and the fields of view (degrees, across the longer image side) a focal
# length is kept within. Without them a telephoto camera drifts towards orthographic, where the
# loss is flat.
FOCAL_PRIOR_SIGMA = 0.7
FOCAL_PRIOR_WEIGHT = 1e-5
FOCAL_FOV_RANGE_DEG = (10.0, 130.0)
# A rig fit has failed when, in some view, more than RIG_FAILURE_FRACTION of the frames reproject
# worse than RIG_FAILURE_ERROR times the person's size. Measured on synthetic rigs: right fits
# leave at most 3 % of a view's frames above 0.1, failed ones 27-47 % (up to hundreds of times
# the person's size: bodies crossing a camera).
RIG_FAILURE_ERROR = 0.1
RIG_FAILURE_FRACTION = 0.2
# Its retry starts every estimated focal length at this wide field of view (degrees): from a wide
# guess the estimate lengthens reliably, while a wide-angle camera started from a narrow guess can
# fall into a wrong rig (measured: a 95 deg camera guessed at 55 deg).
RETRY_FOV_DEG = 90.0
# Weighting of the starting rig by how well each view's starting body explains its detections:
# weight exp(-loss / START_FIT_SCALE), loss = the robust reprojection loss of the view (median
# ~7e-4 for the network's bodies). Used where the starting rig is the result (`--mode network`).
# The weaker the network on a rig, the more it helps (unseen synthetic rigs, cameras: the session-3
# default model 12.2 -> 11.4 deg on 5 rigs, a less trained one 9.4 -> 8.1 deg on 15, the shipped
# one 6.51 -> 6.43 deg on 25); where the rig is optimized afterwards it gained nothing (optimize:
# +0.3 mm PA-MPJPE).
START_FIT_SCALE = 1e-3

# Left/right groups a detector swaps together.
_SIDE_GROUPS = {
    "all": tuple(range(17)),
    "arms": tuple(i for i, n in enumerate(COCO17_NAMES) if n.split("_")[-1] in ("shoulder", "elbow", "wrist")),
    "legs": tuple(i for i, n in enumerate(COCO17_NAMES) if n.split("_")[-1] in ("hip", "knee", "ankle")),
}


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


def focal_of_fov(principal: torch.Tensor, fov_deg: float) -> torch.Tensor:
    """(V,) focal lengths giving ``fov_deg`` across the longer image side, from (V, 2) principal
    points (taken as the image centres)."""
    longer = 2.0 * torch.maximum(principal[..., 0], principal[..., 1])
    return 0.5 * longer / math.tan(math.radians(0.5 * fov_deg))


def _dolly(translation: torch.Tensor, zoom: torch.Tensor) -> torch.Tensor:
    """(..., V, 3) camera-frame translations with their depth scaled by (V,) ``zoom``: what keeps the
    person's image size when each camera's focal length is scaled by ``zoom``."""
    return torch.cat([translation[..., :2], translation[..., 2:] * zoom[..., None]], dim=-1)


def estimates_focal(config: FitConfig, frames: int, focal_known: torch.Tensor | None) -> bool:
    """Whether a fit with ``config`` of ``frames`` frames estimates any focal length: static rig,
    a rig phase, enough frames (``estimate_focal_min_frames``) and some focal length not given."""
    return (config.static_rig and config.estimate_focal and config.iev.rig_iterations > 0
            and frames >= config.estimate_focal_min_frames and (focal_known is None or not bool(focal_known.all())))


def _frame_weights(keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(F, V) how much a view's frame is worth: its summed keypoint confidence above lambda."""
    conf = keypoints2d[..., 2]
    return torch.where(conf > threshold, conf, torch.zeros_like(conf)).sum(-1)


def correct_swaps(
    points_cam: torch.Tensor, keypoints2d: torch.Tensor, intrinsics: Intrinsics, config: FitConfig, margin: float = 0.7
) -> torch.Tensor:
    """Detections with left/right groups exchanged where the fitted body explains the exchanged
    version much better (its loss below ``margin`` times the original's). Shapes (F, V, 17, 3/2)."""
    projected = project(points_cam, intrinsics.focal, intrinsics.principal)
    threshold, sigma = config.confidence_threshold, config.robust_sigma
    scale = person_scale(keypoints2d, threshold)
    corrected = keypoints2d
    for group in _SIDE_GROUPS.values():
        flipped = flip_keypoints(corrected)
        candidate = corrected.clone()
        candidate[..., group, :] = flipped[..., group, :]
        before = reprojection_loss(projected, corrected, threshold, sigma, scale)
        after = reprojection_loss(projected, candidate, threshold, sigma, scale)
        better = (after < margin * before)[..., None, None]
        corrected = torch.where(better, candidate, corrected)
    return corrected


def _data_term(points_cam, keypoints2d, intrinsics, config, scale):
    projected = project(points_cam, intrinsics.focal, intrinsics.principal)
    return reprojection_loss(projected, keypoints2d, config.confidence_threshold, config.robust_sigma, scale)


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
    detections = keypoints2d

    def points():
        params = CanonicalParams(rot6d_to_rotmat(orient), transl, roma.rotvec_to_rotmat(pose), shape)
        local = body_frame_keypoints(body, params.body_pose, params.shape)
        return transform_points(local[:, None], params.global_orient, params.transl)

    def objective():
        data = _data_term(points(), detections, intrinsics, config, scale).sum(-1)
        return (data + config.iev.pose_prior_weight * prior(pose)
                + config.iev.shape_prior_weight * shape_prior_loss(shape, mean_shape)).sum()

    def clamp_shape():
        shape.copy_(torch.maximum(torch.minimum(shape, hi), lo))

    scale = person_scale(detections, threshold)
    first = config.iev.iterations // 2 if config.iev.swap_check else config.iev.iterations
    done = [0]

    def report(step, _total):
        if progress is not None:
            progress(done[0] + step, config.iev.iterations)

    minimize([orient, transl, pose, shape], objective, first, config.iev.lr, report, should_cancel, clamp_shape)
    if config.iev.swap_check:
        with torch.no_grad():
            detections = correct_swaps(points(), keypoints2d, intrinsics, config)
        done[0] = first
        minimize([orient, transl, pose, shape], objective, config.iev.iterations - first, config.iev.lr * 0.5,
                 report, should_cancel, clamp_shape)

    with torch.no_grad():
        rot = rot6d_to_rotmat(orient)
        pts = points()
        reproj = reprojection_error_px(project(pts, intrinsics.focal, intrinsics.principal), detections, threshold)
        # World = the frame of view 0's camera: the body's pose seen by it, cameras relative to it.
        cam_rot, cam_t = relative_cameras(rot, transl, ref=0)
        body_rot, body_t = rot[:, 0], transl[:, 0]
        local = body_frame_keypoints(body, roma.rotvec_to_rotmat(pose), shape)
        joints = transform_points(local, body_rot, body_t)
        return IEVFit(
            body_rot=body_rot, body_transl=body_t.clone(), body_pose=roma.rotvec_to_rotmat(pose), shape=shape.clone(),
            cam_rot=cam_rot, cam_t=cam_t, focal=intrinsics.focal.clone(), principal=intrinsics.principal.clone(),
            joints3d=joints, reproj_px=reproj, keypoints2d=detections,
        )


def view_fit_loss(body: BodyModel, init: CanonicalParams, keypoints2d: torch.Tensor, intrinsics: Intrinsics,
                  config: FitConfig) -> torch.Tensor:
    """(F, V) robust reprojection loss of each view's body in ``init`` (its orientation and
    translation in that camera, the frame's shared pose and shape). intrinsics: (V,) cameras."""
    frames = keypoints2d.shape[0]
    with torch.no_grad():
        intr = Intrinsics(intrinsics.focal.expand(frames, -1), intrinsics.principal.expand(frames, -1, 2))
        return _data_term(canonical_keypoints(body, init), keypoints2d, intr, config,
                          person_scale(keypoints2d, config.confidence_threshold))


def _static_rig_init(init: CanonicalParams, keypoints2d: torch.Tensor, config: FitConfig,
                     init_keypoints3d: torch.Tensor | None, trust: torch.Tensor | None = None):
    """Rig and per-frame body poses from per-view fits: (V,3,3), (V,3), (F,3,3), (F,3).
    ``trust``: (F, V) extra weights of the views' estimates (default: all 1)."""
    weights = _frame_weights(keypoints2d, config.confidence_threshold)
    if trust is not None:
        weights = weights * trust
    ref = int(weights.sum(0).argmax())  # the camera that sees the person best anchors the world
    if init_keypoints3d is not None:
        conf = confidence_weights(keypoints2d, config.confidence_threshold)
        cam_rot_f, cam_t_f = relative_cameras_from_skeletons(init_keypoints3d, conf, ref)
    else:
        cam_rot_f, cam_t_f = relative_cameras(init.global_orient, init.transl, ref)
    cam_rot, cam_t = static_rig_from_frames(cam_rot_f, cam_t_f, weights)
    body_rot, body_t = consensus_body_poses(init.global_orient, init.transl, cam_rot, cam_t, weights)
    # Centre the world on the person: a camera's rotation then turns it about the person rather
    # than about its own centre, which keeps the shared camera parameters well conditioned.
    centre = body_t.mean(dim=0)
    return cam_rot, cam_t + cam_rot @ centre, body_rot, body_t - centre


def _optimize_static_rig(
    body, prior, keypoints2d, intrinsics, cam_rot, cam_t, body_rot, body_t, pose, shape, config,
    iterations: int, optimize_rig: bool, report, should_cancel, focal_known: torch.Tensor | None = None,
) -> IEVFit:
    """Adam on a static rig's parameters; the rig (cameras, shape, focal) only if ``optimize_rig``."""
    frames, views = keypoints2d.shape[:2]
    threshold = config.confidence_threshold
    cam_orient = rotmat_to_6d(cam_rot).detach().clone().requires_grad_(optimize_rig)
    cam_t = cam_t.detach().clone().requires_grad_(optimize_rig)
    body_orient = rotmat_to_6d(body_rot).detach().clone().requires_grad_()
    body_t = body_t.detach().clone().requires_grad_()
    pose = roma.rotmat_to_rotvec(pose).detach().clone().requires_grad_()
    shape = shape.detach().clone().requires_grad_(optimize_rig)
    estimate_focal = optimize_rig and config.estimate_focal
    log_focal = intrinsics.focal.log().detach().clone().requires_grad_(estimate_focal)
    principal = intrinsics.principal
    lo, hi = (b.to(shape) for b in body.shape_bounds())
    mean_shape = body.mean_shape().to(shape)
    detections = keypoints2d
    scale = person_scale(detections, threshold)

    log_focal0 = log_focal.detach().clone()
    if estimate_focal:
        log_focal_lo, log_focal_hi = (focal_of_fov(principal, fov).log() for fov in FOCAL_FOV_RANGE_DEG[::-1])

    def current_intrinsics() -> Intrinsics:
        return Intrinsics(log_focal.exp().expand(frames, views), principal.expand(frames, views, 2))

    def current_cam_t() -> torch.Tensor:
        # A dolly zoom: the camera's depth follows its focal length, so that a change of focal keeps
        # the person's image size and leaves only the perspective to the loss. Without it, focal
        # and depth form a long narrow valley that Adam does not follow.
        return _dolly(cam_t, (log_focal - log_focal0).exp())

    def world_points():
        local = body_frame_keypoints(body, roma.rotvec_to_rotmat(pose), shape[None].expand(frames, -1))
        return transform_points(local, rot6d_to_rotmat(body_orient), body_t)  # (F, 17, 3)

    def camera_points(world):
        return transform_points(world[:, None], rot6d_to_rotmat(cam_orient)[None], current_cam_t()[None])  # (F, V, 17, 3)

    def objective():
        world = world_points()
        data = _data_term(camera_points(world), detections, current_intrinsics(), config, scale).sum()
        focal_prior = ((log_focal - log_focal0) / FOCAL_PRIOR_SIGMA).square().sum() if estimate_focal else 0.0
        return (data + config.iev.pose_prior_weight * prior(pose).sum()
                + frames * config.iev.shape_prior_weight * shape_prior_loss(shape, mean_shape)
                + frames * config.iev.smoothness_weight * smoothness_loss(world)
                + frames * FOCAL_PRIOR_WEIGHT * focal_prior)

    def clamp_shape():
        shape.copy_(torch.maximum(torch.minimum(shape, hi), lo))
        if estimate_focal:
            log_focal.copy_(torch.maximum(torch.minimum(log_focal, log_focal_hi), log_focal_lo))
            if focal_known is not None:  # given in sequence.yaml: kept as it is
                log_focal.copy_(torch.where(focal_known, log_focal0, log_focal))

    variables = [body_orient, body_t, pose]
    if optimize_rig:
        variables += [cam_orient, cam_t, shape] + ([log_focal] if estimate_focal else [])
    first = iterations // 2 if config.iev.swap_check else iterations
    method = config.iev.optimizer
    lr = 1.0 if method == "lbfgs" else config.iev.lr
    minimize(variables, objective, first, lr, lambda d, _t: report(d), should_cancel, clamp_shape,
             method=method)
    if config.iev.swap_check:
        with torch.no_grad():
            detections = correct_swaps(camera_points(world_points()), keypoints2d, current_intrinsics(), config)
        minimize(variables, objective, iterations - first, lr * (1.0 if method == "lbfgs" else 0.5), lambda d, _t: report(first + d),
                 should_cancel, clamp_shape, method=method)

    with torch.no_grad():
        world = world_points()
        intr = current_intrinsics()
        reproj = reprojection_error_px(project(camera_points(world), intr.focal, intr.principal), detections, threshold)
        return IEVFit(
            body_rot=rot6d_to_rotmat(body_orient), body_transl=body_t.clone(),
            body_pose=roma.rotvec_to_rotmat(pose), shape=shape[None].expand(frames, -1).clone(),
            cam_rot=rot6d_to_rotmat(cam_orient)[None].expand(frames, -1, -1, -1).clone(),
            cam_t=current_cam_t()[None].expand(frames, -1, -1).clone(),
            focal=intr.focal.clone(), principal=intr.principal.clone(),
            joints3d=world, reproj_px=reproj, keypoints2d=detections,
        )


def _frame_data_loss(body, body_rot, body_t, pose, shape, cam_rot, cam_t, keypoints2d, intrinsics, config) -> torch.Tensor:
    """(F,) robust reprojection loss of each frame's body (body_rot (F, 3, 3), body_t (F, 3),
    pose (F, J, 3, 3), one shape (S,)) in a static rig, summed over the views."""
    frames, views = keypoints2d.shape[:2]
    with torch.no_grad():
        local = body_frame_keypoints(body, pose, shape[None].expand(frames, -1))
        world = transform_points(local, body_rot, body_t)
        points = transform_points(world[:, None], cam_rot[None], cam_t[None])
        intr = Intrinsics(intrinsics.focal.expand(frames, views), intrinsics.principal.expand(frames, views, 2))
        scale = person_scale(keypoints2d, config.confidence_threshold)
        return _data_term(points, keypoints2d, intr, config, scale).sum(-1)


def unexplained_fraction(fit: IEVFit, keypoints2d: torch.Tensor, config: FitConfig) -> torch.Tensor:
    """(V,) the fraction of each view's frames that reproject worse than ``RIG_FAILURE_ERROR``
    times the person's size. keypoints2d: (F, V, 17, 3) the detections ``fit`` was fitted to."""
    relative = fit.reproj_px / person_scale(keypoints2d, config.confidence_threshold)
    return (torch.nan_to_num(relative, nan=0.0) > RIG_FAILURE_ERROR).float().mean(dim=0)


def wide_focal(intrinsics: Intrinsics, focal_known: torch.Tensor | None) -> torch.Tensor:
    """(V,) focal lengths of a ``RETRY_FOV_DEG`` field of view, the known ones kept."""
    wide = focal_of_fov(intrinsics.principal, RETRY_FOV_DEG)
    return wide if focal_known is None else torch.where(focal_known, intrinsics.focal, wide)


def key_frames(frames: int, count: int) -> torch.Tensor:
    """``count`` frame indices spread evenly over the sequence (all of them if there are fewer)."""
    if frames <= count:
        return torch.arange(frames)
    return torch.linspace(0, frames - 1, count).round().long().unique()


def fit_iev_static_rig(
    body: BodyModel,
    prior: PosePrior,
    keypoints2d: torch.Tensor,
    intrinsics: Intrinsics,
    init: CanonicalParams,
    config: FitConfig,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    init_keypoints3d: torch.Tensor | None = None,
    focal_known: torch.Tensor | None = None,
    weight_start_by_fit: bool = False,
) -> IEVFit:
    """Joint fit of a whole sequence seen by a fixed rig, in two phases: (1) the rig — cameras,
    shape and focal lengths with the bodies of ``rig_frames`` key frames, for ``rig_iterations``:
    the slow, coupled part, kept small; (2) every frame's body with the rig fixed, for
    ``iterations``: well conditioned, converges fast, scales with the sequence length.

    Args:
        keypoints2d: (F, V, 17, 3); intrinsics: focal (V,), principal (V, 2) (one per camera);
        init: per-frame canonical parameters (from :func:`initial_canonical`).
        init_keypoints3d: (F, V, 17, 3) IRV keypoints in each camera frame: when given, the rig
            registered from these skeletons between views is a second start beside the one from
            the root orientations (the better reprojecting one is used).
        focal_known: (V,) bool, cameras whose focal length is given and not estimated.
        weight_start_by_fit: weight each view's frame in the starting rig by how well its body
            in ``init`` reprojects (see START_FIT_SCALE).
    """
    frames = keypoints2d.shape[0]
    if not estimates_focal(config, frames, focal_known):
        config = dataclasses.replace(config, estimate_focal=False)
    shape = init.shape.median(dim=0).values
    # Two starting rigs: from the views' skeletons registered onto each other, and from their root
    # orientations; the one whose consensus bodies reproject better is kept. Measured on 10 synthetic
    # 4-view rigs at 2 px noise: the skeleton start alone sent one into a mirrored rig (64 deg off)
    # that the other start gets right; the other nine moved by 0.02 deg on average.
    trust = None
    if weight_start_by_fit:
        trust = torch.exp(-view_fit_loss(body, init, keypoints2d, intrinsics, config) / START_FIT_SCALE)
    starts = [_static_rig_init(init, keypoints2d, config, init_keypoints3d, trust)]
    if init_keypoints3d is not None:
        starts.append(_static_rig_init(init, keypoints2d, config, None, trust))
    losses = [_frame_data_loss(body, b_rot, b_t, init.body_pose, shape, c_rot, c_t, keypoints2d, intrinsics, config).sum()
              for c_rot, c_t, b_rot, b_t in starts]
    cam_rot, cam_t, body_rot, body_t = starts[int(torch.stack(losses).argmin())]
    keys = key_frames(frames, config.iev.rig_frames)
    # When every frame is a key frame the rig phase has fitted them all; the frame phase would only
    # restart them at a high learning rate (measured on 30-frame rigs: 40 more iterations worsen
    # PA-MPJPE by 1.8 mm, 120 give it back) and cost a quarter of the time.
    all_keys = len(keys) == frames
    total = config.iev.rig_iterations + (0 if all_keys else config.iev.iterations)

    def report(offset):
        return lambda done: progress(offset + done, total) if progress is not None else None

    rig = _optimize_static_rig(
        body, prior, keypoints2d[keys], intrinsics, cam_rot, cam_t, body_rot[keys], body_t[keys],
        init.body_pose[keys], shape, config, config.iev.rig_iterations, True, report(0), should_cancel, focal_known,
    )
    if all_keys:
        return rig
    cam_rot, cam_t, shape = rig.cam_rot[0], rig.cam_t[0], rig.shape[0]
    focal = Intrinsics(rig.focal[0], intrinsics.principal)
    # Every frame's body in the refined rig's world, agreed on by the views.
    weights = _frame_weights(keypoints2d, config.confidence_threshold)
    # The per-view fits placed the person at a depth proportional to the focal length they used.
    transl = _dolly(init.transl, rig.focal[0] / intrinsics.focal)
    body_rot, body_t = consensus_body_poses(init.global_orient, transl, cam_rot, cam_t, weights)
    pose = init.body_pose.clone()
    # Or the nearest key frame's fitted body, where it reprojects better (a frame whose views'
    # own fits disagree has a poor consensus; motion is smooth between key frames).
    nearest = keys[(torch.arange(frames)[:, None] - keys[None]).abs().argmin(dim=1)]
    key_row = torch.searchsorted(keys, nearest)
    candidate = _frame_data_loss(body, rig.body_rot[key_row], rig.body_transl[key_row], rig.body_pose[key_row], shape,
                                 cam_rot, cam_t, keypoints2d, focal, config)
    current = _frame_data_loss(body, body_rot, body_t, pose, shape, cam_rot, cam_t, keypoints2d, focal, config)
    better = candidate < current
    body_rot[better], body_t[better], pose[better] = (rig.body_rot[key_row][better], rig.body_transl[key_row][better],
                                                      rig.body_pose[key_row][better])
    body_rot[keys], body_t[keys], pose[keys] = rig.body_rot, rig.body_transl, rig.body_pose
    return _optimize_static_rig(
        body, prior, keypoints2d, focal, cam_rot, cam_t, body_rot, body_t, pose, shape, config,
        config.iev.iterations, False, report(config.iev.rig_iterations), should_cancel,
    )

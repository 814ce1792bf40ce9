"""IEV over a static rig: one world->camera pose (and focal length) per camera for the whole
sequence, per-frame bodies in the world, one body shape, temporally smooth motion.

Two phases: (1) the rig — cameras, shape and focal lengths with the bodies of ``rig_frames`` key
frames, for ``rig_iterations``: the slow, coupled part, kept small; (2) every frame's body with the
rig fixed, for ``iterations``: well conditioned, converges fast, scales with the sequence length.

Cameras whose pose is known (a calibration, a rig shared by several people or trials) are held
fixed; the world is then theirs.
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
    person_scale,
    reprojection_error_px,
    reprojection_loss,
    shape_prior_loss,
    smoothness_loss,
)
from core.canonical.params import (
    CanonicalParams,
    Intrinsics,
    body_frame_keypoints,
    canonical_keypoints,
)
from core.canonical.pose_prior import PosePrior
from core.fit.config import FitConfig
from core.fit.height import height_prior_loss
from core.fit.iev import IEVFit
from core.fit.optim import CancelFn, ProgressFn
from core.fit.rig import (
    consensus_body_poses,
    relative_cameras,
    relative_cameras_from_skeletons,
    robust_rotation_mean,
    static_rig_from_frames,
)
from core.fit.schedule import two_phase
from core.fit.swaps import correct_swaps
from core.geometry.camera import camera_centers, project, transform_points
from core.geometry.rotations import rot6d_to_rotmat, rotmat_to_6d


@dataclass
class StaticRig:
    """Cameras fixed over a sequence. rotation: (V, 3, 3) world->camera; translation: (V, 3)
    metres; focal: (V,) pixels; principal: (V, 2) pixels."""

    rotation: torch.Tensor
    translation: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor

    def intrinsics(self, frames: int) -> Intrinsics:
        """The intrinsics laid out (F, V) and (F, V, 2)."""
        views = self.focal.shape[0]
        return Intrinsics(self.focal.expand(frames, views), self.principal.expand(frames, views, 2))

    def camera_points(self, world: torch.Tensor) -> torch.Tensor:
        """(F, V, K, 3) camera-frame points of (F, K, 3) world points."""
        return transform_points(world[:, None], self.rotation[None], self.translation[None])


@dataclass
class RigBodies:
    """Per-frame bodies in a rig's world. rotation: (F, 3, 3) body->world; translation: (F, 3);
    pose: (F, J, 3, 3); shape: (S,) one body for the sequence."""

    rotation: torch.Tensor
    translation: torch.Tensor
    pose: torch.Tensor
    shape: torch.Tensor
    offsets: torch.Tensor | None = None

    def points(self, body: BodyModel) -> torch.Tensor:
        """(F, 17, 3) world keypoints."""
        local = body_frame_keypoints(body, self.pose, self.shape[None].expand(self.pose.shape[0], -1))
        if self.offsets is not None:
            local = local + self.offsets
        return transform_points(local, self.rotation, self.translation)

    def frames(self, index: torch.Tensor) -> RigBodies:
        """The bodies of the frames ``index`` (the same shape)."""
        return RigBodies(self.rotation[index], self.translation[index], self.pose[index], self.shape, self.offsets)


@dataclass
class KnownCameras:
    """Camera poses given by the user (a calibration) or by an earlier fit (a rig shared by
    several people or trials). rotation: (V, 3, 3) world->camera; translation: (V, 3) metres;
    known: (V,) bool, the cameras held fixed (the others are estimated in their world)."""

    rotation: torch.Tensor
    translation: torch.Tensor
    known: torch.Tensor


def focal_of_fov(principal: torch.Tensor, fov_deg: float) -> torch.Tensor:
    """(V,) focal lengths giving ``fov_deg`` across the longer image side, from (V, 2) principal
    points (taken as the image centres)."""
    longer = 2.0 * torch.maximum(principal[..., 0], principal[..., 1])
    return 0.5 * longer / math.tan(math.radians(0.5 * fov_deg))


def dolly(translation: torch.Tensor, zoom: torch.Tensor) -> torch.Tensor:
    """(..., V, 3) camera-frame translations with their depth scaled by (V,) ``zoom``: what keeps the
    person's image size when each camera's focal length is scaled by ``zoom``."""
    return torch.cat([translation[..., :2], translation[..., 2:] * zoom[..., None]], dim=-1)


def key_frames(frames: int, count: int) -> torch.Tensor:
    """``count`` frame indices spread evenly over the sequence (all of them if there are fewer)."""
    if frames <= count:
        return torch.arange(frames)
    return torch.linspace(0, frames - 1, count).round().long().unique()


def frame_weights(keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(F, V) how much a view's frame is worth: its summed keypoint confidence above lambda."""
    return confidence_weights(keypoints2d, threshold).sum(-1)


def data_term(points_cam: torch.Tensor, keypoints2d: torch.Tensor, intrinsics: Intrinsics, config: FitConfig,
              scale: torch.Tensor | None = None) -> torch.Tensor:
    """(F, V) robust reprojection loss of (F, V, 17, 3) camera-frame points."""
    projected = project(points_cam, intrinsics.focal, intrinsics.principal)
    return reprojection_loss(projected, keypoints2d, config.confidence_threshold, config.robust_sigma, scale)


def frame_data_loss(body: BodyModel, bodies: RigBodies, rig: StaticRig, keypoints2d: torch.Tensor,
                    config: FitConfig) -> torch.Tensor:
    """(F,) robust reprojection loss of each frame's body in ``rig``, summed over the views."""
    with torch.no_grad():
        frames = keypoints2d.shape[0]
        scale = person_scale(keypoints2d, config.confidence_threshold)
        return data_term(rig.camera_points(bodies.points(body)), keypoints2d, rig.intrinsics(frames), config, scale).sum(-1)


def view_fit_loss(body: BodyModel, init: CanonicalParams, keypoints2d: torch.Tensor, intrinsics: Intrinsics,
                  config: FitConfig) -> torch.Tensor:
    """(F, V) robust reprojection loss of each view's body in ``init`` (its orientation and
    translation in that camera, the frame's shared pose and shape). intrinsics: (V,) cameras."""
    frames = keypoints2d.shape[0]
    with torch.no_grad():
        intr = Intrinsics(intrinsics.focal.expand(frames, -1), intrinsics.principal.expand(frames, -1, 2))
        return data_term(canonical_keypoints(body, init), keypoints2d, intr, config,
                         person_scale(keypoints2d, config.confidence_threshold))


# ------------------------------------------------------------------------------ starting rigs


def _anchor_to_known(rig: StaticRig, bodies: RigBodies, known: KnownCameras) -> tuple[StaticRig, RigBodies]:
    """Move a rig estimated in its own world into the world of the known cameras: the rotation
    that the known cameras agree on, and the similarity of their centres (scale kept at 1 with a
    single known camera: the body sets it)."""
    fixed = known.known
    # World_est -> world_known rotation Q: R_known = R_est Q for every known camera.
    q_each = rig.rotation[fixed].transpose(-1, -2) @ known.rotation[fixed]
    q = robust_rotation_mean(q_each, torch.ones(q_each.shape[0], dtype=q_each.dtype))
    est_centres = camera_centers(rig.rotation[fixed], rig.translation[fixed]) @ q  # in the known world's axes
    true_centres = camera_centers(known.rotation[fixed], known.translation[fixed])
    if int(fixed.sum()) >= 2:  # least-squares scale of the centres, the rotation being known
        est, true = est_centres - est_centres.mean(0), true_centres - true_centres.mean(0)
        scale = (est * true).sum() / est.square().sum().clamp(min=1e-9)
        shift = true_centres.mean(0) - scale * est_centres.mean(0)
    else:
        scale = torch.ones((), dtype=q.dtype)
        shift = true_centres[0] - est_centres[0]
    rotation = rig.rotation @ q
    centres = scale * camera_centers(rig.rotation, rig.translation) @ q + shift
    rotation = torch.where(fixed[:, None, None], known.rotation, rotation)
    translation = torch.where(fixed[:, None], known.translation, -(rotation @ centres[..., None])[..., 0])
    body_rot = q.T @ bodies.rotation
    body_t = scale * bodies.translation @ q + shift
    return (StaticRig(rotation, translation, rig.focal, rig.principal),
            RigBodies(body_rot, body_t, bodies.pose, bodies.shape))


def start_rig(init: CanonicalParams, keypoints2d: torch.Tensor, intrinsics: Intrinsics, config: FitConfig,
              init_keypoints3d: torch.Tensor | None, trust: torch.Tensor | None = None,
              known: KnownCameras | None = None) -> tuple[StaticRig, RigBodies]:
    """A rig and per-frame bodies from per-view fits (``init`` laid out (F, V, ...)).

    init_keypoints3d: (F, V, 17, 3) per-view keypoints in each camera frame: when given, the rig is
        registered from these skeletons between views, else from the views' root orientations.
    trust: (F, V) extra weights of the views' estimates (default: all 1).
    known: cameras whose pose is known: the rig is moved into their world and they are fixed.
    """
    weights = frame_weights(keypoints2d, config.confidence_threshold)
    if trust is not None:
        weights = weights * trust
    ref = int(weights.sum(0).argmax())  # the camera that sees the person best anchors the world
    if init_keypoints3d is not None:
        conf = confidence_weights(keypoints2d, config.confidence_threshold)
        cam_rot_f, cam_t_f = relative_cameras_from_skeletons(init_keypoints3d, conf, ref)
    else:
        cam_rot_f, cam_t_f = relative_cameras(init.global_orient, init.transl, ref)
    if known is not None and bool(known.known.all()):
        cam_rot, cam_t = known.rotation, known.translation
    else:
        cam_rot, cam_t = static_rig_from_frames(cam_rot_f, cam_t_f, weights)
    body_rot, body_t = consensus_body_poses(init.global_orient, init.transl, cam_rot, cam_t, weights)
    rig = StaticRig(cam_rot, cam_t, intrinsics.focal, intrinsics.principal)
    bodies = RigBodies(body_rot, body_t, init.body_pose, init.shape.median(dim=0).values)
    if known is not None and bool(known.known.any()):
        return _anchor_to_known(rig, bodies, known) if not bool(known.known.all()) else (rig, bodies)
    # Centre the world on the person: a camera's rotation then turns it about the person rather
    # than about its own centre, which keeps the shared camera parameters well conditioned.
    centre = body_t.mean(dim=0)
    return (StaticRig(cam_rot, cam_t + cam_rot @ centre, rig.focal, rig.principal),
            RigBodies(body_rot, body_t - centre, bodies.pose, bodies.shape))


def best_start(body: BodyModel, init: CanonicalParams, keypoints2d: torch.Tensor, intrinsics: Intrinsics,
               config: FitConfig, init_keypoints3d: torch.Tensor | None = None, weight_start_by_fit: bool = False,
               known: KnownCameras | None = None) -> tuple[StaticRig, RigBodies, float]:
    """The starting rig and bodies of a static-rig fit, and their loss (summed robust reprojection
    loss of the consensus bodies): two starts when ``init_keypoints3d`` is given — from the views'
    skeletons registered onto each other, and from their root orientations — the better one kept.
    Measured on 10 synthetic 4-view rigs at 2 px noise: the skeleton start alone sent one into a
    mirrored rig (64 deg off) that the other start gets right; the other nine moved by 0.02 deg.

    weight_start_by_fit: weight each view's frame in the starting rig by how well its body in
        ``init`` reprojects (``IEVConfig.start_fit_scale``).
    """
    trust = None
    if weight_start_by_fit:
        trust = torch.exp(-view_fit_loss(body, init, keypoints2d, intrinsics, config) / config.iev.start_fit_scale)
    starts = [start_rig(init, keypoints2d, intrinsics, config, init_keypoints3d, trust, known)]
    if init_keypoints3d is not None:
        starts.append(start_rig(init, keypoints2d, intrinsics, config, None, trust, known))
    losses = [float(frame_data_loss(body, bodies, rig, keypoints2d, config).sum()) for rig, bodies in starts]
    best = min(range(len(starts)), key=losses.__getitem__)
    return *starts[best], losses[best]


# ------------------------------------------------------------------------------- optimizing


def estimates_focal(config: FitConfig, frames: int, focal_known: torch.Tensor | None) -> bool:
    """Whether a fit with ``config`` of ``frames`` frames estimates any focal length: static rig,
    a rig phase, enough frames (``estimate_focal_min_frames``) and some focal length not given."""
    return (config.static_rig and config.estimate_focal and config.iev.rig_iterations > 0
            and frames >= config.estimate_focal_min_frames and (focal_known is None or not bool(focal_known.all())))


class _RigVariables:
    """The free parameters of one static-rig optimization, and the rig and bodies they make."""

    def __init__(self, body: BodyModel, rig: StaticRig, bodies: RigBodies, optimize_rig: bool, estimate_focal: bool,
                 focal_known: torch.Tensor | None, known: KnownCameras | None, config: FitConfig):
        self.body, self.principal = body, rig.principal
        self.cam_orient = rotmat_to_6d(rig.rotation).detach().clone().requires_grad_(optimize_rig)
        self.cam_t = rig.translation.detach().clone().requires_grad_(optimize_rig)
        self.body_orient = rotmat_to_6d(bodies.rotation).detach().clone().requires_grad_()
        self.body_t = bodies.translation.detach().clone().requires_grad_()
        self.pose = roma.rotmat_to_rotvec(bodies.pose).detach().clone().requires_grad_()
        self.shape = bodies.shape.detach().clone().requires_grad_(optimize_rig)
        self.use_offsets = config.iev.keypoint_offset_sigma_m > 0
        offsets = bodies.offsets if bodies.offsets is not None else torch.zeros(17, 3, dtype=self.shape.dtype)
        self.offsets = offsets.detach().clone().requires_grad_(optimize_rig and self.use_offsets)
        self.log_focal = rig.focal.log().detach().clone().requires_grad_(estimate_focal)
        self.log_focal0 = self.log_focal.detach().clone()
        self.estimate_focal, self.focal_known, self.known = estimate_focal, focal_known, known
        self.fixed_orient = None if known is None else rotmat_to_6d(known.rotation)
        self.shape_lo, self.shape_hi = (b.to(self.shape) for b in body.shape_bounds())
        if estimate_focal:
            self.log_focal_lo, self.log_focal_hi = (focal_of_fov(rig.principal, fov).log()
                                                    for fov in config.iev.focal_fov_range_deg[::-1])
        self.variables = [self.body_orient, self.body_t, self.pose]
        if optimize_rig:
            self.variables += [self.cam_orient, self.cam_t, self.shape] + ([self.log_focal] if estimate_focal else [])
            self.variables += [self.offsets] if self.use_offsets else []

    def rig(self) -> StaticRig:
        # A dolly zoom: the camera's depth follows its focal length, so that a change of focal keeps
        # the person's image size and leaves only the perspective to the loss. Without it, focal
        # and depth form a long narrow valley that Adam does not follow.
        translation = dolly(self.cam_t, (self.log_focal - self.log_focal0).exp())
        return StaticRig(rot6d_to_rotmat(self.cam_orient), translation, self.log_focal.exp(), self.principal)

    def bodies(self) -> RigBodies:
        return RigBodies(rot6d_to_rotmat(self.body_orient), self.body_t, roma.rotvec_to_rotmat(self.pose), self.shape,
                         self.offsets if self.use_offsets else None)

    def project_back(self) -> None:
        """Keep every variable in its valid set (under no_grad): shape bounds, focal lengths within
        their fields of view or as given, known cameras where they are."""
        self.shape.copy_(torch.maximum(torch.minimum(self.shape, self.shape_hi), self.shape_lo))
        if self.estimate_focal:
            self.log_focal.copy_(torch.maximum(torch.minimum(self.log_focal, self.log_focal_hi), self.log_focal_lo))
            if self.focal_known is not None:
                self.log_focal.copy_(torch.where(self.focal_known, self.log_focal0, self.log_focal))
        if self.known is not None:
            fixed = self.known.known
            self.cam_orient.copy_(torch.where(fixed[:, None], self.fixed_orient, self.cam_orient))
            # The dolly keeps a fixed camera's depth only while its focal is fixed too (it is: a
            # known pose comes with its focal length, see fit_static_rig).
            self.cam_t.copy_(torch.where(fixed[:, None], self.known.translation, self.cam_t))


def optimize_static_rig(body: BodyModel, prior: PosePrior, keypoints2d: torch.Tensor, rig: StaticRig, bodies: RigBodies,
                        config: FitConfig, iterations: int, optimize_rig: bool, progress: ProgressFn | None = None,
                        should_cancel: CancelFn | None = None, focal_known: torch.Tensor | None = None,
                        known: KnownCameras | None = None):
    """Adam on a static rig's parameters (the rig itself — cameras, shape, focal lengths — only if
    ``optimize_rig``); returns the fitted (StaticRig, RigBodies, detections after swap checks)."""
    frames = keypoints2d.shape[0]
    estimate_focal = optimize_rig and config.estimate_focal
    v = _RigVariables(body, rig, bodies, optimize_rig, estimate_focal, focal_known, known, config)
    mean_shape = body.mean_shape().to(v.shape)
    height_m, height_sigma = config.height_target
    detections = [keypoints2d]
    scale = person_scale(keypoints2d, config.confidence_threshold)

    def objective():
        current_rig, current = v.rig(), v.bodies()
        world = current.points(body)
        data = data_term(current_rig.camera_points(world), detections[0], current_rig.intrinsics(frames), config, scale).sum()
        total = (data + config.iev.pose_prior_weight * prior(v.pose).sum()
                 + frames * config.iev.shape_prior_weight * shape_prior_loss(v.shape, mean_shape)
                 + frames * config.height.weight * height_prior_loss(body, v.shape, height_m, height_sigma)
                 + frames * config.iev.smoothness_weight * smoothness_loss(world))
        if v.use_offsets:
            total = total + frames * config.iev.keypoint_offset_weight * (v.offsets / config.iev.keypoint_offset_sigma_m).square().sum()
        if estimate_focal:
            focal_prior = ((v.log_focal - v.log_focal0) / config.iev.focal_prior_sigma).square().sum()
            total = total + frames * config.iev.focal_prior_weight * focal_prior
        return total

    def correct():
        current_rig = v.rig()
        detections[0] = correct_swaps(current_rig.camera_points(v.bodies().points(body)), keypoints2d,
                                      current_rig.intrinsics(frames), config)

    method = config.iev.optimizer
    two_phase(v.variables, objective, iterations, 1.0 if method == "lbfgs" else config.iev.lr,
              correct if config.iev.swap_check else None, progress, should_cancel, v.project_back, method=method)
    with torch.no_grad():
        return _detached(v.rig()), _detached(v.bodies()), detections[0]


def _detached(params):
    return type(params)(**{f.name: None if getattr(params, f.name) is None else getattr(params, f.name).detach().clone()
                           for f in dataclasses.fields(params)})


def rig_reprojection(body: BodyModel, rig: StaticRig, bodies: RigBodies, keypoints2d: torch.Tensor,
                     config: FitConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(F, 17, 3) world keypoints and (F, V) reprojection errors in pixels of a fitted rig."""
    with torch.no_grad():
        world = bodies.points(body)
        intr = rig.intrinsics(keypoints2d.shape[0])
        projected = project(rig.camera_points(world), intr.focal, intr.principal)
        return world, reprojection_error_px(projected, keypoints2d, config.confidence_threshold)


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
    known: KnownCameras | None = None,
) -> IEVFit:
    """Joint fit of a whole sequence seen by a fixed rig (see the module doc).

    Args:
        keypoints2d: (F, V, 17, 3); intrinsics: focal (V,), principal (V, 2) (one per camera);
        init: per-frame canonical parameters (from :func:`~core.fit.iev.initial_canonical`).
        init_keypoints3d, weight_start_by_fit: how the rig starts (see :func:`best_start`).
        focal_known: (V,) bool, cameras whose focal length is given and not estimated.
        known: camera poses held fixed (their focal lengths are then taken as known too).
    """
    frames = keypoints2d.shape[0]
    if known is not None:
        focal_known = known.known if focal_known is None else focal_known | known.known
    if not estimates_focal(config, frames, focal_known):
        config = dataclasses.replace(config, estimate_focal=False)
    if frames < config.iev.keypoint_offset_min_frames:
        config = dataclasses.replace(config, iev=dataclasses.replace(config.iev, keypoint_offset_sigma_m=0.0))
    rig, bodies, _ = best_start(body, init, keypoints2d, intrinsics, config, init_keypoints3d, weight_start_by_fit, known)
    keys = key_frames(frames, config.iev.rig_frames)
    # When every frame is a key frame the rig phase has fitted them all; the frame phase would only
    # restart them at a high learning rate (measured on 30-frame rigs: 40 more iterations worsen
    # PA-MPJPE by 1.8 mm, 120 give it back) and cost a quarter of the time.
    all_keys = len(keys) == frames
    total = config.iev.rig_iterations + (0 if all_keys else config.iev.iterations)

    def report(offset):
        return None if progress is None else (lambda done, _total: progress(offset + done, total))

    rig_fit, key_bodies, key_detections = optimize_static_rig(
        body, prior, keypoints2d[keys], rig, bodies.frames(keys), config, config.iev.rig_iterations, True, report(0),
        should_cancel, focal_known, known)
    if all_keys:
        fitted, detections = key_bodies, key_detections
    else:
        # Every frame's body in the refined rig's world, agreed on by the views. The per-view fits
        # placed the person at a depth proportional to the focal length they used.
        transl = dolly(init.transl, rig_fit.focal / intrinsics.focal)
        weights = frame_weights(keypoints2d, config.confidence_threshold)
        body_rot, body_t = consensus_body_poses(init.global_orient, transl, rig_fit.rotation, rig_fit.translation, weights)
        start = RigBodies(body_rot, body_t, init.body_pose.clone(), key_bodies.shape, key_bodies.offsets)
        # Or the nearest key frame's fitted body, where it reprojects better (a frame whose views'
        # own fits disagree has a poor consensus; motion is smooth between key frames).
        nearest = keys[(torch.arange(frames)[:, None] - keys[None]).abs().argmin(dim=1)]
        from_key = key_bodies.frames(torch.searchsorted(keys, nearest))
        better = frame_data_loss(body, from_key, rig_fit, keypoints2d, config) < frame_data_loss(
            body, start, rig_fit, keypoints2d, config)
        for name in ("rotation", "translation", "pose"):
            value = getattr(start, name)
            value[better] = getattr(from_key, name)[better]
            value[keys] = getattr(key_bodies, name)
        _, fitted, detections = optimize_static_rig(
            body, prior, keypoints2d, rig_fit, start, config, config.iev.iterations, False,
            report(config.iev.rig_iterations), should_cancel)
    world, reproj = rig_reprojection(body, rig_fit, fitted, detections, config)
    return IEVFit(
        body_rot=fitted.rotation, body_transl=fitted.translation, body_pose=fitted.pose,
        shape=fitted.shape[None].expand(frames, -1).clone(),
        cam_rot=rig_fit.rotation[None].expand(frames, -1, -1, -1).clone(),
        cam_t=rig_fit.translation[None].expand(frames, -1, -1).clone(),
        focal=rig_fit.focal[None].expand(frames, -1).clone(), principal=rig_fit.principal[None].expand(frames, -1, -1).clone(),
        joints3d=world, reproj_px=reproj, keypoints2d=detections,
    )

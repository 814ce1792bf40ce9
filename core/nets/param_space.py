"""The regressors' view of the canonical parameter space (core.canonical.params): flat vectors that
start at the mean body and are updated additively.

Per view, IRV's vector is ``theta = [orient (6), pose (J x 6), shape_z (S), cam (3)]``: 6D
rotations (continuous, unlike axis-angle), the shape in an unbounded form (``shape_z``: the logit
of each parameter within its bounds, for Anny's phenotypes in [0, 1]; the shape itself for an
unbounded model), and the scale-free camera ``(log s, ox, oy)`` of core.nets.camera. IEV's
canonical state keeps orient and cam per view and one (pose, shape_z) per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import roma
import torch
from torch import nn

from core.body import BodyModel
from core.canonical.params import CanonicalParams, ViewBodies, camera_facing_rotation
from core.geometry.rotations import rot6d_to_rotmat, rotmat_to_6d
from core.nets.camera import MEAN_LOG_SCALE, cam_to_translation, translation_to_cam
from core.nets.inputs import ViewInputs

# Shape parameters are kept this far inside finite bounds, so that their logit stays finite.
SHAPE_MARGIN = 1e-3


@dataclass
class CanonicalTheta:
    """IEV's state in regressor form. orient: (..., V, 6); cam: (..., V, 3); pose: (..., J, 6);
    shape_z: (..., S)."""

    orient: torch.Tensor
    cam: torch.Tensor
    pose: torch.Tensor
    shape_z: torch.Tensor

    def map(self, fn) -> CanonicalTheta:
        return CanonicalTheta(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})


class ParamSpace(nn.Module):
    """Mean parameters and the conversions between regressor vectors and body parameters.

    Holds no learnt weights, only buffers (saved with the network so that a checkpoint keeps the
    mean it was trained from even if the body model's prior changes later).
    """

    def __init__(self, mean_orient: torch.Tensor, mean_pose: torch.Tensor, mean_shape: torch.Tensor,
                 shape_lo: torch.Tensor, shape_hi: torch.Tensor) -> None:
        """mean_orient: (3, 3) body->camera; mean_pose: (J, 3, 3); mean_shape, shape_lo, shape_hi: (S,)."""
        super().__init__()
        self.num_joints, self.shape_dim = mean_pose.shape[0], mean_shape.shape[0]
        self.register_buffer("shape_lo", shape_lo.float().clone())
        self.register_buffer("shape_hi", shape_hi.float().clone())
        mean = torch.cat([
            rotmat_to_6d(mean_orient.float()),
            rotmat_to_6d(mean_pose.float()).reshape(-1),
            self.shape_to_z(mean_shape.float()),
            torch.tensor([MEAN_LOG_SCALE, 0.0, 0.0]),
        ])
        self.register_buffer("mean", mean)

    @classmethod
    def for_body(cls, body: BodyModel, mean_pose_rotvec: torch.Tensor) -> ParamSpace:
        """The space of ``body``, starting from an upright body facing the camera in the pose
        ``mean_pose_rotvec`` (J, 3) (the pose prior's mean)."""
        lo, hi = body.shape_bounds()
        return cls(camera_facing_rotation(body), roma.rotvec_to_rotmat(mean_pose_rotvec.float().cpu()),
                   body.mean_shape().cpu(), lo.cpu(), hi.cpu())

    @classmethod
    def empty(cls, num_joints: int, shape_dim: int) -> ParamSpace:
        """A placeholder of the right sizes, to be filled by ``load_state_dict`` (checkpoints)."""
        eye = torch.eye(3)
        return cls(eye, eye.expand(num_joints, 3, 3), torch.full((shape_dim,), 0.5), torch.zeros(shape_dim), torch.ones(shape_dim))

    @property
    def dim(self) -> int:
        return 6 + 6 * self.num_joints + self.shape_dim + 3

    # ---------------------------------------------------------------- shape <-> unbounded form

    def _bounded(self) -> torch.Tensor:
        return torch.isfinite(self.shape_lo) & torch.isfinite(self.shape_hi)

    def z_to_shape(self, z: torch.Tensor) -> torch.Tensor:
        """(..., S) unbounded -> shape parameters within their bounds."""
        bounded = self._bounded()
        lo, hi = torch.where(bounded, self.shape_lo, 0.0), torch.where(bounded, self.shape_hi, 1.0)
        return torch.where(bounded, lo + (hi - lo) * torch.sigmoid(z), z)

    def shape_to_z(self, shape: torch.Tensor) -> torch.Tensor:
        bounded = self._bounded()
        lo, hi = torch.where(bounded, self.shape_lo, 0.0), torch.where(bounded, self.shape_hi, 1.0)
        unit = ((shape - lo) / (hi - lo)).clamp(SHAPE_MARGIN, 1 - SHAPE_MARGIN)
        return torch.where(bounded, torch.logit(unit), shape)

    # ---------------------------------------------------------------- IRV vectors

    def split(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., D) -> orient (..., 6), pose (..., J, 6), shape_z (..., S), cam (..., 3)."""
        j6 = 6 * self.num_joints
        orient, pose, shape_z, cam = theta.split([6, j6, self.shape_dim, 3], dim=-1)
        return orient, pose.reshape(*pose.shape[:-1], self.num_joints, 6), shape_z, cam

    def join(self, orient: torch.Tensor, pose: torch.Tensor, shape_z: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
        return torch.cat([orient, pose.flatten(-2), shape_z, cam], dim=-1)

    def view_bodies(self, theta: torch.Tensor, inputs: ViewInputs) -> ViewBodies:
        """(..., V, D) IRV vectors -> per-view bodies in camera frames (metres, rotation matrices)."""
        orient, pose, shape_z, cam = self.split(theta)
        transl = cam_to_translation(cam, inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal)
        return ViewBodies(rot6d_to_rotmat(orient), rot6d_to_rotmat(pose), self.z_to_shape(shape_z), transl)

    def theta_from_bodies(self, bodies: ViewBodies, inputs: ViewInputs) -> torch.Tensor:
        """Inverse of :meth:`view_bodies` (e.g. for pseudo-labels). (..., V, D)."""
        cam = translation_to_cam(bodies.transl, inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal)
        return self.join(rotmat_to_6d(bodies.global_orient), rotmat_to_6d(bodies.body_pose),
                         self.shape_to_z(bodies.shape), cam)

    # ---------------------------------------------------------------- IEV state

    def canonical(self, theta: CanonicalTheta, inputs: ViewInputs) -> CanonicalParams:
        """Regressor state -> CanonicalParams (rotation matrices, metres)."""
        transl = cam_to_translation(theta.cam, inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal)
        return CanonicalParams(rot6d_to_rotmat(theta.orient), transl, rot6d_to_rotmat(theta.pose), self.z_to_shape(theta.shape_z))

    def canonical_theta(self, params: CanonicalParams, inputs: ViewInputs) -> CanonicalTheta:
        """Inverse of :meth:`canonical`."""
        cam = translation_to_cam(params.transl, inputs.box_centre, inputs.box_size, inputs.focal, inputs.principal)
        return CanonicalTheta(rotmat_to_6d(params.global_orient), cam, rotmat_to_6d(params.body_pose),
                              self.shape_to_z(params.shape))

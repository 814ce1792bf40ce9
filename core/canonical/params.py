"""The canonical parameter space shared by the optimizers and the networks.

As in the paper, the camera rotation is folded into the body's per-view global orientation: in
view ``v`` the body is ``X_cam = R_v X_body(theta, beta) + t_v``, where ``X_body`` is the posed
body with identity global orientation and no translation (the body model's own frame). The
space's reference orientation, :func:`camera_facing_rotation`, is an upright body facing the
camera: where the optimizers and the networks start.

IRV estimates one independent body per view: ``(R_v, t_v, theta_v, beta_v)``. IEV shares
``(theta, beta)`` over the views and keeps ``(R_v, t_v)`` per view. All rotations are matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from core.body import BodyModel
from core.geometry.camera import transform_points


@dataclass
class Intrinsics:
    """Per-view pinhole intrinsics. focal: (..., V) pixels; principal: (..., V, 2) pixels."""

    focal: torch.Tensor
    principal: torch.Tensor


@dataclass
class ViewBodies:
    """One body per view, in that view's camera frame (IRV's output).

    global_orient: (..., V, 3, 3); body_pose: (..., V, J, 3, 3); shape: (..., V, S);
    transl: (..., V, 3) metres.
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    shape: torch.Tensor
    transl: torch.Tensor


@dataclass
class CanonicalParams:
    """IEV's canonical space for a batch of multi-view frames.

    global_orient: (..., V, 3, 3) body->camera rotation per view; transl: (..., V, 3) per view;
    body_pose: (..., J, 3, 3) and shape: (..., S) shared by all views.
    """

    global_orient: torch.Tensor
    transl: torch.Tensor
    body_pose: torch.Tensor
    shape: torch.Tensor


def camera_facing_rotation(body: BodyModel) -> torch.Tensor:
    """(3, 3) body->camera rotation of an upright body facing the camera (OpenCV camera axes)."""
    up, forward = body.up_axis.float().cpu(), body.forward_axis.float().cpu()
    source = torch.stack([up, forward, torch.linalg.cross(up, forward)], dim=1)
    cam_up, cam_toward = torch.tensor([0.0, -1.0, 0.0]), torch.tensor([0.0, 0.0, -1.0])
    target = torch.stack([cam_up, cam_toward, torch.linalg.cross(cam_up, cam_toward)], dim=1)
    return target @ source.T


def map_fields(params, fn):
    """A parameter dataclass (ViewBodies, CanonicalParams, ...) with ``fn`` applied to each of its
    tensors, field by field (indexing rows, moving to a device, detaching)."""
    return type(params)(**{f.name: fn(getattr(params, f.name)) for f in fields(params)})


def detach(params):
    """A copy of a parameter dataclass with every tensor detached."""
    return map_fields(params, torch.Tensor.detach)


def view_keypoints(body: BodyModel, bodies: ViewBodies) -> torch.Tensor:
    """(..., V, 17, 3) camera-frame keypoints of independent per-view bodies."""
    batch = bodies.shape.shape[:-1]
    out = body(
        bodies.global_orient.reshape(-1, 3, 3),
        bodies.body_pose.reshape(-1, *bodies.body_pose.shape[-3:]),
        bodies.shape.reshape(-1, bodies.shape.shape[-1]),
        bodies.transl.reshape(-1, 3),
        vertices=False,
    )
    return out.keypoints.reshape(*batch, -1, 3)


def body_frame_keypoints(body: BodyModel, body_pose: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """(..., 17, 3) keypoints of the posed body in its own frame (identity orientation, no translation)."""
    batch = body_pose.shape[:-3]
    flat_pose = body_pose.reshape(-1, *body_pose.shape[-3:])
    identity = torch.eye(3, dtype=flat_pose.dtype, device=flat_pose.device).expand(flat_pose.shape[0], 3, 3)
    out = body(identity, flat_pose, shape.reshape(-1, shape.shape[-1]).expand(flat_pose.shape[0], -1), vertices=False)
    return out.keypoints.reshape(*batch, -1, 3)


def canonical_keypoints(body: BodyModel, params: CanonicalParams) -> torch.Tensor:
    """(..., V, 17, 3) camera-frame keypoints of the shared body seen by every view."""
    local = body_frame_keypoints(body, params.body_pose, params.shape)  # (..., 17, 3)
    return transform_points(local.unsqueeze(-3), params.global_orient, params.transl)

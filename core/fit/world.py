"""Put a fitted sequence into a world frame a user can work with: Z up (Blender's convention;
exports convert for Y-up tools), the floor at z = 0, the person starting at the origin and facing
-Y, metres.

The up direction comes from two witnesses: the cameras' common up (people hold cameras roughly
level) and the body's own up over time (people are mostly upright). Where they agree, their mean
is used; where they do not (a camera rig on its side, a person lying down), the more consistent
one wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.geometry.camera import transform_points

ANKLE_INDICES = (15, 16)
AGREEMENT_DEG = 30.0


@dataclass
class WorldFrame:
    """A similarity-free change of world frame: ``X_new = rotation @ (X_old - origin)``."""

    rotation: torch.Tensor  # (3, 3)
    origin: torch.Tensor  # (3,)


def _mean_direction(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit mean of (N, 3) unit vectors and their spread (mean angle to it, degrees)."""
    mean = vectors.mean(0)
    mean = mean / mean.norm().clamp(min=1e-9)
    spread = torch.rad2deg(torch.acos((vectors @ mean).clamp(-1.0, 1.0))).mean()
    return mean, spread


def _angle_deg(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.rad2deg(torch.acos((a @ b).clamp(-1.0, 1.0))))


def estimate_up(cam_rot: torch.Tensor, body_rot: torch.Tensor, body_up: torch.Tensor) -> torch.Tensor:
    """(3,) world up direction.

    Args:
        cam_rot: (F, V, 3, 3) world->camera; body_rot: (F, 3, 3) body->world; body_up: (3,) the
        body model's up axis in its own frame.
    """
    camera_ups = -cam_rot[..., 1, :].reshape(-1, 3)  # image-up (-y) of each camera, in the world
    body_ups = body_rot @ body_up.to(body_rot)
    cam_up, cam_spread = _mean_direction(camera_ups)
    person_up, body_spread = _mean_direction(body_ups)
    if _angle_deg(cam_up, person_up) < AGREEMENT_DEG:
        up = cam_up + person_up
        return up / up.norm()
    return person_up if body_spread <= cam_spread else cam_up


def world_frame(
    joints3d: torch.Tensor,
    body_rot: torch.Tensor,
    cam_rot: torch.Tensor,
    body_up: torch.Tensor,
    body_forward: torch.Tensor,
    ankle_height: float,
) -> WorldFrame:
    """The Z-up, floor-at-zero, facing -Y frame for a fitted sequence.

    Args:
        joints3d: (F, 17, 3) keypoints in the fitting frame; body_rot: (F, 3, 3) body->fitting
        frame; cam_rot: (F, V, 3, 3) world->camera; body_up, body_forward: (3,) body model axes;
        ankle_height: height of the ankle keypoint above the sole in the rest pose (metres).
    """
    up = estimate_up(cam_rot, body_rot, body_up)
    facing = body_rot[0] @ body_forward.to(body_rot)
    facing = facing - (facing @ up) * up
    if facing.norm() < 1e-6:  # facing straight up or down: any horizontal heading will do
        facing = torch.linalg.cross(up, torch.tensor([1.0, 0.0, 0.0]).to(up))
    facing = facing / facing.norm()
    # Rows: new x, y, z axes in old coordinates. z = up, -y = facing, x = y cross z.
    new_y = -facing
    new_x = torch.linalg.cross(new_y, up)
    rotation = torch.stack([new_x, new_y, up])
    heights = joints3d[:, list(ANKLE_INDICES)] @ up
    floor = torch.quantile(heights.reshape(-1), 0.05) - ankle_height
    start = joints3d[0, [11, 12]].mean(0)
    origin = start - (start @ up) * up + floor * up
    return WorldFrame(rotation=rotation, origin=origin)


def apply_world_frame(
    frame: WorldFrame,
    joints3d: torch.Tensor,
    body_rot: torch.Tensor,
    body_transl: torch.Tensor,
    cam_rot: torch.Tensor,
    cam_t: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """Re-express a fit in ``frame``: returns joints3d, body_rot, body_transl, cam_rot, cam_t."""
    W, o = frame.rotation, frame.origin
    new_joints = transform_points(joints3d - o, W, torch.zeros_like(o))
    new_body_rot = W @ body_rot
    new_body_t = (body_transl - o) @ W.T
    # X_cam = Rc X_old + tc = Rc W^T X_new + (Rc o + tc)
    new_cam_rot = cam_rot @ W.T
    new_cam_t = cam_t + (cam_rot @ o[:, None])[..., 0]
    return new_joints, new_body_rot, new_body_t, new_cam_rot, new_cam_t


def rest_ankle_height(body) -> float:
    """Height of the ankle keypoints above the lowest vertex in the mean-shape rest pose."""
    with torch.no_grad():
        device = body.device
        out = body(torch.zeros(1, 3, device=device), torch.zeros(1, body.num_pose_joints, 3, device=device),
                   body.mean_shape()[None].to(device))
        up = body.up_axis.to(device)
        return float((out.keypoints[0, list(ANKLE_INDICES)] @ up).mean() - (out.vertices[0] @ up).min())

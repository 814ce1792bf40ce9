"""Initial guesses for the optimizers: upright orientations facing several ways, and the camera
distance from the torso's 2D size."""

from __future__ import annotations

import math

import roma
import torch

from core.body import BodyModel
from core.canonical.losses import confidence_weights
from core.canonical.params import camera_facing_rotation

# COCO-17 indices.
_SHOULDERS = (5, 6)
_HIPS = (11, 12)
# Keypoints that a rigid (posed-at-the-mean) body predicts well: head and torso.
RIGID_KEYPOINTS = (0, 1, 2, 3, 4, 5, 6, 11, 12)


def image_roll(keypoints2d: torch.Tensor, threshold: float) -> torch.Tensor:
    """(...,) in-plane angle (radians) of the person's hips->shoulders direction from image-up."""
    conf = confidence_weights(keypoints2d, threshold)
    def centre(idx):
        w = conf[..., idx]
        return (keypoints2d[..., idx, :2] * w[..., None]).sum(-2) / w.sum(-1, keepdim=True).clamp(min=1e-6), w.sum(-1) > 0
    shoulders, has_s = centre(list(_SHOULDERS))
    hips, has_h = centre(list(_HIPS))
    d = shoulders - hips
    roll = torch.atan2(d[..., 0], -d[..., 1])  # 0 when the shoulders are straight above the hips
    return torch.where(has_s & has_h, roll, torch.zeros_like(roll))


def orientation_starts(body: BodyModel, keypoints2d: torch.Tensor, count: int, threshold: float) -> torch.Tensor:
    """(N, count, 3, 3) candidate body->camera rotations per item: upright (following the image
    roll of the torso), turned about the body's up axis by ``count`` evenly spaced yaw angles."""
    base = camera_facing_rotation(body).to(keypoints2d)
    yaws = torch.arange(count, dtype=keypoints2d.dtype, device=keypoints2d.device) * (2 * math.pi / count)
    yaw_rot = roma.rotvec_to_rotmat(yaws[:, None] * body.up_axis.to(keypoints2d)[None])  # (count, 3, 3)
    roll = image_roll(keypoints2d, threshold)  # (N,)
    roll_rot = roma.rotvec_to_rotmat(roll[:, None] * torch.tensor([0.0, 0.0, 1.0]).to(keypoints2d))
    return roll_rot[:, None] @ base @ yaw_rot[None]


def initial_translation(
    rotation: torch.Tensor,
    rest_keypoints: torch.Tensor,
    keypoints2d: torch.Tensor,
    focal: torch.Tensor,
    principal: torch.Tensor,
    threshold: float,
) -> torch.Tensor:
    """(N, 3) camera-frame translation that puts the body's torso where the detections are.

    Depth = focal * 3D size / 2D size, using the shoulder-hip distance (independent of the yaw),
    or the whole visible extent when the torso is not seen; x, y from the visible keypoints' centre.

    Args:
        rotation: (N, 3, 3) body->camera rotations; rest_keypoints: (17, 3) body-frame keypoints;
        keypoints2d: (N, 17, 3); focal: (N,); principal: (N, 2).
    """
    conf = confidence_weights(keypoints2d, threshold)
    xy = keypoints2d[..., :2]
    torso_seen = (conf[:, list(_SHOULDERS)].sum(-1) > 0) & (conf[:, list(_HIPS)].sum(-1) > 0)

    def mid(points, weights, idx):
        w = weights[..., idx].clamp(min=1e-6)
        return (points[..., idx, :] * w[..., None]).sum(-2) / w.sum(-1, keepdim=True)

    torso_2d = (mid(xy, conf, list(_SHOULDERS)) - mid(xy, conf, list(_HIPS))).norm(dim=-1)
    ones = torch.ones_like(conf)
    torso_3d = (mid(rest_keypoints[None], ones, list(_SHOULDERS)) - mid(rest_keypoints[None], ones, list(_HIPS))).norm(dim=-1)
    # Whole-body fallback: extent of the visible keypoints vs the rest body's height.
    valid = conf > 0
    big = 1e9
    extent_2d = (torch.where(valid[..., None], xy, xy.new_full(xy.shape, -big)).amax(-2)
                 - torch.where(valid[..., None], xy, xy.new_full(xy.shape, big)).amin(-2)).amax(-1)
    extent_3d = (rest_keypoints.amax(0) - rest_keypoints.amin(0)).amax()
    use_torso = torso_seen & (torso_2d > 4.0)
    ratio = torch.where(use_torso, torso_3d / torso_2d.clamp(min=1.0), extent_3d / extent_2d.clamp(min=1.0))
    depth = (focal * ratio).clamp(0.5, 50.0)

    centre_2d = (xy * conf[..., None]).sum(-2) / conf.sum(-1, keepdim=True).clamp(min=1e-6)
    centre_2d = torch.where(conf.sum(-1, keepdim=True) > 0, centre_2d, principal)
    rest_cam = rest_keypoints[None] @ rotation.transpose(-1, -2)  # rotated, untranslated
    rest_centre = (rest_cam * conf[..., None]).sum(-2) / conf.sum(-1, keepdim=True).clamp(min=1e-6)
    ray = torch.cat([(centre_2d - principal) / focal[:, None], torch.ones_like(depth)[:, None]], dim=-1)
    return ray * depth[:, None] - rest_centre * torch.tensor([1.0, 1.0, 0.0]).to(rest_centre)

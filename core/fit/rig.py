"""From per-view (body->camera) poses to a rig: one world frame, cameras in it.

IRV gives, per frame f and view v, the body->camera rotation R_fv and translation t_fv. With the
world taken as a reference camera's frame, camera v's world->camera pose is
``Rc_v = R_fv R_fr^T`` and ``tc_v = t_fv - Rc_v t_fr``; a static rig has one such pose per camera,
estimated robustly over the frames.
"""

from __future__ import annotations

import roma
import torch


def relative_cameras(rot: torch.Tensor, transl: torch.Tensor, ref: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame camera poses in the frame of camera ``ref``.

    Args:
        rot: (F, V, 3, 3) body->camera rotations; transl: (F, V, 3).
    Returns:
        (F, V, 3, 3) world->camera rotations and (F, V, 3) translations, world = camera ``ref``.
    """
    rot_ref, t_ref = rot[:, ref : ref + 1], transl[:, ref : ref + 1]
    cam_rot = rot @ rot_ref.transpose(-1, -2)
    cam_t = transl - (cam_rot @ t_ref[..., None])[..., 0]
    return cam_rot, cam_t


def robust_rotation_mean(rotations: torch.Tensor, weights: torch.Tensor, inlier_deg: float = 20.0) -> torch.Tensor:
    """(3, 3) mean of (N, 3, 3) noisy rotations that may contain flips and outliers.

    Each rotation votes for the others within ``inlier_deg``; the weighted chordal mean of the
    largest consensus set is returned.
    """
    angles = torch.rad2deg(roma.rotmat_geodesic_distance(rotations[:, None], rotations[None]))
    inliers = angles < inlier_deg
    support = (inliers.float() * weights[None]).sum(-1)
    best = support.argmax()
    members = inliers[best].float() * weights
    return roma.special_procrustes((rotations * members[:, None, None]).sum(0))


def static_rig_from_frames(
    cam_rot: torch.Tensor, cam_t: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pose per camera from per-frame estimates.

    Args:
        cam_rot: (F, V, 3, 3); cam_t: (F, V, 3); weights: (F, V) trust in each frame's estimate.
    Returns:
        (V, 3, 3) rotations and (V, 3) translations (weighted median of the consistent frames).
    """
    views = cam_rot.shape[1]
    rots, trans = [], []
    for v in range(views):
        mean = robust_rotation_mean(cam_rot[:, v], weights[:, v])
        close = torch.rad2deg(roma.rotmat_geodesic_distance(cam_rot[:, v], mean[None])) < 20.0
        w = weights[:, v] * close
        if w.sum() <= 0:
            w = weights[:, v] + 1e-6
        rots.append(mean)
        trans.append(_weighted_median(cam_t[:, v], w))
    return torch.stack(rots), torch.stack(trans)


def _weighted_median(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(D,) per-coordinate weighted median of (N, D) values."""
    order = values.argsort(dim=0)
    sorted_values = values.gather(0, order)
    sorted_weights = weights[order]
    cumulative = sorted_weights.cumsum(0)
    half = cumulative[-1] / 2
    index = (cumulative < half).sum(0).clamp(max=values.shape[0] - 1)
    return sorted_values.gather(0, index[None])[0]

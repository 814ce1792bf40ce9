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


def relative_cameras_from_skeletons(
    keypoints3d: torch.Tensor, weights: torch.Tensor, ref: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame camera poses in the frame of camera ``ref``, by rigid registration of each view's
    3D skeleton (IRV keypoints, camera frame) onto the reference view's.

    Using the whole skeleton rather than the body's root orientation matters: the root rotation
    of a monocular fit is pinned down only by the two hips and drifts with the spine.

    Args:
        keypoints3d: (F, V, K, 3) camera-frame keypoints; weights: (F, V, K) confidences.
    Returns:
        (F, V, 3, 3) world->camera rotations and (F, V, 3) translations, world = camera ``ref``.
    """
    frames, views = keypoints3d.shape[:2]
    source = keypoints3d[:, ref : ref + 1].expand_as(keypoints3d)
    w = torch.minimum(weights, weights[:, ref : ref + 1]) + 1e-6
    rot, transl = roma.rigid_points_registration(
        source.reshape(-1, *source.shape[2:]), keypoints3d.reshape(-1, *keypoints3d.shape[2:]), weights=w.reshape(-1, w.shape[-1])
    )
    return rot.reshape(frames, views, 3, 3), transl.reshape(frames, views, 3)


def consensus_body_poses(
    body_rot: torch.Tensor, body_transl: torch.Tensor, cam_rot: torch.Tensor, cam_t: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each frame's body pose in the world, agreed on by the views.

    Args:
        body_rot: (F, V, 3, 3) body->camera rotations per view; body_transl: (F, V, 3);
        cam_rot: (V, 3, 3), cam_t: (V, 3) world->camera; weights: (F, V).
    Returns:
        (F, 3, 3) body->world rotations and (F, 3) translations: the largest consensus of the
        views' estimates, so that one view's flipped fit does not flip the body.
    """
    world_rot = cam_rot.transpose(-1, -2)[None] @ body_rot
    world_t = (cam_rot.transpose(-1, -2)[None] @ (body_transl - cam_t[None])[..., None])[..., 0]
    rots, trans = [], []
    for f in range(body_rot.shape[0]):
        mean = robust_rotation_mean(world_rot[f], weights[f] + 1e-6, inlier_deg=30.0)
        close = torch.rad2deg(roma.rotmat_geodesic_distance(world_rot[f], mean[None])) < 30.0
        rots.append(mean)
        trans.append(_weighted_median(world_t[f], (weights[f] + 1e-6) * close))
    rots, trans = torch.stack(rots), torch.stack(trans)
    # A frame no view sees (the person out of every view) has no estimate of its own: it starts
    # where the nearest seen frame is, not wherever its empty per-view fits ended.
    seen = (weights > 0).any(dim=-1)
    if seen.any() and not seen.all():
        index = torch.arange(len(seen), device=seen.device)
        seen_index = index[seen]
        nearest = seen_index[(index[:, None] - seen_index[None]).abs().argmin(dim=-1)]
        rots, trans = rots[nearest], trans[nearest]
    return rots, trans


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

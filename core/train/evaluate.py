"""Evaluation of a network against ground truth (synthetic sequences): the paper's metrics for
IRV and IEV.

Used by benchmarks and, when asked (``cmanet train --eval-gt``), to log held-out metrics; never
by the training itself (no loss, no checkpoint choice reads ground truth).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.body import BodyModel
from core.canonical.params import (
    CanonicalParams,
    ViewBodies,
    body_frame_keypoints,
    view_keypoints,
)
from core.eval import load_ground_truth
from core.geometry import metrics
from core.geometry.camera import transform_points


def canonical_joints(body: BodyModel, params: CanonicalParams, view: int = 0) -> torch.Tensor:
    """(F, 17, 3) the canonical body's keypoints in the camera frame of ``view``."""
    local = body_frame_keypoints(body, params.body_pose, params.shape)
    return transform_points(local, params.global_orient[:, view], params.transl[:, view])


def load_gt(sequence: str | Path) -> dict[str, np.ndarray]:
    """``SEQ/gt.npz`` (evaluation only)."""
    return load_ground_truth(Path(sequence) / "gt.npz")


def gt_cameras(gt: dict[str, np.ndarray], frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(F, V, 3, 3), (F, V, 3) world->camera ground truth for every frame."""
    rot = torch.as_tensor(gt["cam_R"], dtype=torch.float32)
    t = torch.as_tensor(gt["cam_t"], dtype=torch.float32)
    if rot.dim() == 3:
        rot, t = rot[None].expand(frames, -1, -1, -1), t[None].expand(frames, -1, -1)
    return rot[:frames], t[:frames]


def pose_metrics(
    body: BodyModel, irv: ViewBodies, iev: CanonicalParams, gt_joints: torch.Tensor, gt_rot: torch.Tensor, gt_t: torch.Tensor
) -> dict[str, float]:
    """PA-MPJPE / MPJPE (one similarity per sequence) of IEV and IRV (mean over views, in each
    view's camera frame) and the camera relative-rotation error of IEV and IRV, degrees.

    gt_joints: (F, 17, 3) world; gt_rot, gt_t: (F, V, 3, 3), (F, V, 3) world->camera.
    """
    device = irv.transl.device
    gt_joints, gt_rot, gt_t = gt_joints.to(device), gt_rot.to(device), gt_t.to(device)
    joints = canonical_joints(body, iev)
    out = {
        "iev_pa_mpjpe_mm": float(metrics.pa_mpjpe(joints, gt_joints)),
        "iev_mpjpe_mm": float(metrics.mpjpe(metrics.align_sequence(joints, gt_joints), gt_joints)),
        # Relative rotations R_j R_i^T do not depend on the world frame: the body->camera
        # orientations are world->camera rotations of the body's own frame.
        "iev_cam_rot_deg": float(metrics.relative_rotation_error_deg(iev.global_orient, gt_rot).mean()),
        "irv_cam_rot_deg": float(metrics.relative_rotation_error_deg(irv.global_orient, gt_rot).mean()),
    }
    gt_cam = transform_points(gt_joints[:, None], gt_rot, gt_t)  # (F, V, 17, 3)
    irv_joints = view_keypoints(body, irv)
    views = irv_joints.shape[1]
    out["irv_pa_mpjpe_mm"] = float(np.mean([float(metrics.pa_mpjpe(irv_joints[:, v], gt_cam[:, v])) for v in range(views)]))
    return out

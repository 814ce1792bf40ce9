"""The paper's evaluation metrics.

MPJPE in mm; PA-MPJPE = MPJPE after a per-frame similarity Procrustes; PCK@150 mm and its AUC over
0-150 mm; camera relative-rotation error = angle between estimated and true ``R_j R_i^T`` over all
camera pairs. Without calibration the world frame and scale are free, so absolute numbers are
taken after one similarity transform for the whole sequence (:func:`align_sequence`).
All joint inputs are in metres; outputs in millimetres or degrees.
"""

from __future__ import annotations

import roma
import torch

PCK_THRESHOLD_MM = 150.0


def joint_errors_mm(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(..., K, 3), (..., K, 3) metres -> (..., K) Euclidean errors in mm."""
    return (pred - gt).norm(dim=-1) * 1000.0


def mpjpe(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error in mm over all frames and joints (no alignment)."""
    return joint_errors_mm(pred, gt).mean()


def procrustes_align(pred: torch.Tensor, gt: torch.Tensor, scale: bool = True) -> torch.Tensor:
    """Align each (..., K, 3) ``pred`` set to ``gt`` by a rigid (or similarity) transform.

    Returns the aligned (..., K, 3) prediction.
    """
    rotation, translation, *rest = roma.rigid_points_registration(pred, gt, compute_scaling=scale)
    factor = rest[0][..., None, None] if scale else 1.0
    return factor * pred @ rotation.transpose(-1, -2) + translation[..., None, :]


def pa_mpjpe(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """MPJPE in mm after a per-frame similarity Procrustes alignment. (F, K, 3) inputs."""
    return mpjpe(procrustes_align(pred, gt, scale=True), gt)


def pck(pred: torch.Tensor, gt: torch.Tensor, threshold_mm: float = PCK_THRESHOLD_MM) -> torch.Tensor:
    """Percentage of joints within ``threshold_mm`` (0-100)."""
    return (joint_errors_mm(pred, gt) <= threshold_mm).float().mean() * 100.0


def auc(pred: torch.Tensor, gt: torch.Tensor, max_mm: float = PCK_THRESHOLD_MM, steps: int = 31) -> torch.Tensor:
    """Area under the PCK curve for thresholds 0..max_mm (``steps`` evenly spaced), in 0-100."""
    errors = joint_errors_mm(pred, gt).reshape(-1)
    thresholds = torch.linspace(0.0, max_mm, steps, dtype=errors.dtype, device=errors.device)
    return (errors[None, :] <= thresholds[:, None]).float().mean() * 100.0


def align_sequence(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Align a whole (F, K, 3) sequence to ground truth by ONE similarity transform."""
    aligned = procrustes_align(pred.reshape(1, -1, 3), gt.reshape(1, -1, 3), scale=True)
    return aligned.reshape(pred.shape)


def relative_rotation_error_deg(rot_pred: torch.Tensor, rot_gt: torch.Tensor) -> torch.Tensor:
    """Camera relative-rotation error in degrees for every pair i < j.

    Args:
        rot_pred, rot_gt: (..., V, 3, 3) world->camera rotations.
    Returns:
        (..., V*(V-1)/2) angle between ``R_j R_i^T`` estimated and true.
    """
    views = rot_pred.shape[-3]
    i, j = torch.triu_indices(views, views, offset=1, device=rot_pred.device)
    rel_pred = rot_pred[..., j, :, :] @ rot_pred[..., i, :, :].transpose(-1, -2)
    rel_gt = rot_gt[..., j, :, :] @ rot_gt[..., i, :, :].transpose(-1, -2)
    return torch.rad2deg(roma.rotmat_geodesic_distance(rel_pred, rel_gt))

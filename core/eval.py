"""``cmanet eval``: the paper's metrics for a result against ground truth, IRV and IEV side by side.

IEV: the fused world skeleton. Absolute numbers align it to the truth by one similarity transform
for the whole sequence (the world frame and scale are free without calibration); "aligned" numbers
use a per-frame rigid (PA: similarity) alignment. IRV: each view's skeleton in its own camera
frame against the truth seen by that camera, aligned the same ways. Camera relative-rotation
error: IEV's cameras; for IRV, the cameras implied by each frame's per-view body orientations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import roma
import torch

from core.errors import InputError
from core.geometry import metrics
from core.geometry.camera import transform_points
from core.io.npz import read_npz
from core.io.results import FitResult

GT_KEYS = ("joints3d", "cam_R", "cam_t")


def load_ground_truth(path: str | Path) -> dict[str, np.ndarray]:
    """Read gt.npz (joints3d (F,K,3), cam_R (V,3,3) or (F,V,3,3), cam_t); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such ground-truth file", path)
    gt = read_npz(path, "ground-truth file")
    missing = [k for k in GT_KEYS if k not in gt]
    if missing:
        raise InputError(f"not a ground-truth file: missing {', '.join(missing)}", path)
    return gt


def _skeleton_metrics(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """Absolute (one similarity per sequence) and per-frame aligned metrics for (F, K, 3)."""
    absolute = metrics.align_sequence(pred, gt)
    rigid = metrics.procrustes_align(pred, gt, scale=False)
    return {
        "mpjpe_mm": float(metrics.mpjpe(absolute, gt)),
        "pa_mpjpe_mm": float(metrics.pa_mpjpe(pred, gt)),
        "pck150": float(metrics.pck(absolute, gt)),
        "auc": float(metrics.auc(absolute, gt)),
        "pck150_aligned": float(metrics.pck(rigid, gt)),
        "auc_aligned": float(metrics.auc(rigid, gt)),
    }


def evaluate(result: FitResult, gt: dict[str, np.ndarray], where: Path | None = None) -> dict:
    """All metrics as a JSON-ready dict: {"iev": {...}, "irv": {"mean": {...}, "<view>": {...}}}."""
    frames = np.array(result.frame_indices)  # a writable copy: torch refuses read-only views
    gt_joints = torch.tensor(gt["joints3d"], dtype=torch.float32)  # a copy: npz arrays are read-only
    if gt_joints.shape[0] < int(frames.max()) + 1:
        raise InputError(f"ground truth has {gt_joints.shape[0]} frames, the result needs frame {int(frames.max())}", where)
    gt_joints = gt_joints[torch.as_tensor(frames)]
    gt_R = torch.tensor(gt["cam_R"], dtype=torch.float32)
    gt_t = torch.tensor(gt["cam_t"], dtype=torch.float32)
    views = result.num_views
    if gt_R.shape[-3] != views:
        raise InputError(f"ground truth has {gt_R.shape[-3]} cameras, the result {views}", where)
    if gt_R.dim() == 3:
        gt_R = gt_R[None].expand(len(frames), -1, -1, -1)
        gt_t = gt_t[None].expand(len(frames), -1, -1)
    else:
        gt_R, gt_t = gt_R[torch.as_tensor(frames)], gt_t[torch.as_tensor(frames)]

    pred = torch.as_tensor(result.joints3d)
    iev = _skeleton_metrics(pred, gt_joints)
    iev["camera_rel_rot_deg"] = float(metrics.relative_rotation_error_deg(torch.as_tensor(result.cam_R), gt_R).mean())
    iev["reproj_px"] = float(np.nanmean(result.iev_reproj_px))

    gt_cam = transform_points(gt_joints[:, None], gt_R, gt_t)  # (F, V, K, 3)
    irv_joints = torch.as_tensor(result.irv_joints3d)
    irv = {}
    for v, name in enumerate(result.view_names):
        irv[str(name)] = _skeleton_metrics(irv_joints[:, v], gt_cam[:, v])
        irv[str(name)]["reproj_px"] = float(np.nanmean(result.irv_reproj_px[:, v]))
    # IRV's implied cameras: body->camera rotations of each view relative to view 0, per frame.
    irv_rot = roma.rotvec_to_rotmat(torch.as_tensor(result.irv_global_orient))
    irv_cams = irv_rot @ irv_rot[:, :1].transpose(-1, -2)
    per_view = list(irv.values())
    irv_mean = {k: float(np.mean([m[k] for m in per_view])) for k in per_view[0]}
    irv_mean["camera_rel_rot_deg"] = float(metrics.relative_rotation_error_deg(irv_cams, gt_R).mean())
    return {"frames": len(frames), "views": views, "iev": iev, "irv": {"mean": irv_mean, **irv}}


def format_table(report: dict) -> str:
    """A plain-text table of IRV (mean over views) and IEV side by side."""
    rows = [
        ("MPJPE (mm, 1 similarity/seq)", "mpjpe_mm", "{:.1f}"),
        ("PA-MPJPE (mm)", "pa_mpjpe_mm", "{:.1f}"),
        ("PCK@150 (%)", "pck150", "{:.1f}"),
        ("AUC (%)", "auc", "{:.1f}"),
        ("PCK@150 per-frame rigid (%)", "pck150_aligned", "{:.1f}"),
        ("AUC per-frame rigid (%)", "auc_aligned", "{:.1f}"),
        ("camera rel. rotation (deg)", "camera_rel_rot_deg", "{:.2f}"),
        ("reprojection (px)", "reproj_px", "{:.1f}"),
    ]
    lines = [f"{'metric':32s} {'IRV':>9s} {'IEV':>9s}"]
    for label, key, fmt in rows:
        irv, iev = report["irv"]["mean"].get(key), report["iev"].get(key)
        cell = lambda v: fmt.format(v) if v is not None else "-"  # noqa: E731
        lines.append(f"{label:32s} {cell(irv):>9s} {cell(iev):>9s}")
    return "\n".join(lines)

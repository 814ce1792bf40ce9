"""``cmanet eval``: the paper's metrics against ground truth, IRV and IEV side by side.

One evaluator for every estimate: a fit's result (:func:`evaluate`) and a network's per-frame
prediction in the canonical space (:func:`evaluate_canonical`) are scored by the same code under
the same keys.

IEV: the fused skeleton. Absolute numbers align it to the truth by one similarity transform for
the whole sequence (the world frame and scale are free without calibration); "aligned" numbers
use a per-frame rigid (PA: similarity) alignment. IRV: each view's skeleton in its own camera
frame against the truth seen by that camera, aligned the same ways. Camera relative-rotation
error: IEV's cameras; for IRV, the cameras implied by each frame's per-view body orientations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import roma
import torch

from core.body import BodyModel
from core.canonical.params import CanonicalParams, ViewBodies, body_frame_keypoints, view_keypoints
from core.errors import InputError
from core.geometry import metrics
from core.geometry.camera import transform_points
from core.io.npz import read_npz
from core.io.results import FitResult

GT_KEYS = ("joints3d", "cam_R", "cam_t")
GT_FILE = "gt.npz"


def load_ground_truth(path: str | Path) -> dict[str, np.ndarray]:
    """Read gt.npz (joints3d (F,K,3), cam_R (V,3,3) or (F,V,3,3), cam_t); errors name the file.
    A folder means its ``gt.npz`` (a ``cmanet synth`` sequence)."""
    path = Path(path)
    if path.is_dir():
        path = path / GT_FILE
    if not path.is_file():
        raise InputError("no such ground-truth file", path)
    gt = read_npz(path, "ground-truth file")
    missing = [k for k in GT_KEYS if k not in gt]
    if missing:
        raise InputError(f"not a ground-truth file: missing {', '.join(missing)}", path)
    return gt


def ground_truth_at(gt: dict[str, np.ndarray], frames, views: int, where: Path | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The truth at ``frames`` (indices): world joints (F, K, 3) and world->camera rotations
    (F, V, 3, 3) and translations (F, V, 3) (a static rig's repeated for every frame)."""
    # A writable copy (torch refuses read-only views), on the CPU with the truth.
    frames = frames.cpu().long() if isinstance(frames, torch.Tensor) else torch.tensor(np.array(frames), dtype=torch.long)
    joints = torch.tensor(gt["joints3d"], dtype=torch.float32)  # a copy: npz arrays are read-only
    if len(frames) and joints.shape[0] < int(frames.max()) + 1:
        raise InputError(f"ground truth has {joints.shape[0]} frames, the result needs frame {int(frames.max())}", where)
    rot = torch.tensor(gt["cam_R"], dtype=torch.float32)
    t = torch.tensor(gt["cam_t"], dtype=torch.float32)
    if rot.shape[-3] != views:
        raise InputError(f"ground truth has {rot.shape[-3]} cameras, the result {views}", where)
    if rot.dim() == 3:
        rot, t = rot[None].expand(len(frames), -1, -1, -1), t[None].expand(len(frames), -1, -1)
    else:
        rot, t = rot[frames], t[frames]
    return joints[frames], rot, t


def skeleton_metrics(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
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


def evaluate_skeletons(
    iev_joints: torch.Tensor, iev_rot: torch.Tensor, irv_joints: torch.Tensor, irv_rot: torch.Tensor,
    truth: tuple[torch.Tensor, torch.Tensor, torch.Tensor], view_names: list[str],
    iev_reproj_px: np.ndarray | None = None, irv_reproj_px: np.ndarray | None = None,
) -> dict:
    """All metrics as a JSON-ready dict: {"iev": {...}, "irv": {"mean": {...}, "<view>": {...}}}.

    iev_joints: (F, K, 3) in any frame; iev_rot: (F, V, 3, 3) rotations whose relative rotations
    ``R_j R_i^T`` are the cameras' (world->camera, or body->camera); irv_joints: (F, V, K, 3) each
    view's skeleton in its camera frame; irv_rot: (F, V, 3, 3) each view's body->camera rotation;
    truth: :func:`ground_truth_at`; reprojection errors (F, V) pixels, where known.
    """
    device = iev_joints.device
    gt_joints, gt_rot, gt_t = (x.to(device) for x in truth)
    iev = skeleton_metrics(iev_joints, gt_joints)
    iev["camera_rel_rot_deg"] = float(metrics.relative_rotation_error_deg(iev_rot, gt_rot).mean())
    gt_cam = transform_points(gt_joints[:, None], gt_rot, gt_t)  # (F, V, K, 3)
    irv = {}
    for v, name in enumerate(view_names):
        irv[str(name)] = skeleton_metrics(irv_joints[:, v], gt_cam[:, v])
    if iev_reproj_px is not None:
        iev["reproj_px"] = float(np.nanmean(iev_reproj_px))
    if irv_reproj_px is not None:
        for v, name in enumerate(view_names):
            irv[str(name)]["reproj_px"] = float(np.nanmean(irv_reproj_px[:, v]))
    per_view = list(irv.values())
    irv_mean = {k: float(np.mean([m[k] for m in per_view])) for k in per_view[0]}
    # Relative rotations R_j R_i^T do not depend on the world frame: each view's body->camera
    # rotation is that camera's world->camera rotation of the body's own frame.
    irv_mean["camera_rel_rot_deg"] = float(metrics.relative_rotation_error_deg(irv_rot, gt_rot).mean())
    return {"frames": int(iev_joints.shape[0]), "views": len(view_names), "iev": iev, "irv": {"mean": irv_mean, **irv}}


def evaluate(result: FitResult, gt: dict[str, np.ndarray], where: Path | None = None) -> dict:
    """A fit's result against ground truth (:func:`evaluate_skeletons`)."""
    truth = ground_truth_at(gt, result.frame_indices, result.num_views, where)
    return evaluate_skeletons(
        torch.as_tensor(result.joints3d), torch.as_tensor(result.cam_R), torch.as_tensor(result.irv_joints3d),
        roma.rotvec_to_rotmat(torch.as_tensor(result.irv_global_orient)), truth, list(result.view_names),
        result.iev_reproj_px, result.irv_reproj_px,
    )


def evaluate_canonical(body: BodyModel, irv: ViewBodies, iev: CanonicalParams, gt: dict[str, np.ndarray], frames) -> dict:
    """A network's per-frame estimate against ground truth (:func:`evaluate_skeletons`): IRV's
    per-view bodies (F, V) and IEV's canonical parameters (F,) at ``frames`` (indices into gt)."""
    views = irv.global_orient.shape[1]
    truth = ground_truth_at(gt, frames, views)
    with torch.no_grad():
        local = body_frame_keypoints(body, iev.body_pose, iev.shape)
        iev_joints = transform_points(local, iev.global_orient[:, 0], iev.transl[:, 0])  # view 0's camera frame
        irv_joints = view_keypoints(body, irv)
    return evaluate_skeletons(iev_joints, iev.global_orient, irv_joints, irv.global_orient, truth,
                              [f"view{v}" for v in range(views)])


def flat(report: dict) -> dict[str, float]:
    """A report's IEV figures and IRV's means over views as one flat dict: ``iev_pa_mpjpe_mm``,
    ``irv_camera_rel_rot_deg``, ... (what benchmarks and the training log keep)."""
    return {**{f"iev_{k}": v for k, v in report["iev"].items()}, **{f"irv_{k}": v for k, v in report["irv"]["mean"].items()}}


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

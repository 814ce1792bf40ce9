"""How far the app's per-view (IRV) overlay lands from the detections it was fitted to, drawn with
the fused (IEV) focal lengths (what the app drew before result format 2) and with each IRV body's
own camera (``irv_cam_f``, what it draws now).

    python scripts/measure_irv_overlay.py RESULT_FOLDER [--threshold 0.3]

Prints, per view, the mean confidence-weighted distance in pixels between the detections and the
IRV keypoints projected both ways, beside the fit's own ``irv_reproj_px``. ``result.npz`` keeps the
detections after the fused fit's left/right swap corrections, while IRV was fitted to them as
detected: in each frame and view the detections are taken as given or mirrored, whichever IRV's
own camera explains (the same choice for both projections).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from cmanet_app.overlay import irv_camera
from core.canonical.losses import flip_keypoints, reprojection_error_px
from core.geometry.camera import project
from core.io.results import FitResult


def overlay_error(result: FitResult, focal: np.ndarray, keypoints2d: np.ndarray, threshold: float) -> np.ndarray:
    """(F, V) px: the IRV keypoints projected with (F, V) ``focal`` against (F, V, 17, 3) detections."""
    points = torch.as_tensor(result.irv_joints3d, dtype=torch.float64)
    uv = project(points, torch.as_tensor(focal, dtype=torch.float64), torch.as_tensor(result.cam_c, dtype=torch.float64))
    return reprojection_error_px(uv, torch.as_tensor(keypoints2d, dtype=torch.float64), threshold).numpy()


def irv_detections(result: FitResult, focal: np.ndarray, threshold: float) -> np.ndarray:
    """(F, V, 17, 3) the detections as IRV saw them: as kept, or mirrored where the fused fit
    corrected a left/right swap (whichever the IRV keypoints through ``focal`` lie closer to)."""
    kept = np.asarray(result.keypoints2d)
    mirrored = flip_keypoints(torch.as_tensor(kept)).numpy()
    closer = overlay_error(result, focal, mirrored, threshold) < overlay_error(result, focal, kept, threshold)
    return np.where(closer[..., None, None], mirrored, kept)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("result", type=Path)
    p.add_argument("--threshold", type=float, default=0.3)
    args = p.parse_args()
    result = FitResult.load(args.result)
    if result.irv_cam_f is None:
        raise SystemExit(f"error: {args.result}: a format-1 result keeps no IRV cameras")
    own = np.array([[irv_camera(result, f, v)[0] for v in range(result.num_views)] for f in range(result.num_frames)])
    seen = irv_detections(result, own, args.threshold)
    before = overlay_error(result, result.cam_f, seen, args.threshold)
    after = overlay_error(result, own, seen, args.threshold)
    print(f"{args.result}: {result.num_frames} frames, mode {result.mode}")
    print(f"{'view':8} {'IEV f':>8} {'IRV f':>8} {'fused f px':>11} {'IRV f px':>9} {'irv_reproj_px':>14}")
    for v, name in enumerate(result.view_names):
        print(f"{str(name):8} {result.cam_f[0, v]:8.0f} {own[0, v]:8.0f} {np.nanmean(before[:, v]):11.1f} "
              f"{np.nanmean(after[:, v]):9.1f} {np.nanmean(result.irv_reproj_px[:, v]):14.1f}")
    print(f"{'all':8} {'':8} {'':8} {np.nanmean(before):11.1f} {np.nanmean(after):9.1f} "
          f"{np.nanmean(result.irv_reproj_px):14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure a detector's faults on the real-footage benchmark and write the tables that
``cmanet synth`` simulates them from (core/synth/measured_faults.py):

    python scripts/measure_detector_faults.py [--trials walk static] [--out resources/detector_faults/mediapipe_pose2sim.json]

For each trial of ``cmanet bench real`` (MediaPipe detections, cached; the calibration read as the
reference only): every view's detections are put on the first view's timeline, undistorted, and
compared with the calibrated robust triangulation of the OTHER views (leave one view out, so that
a view's own error does not pull its reference), projected into that view. Residuals are turned
into metres at the joint's depth (pixels x depth / focal). Self-occlusion is decided from the
reference skeleton in each calibrated camera (core.synth.detections.self_occlusion).
Prints the tables' summary; writes JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core.bench import real
from core.fit.sequence import inputs_from_sequence
from core.geometry.triangulation import triangulate_robust, undistort_pixels
from core.io.atomic import atomic_write_text
from core.io.calibration import loose_name, read_qca
from core.io.sequence import MultiViewSequence
from core.keypoints import COCO17_NAMES
from core.synth.detections import self_occlusion
from core.synth.measured_faults import MEDIAPIPE_TABLES, MeasuredFaults

CONF_EDGES = np.array([0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0001])
OUTLIER_M = 0.15  # an error this large (and over 5 sigma) at the joint's depth is a gross outlier
PRIOR_COUNT = 30.0  # cells with few samples lean on their bin's pooled value (shrinkage)


def trial_residuals(name: str) -> dict[str, np.ndarray]:
    """Flat arrays over (frame, view, joint) of one trial: residual (N, 2) metres, confidence,
    occluded, joint, view, frame; plus ``valid`` (the reference exists there)."""
    trial = real.TRIALS[name]
    seq_dir, calib_path = real.prepare_trial(trial)
    with MultiViewSequence.open(seq_dir) as seq:
        inputs = inputs_from_sequence(seq, show_progress_bar=False)
    calib = read_qca(calib_path).by_name(inputs.view_names)
    kp = inputs.keypoints2d.astype(np.float64)
    frames, views = kp.shape[:2]
    und = kp.copy()
    for v, cam in enumerate(calib.cameras):
        und[:, v, :, :2] = undistort_pixels(kp[:, v, :, :2], cam.matrix, cam.distortions)
    loose = {loose_name(n): o for n, o in trial.reference_offsets.items()}
    shift = np.array([trial.reference_offsets.get(n, loose.get(loose_name(n), 0.0)) for n in calib.names])
    synced = real.shift_in_time(und, shift)  # (F, V, 17, 3)
    flat = synced.transpose(0, 2, 1, 3).reshape(-1, views, 3)
    projections = np.stack([c.projection_matrix for c in calib.cameras])
    full, _ = triangulate_robust(projections, flat[..., :2], flat[..., 2], threshold=real.REFERENCE_THRESHOLD,
                                 max_error_px=real.REFERENCE_MAX_ERROR_PX)
    full = full.reshape(frames, 17, 3)
    out: dict[str, list] = {k: [] for k in ("residual", "conf", "occluded", "joint", "view", "frame", "valid")}
    for v, cam in enumerate(calib.cameras):
        others = [u for u in range(views) if u != v]
        points, _ = triangulate_robust(projections[others], flat[:, others, :2], flat[:, others, 2],
                                       threshold=real.REFERENCE_THRESHOLD, max_error_px=real.REFERENCE_MAX_ERROR_PX)
        points = points.reshape(frames, 17, 3)
        cam_points = points @ cam.rotation.T + cam.translation
        depth = cam_points[..., 2]
        pixels = cam_points[..., :2] / depth[..., None] * cam.focal_px + np.asarray(cam.principal_point)
        residual = (synced[:, v, :, :2] - pixels) * (depth / cam.focal_px)[..., None]
        reference_cam = full @ cam.rotation.T + cam.translation
        occluded = self_occlusion(np.nan_to_num(reference_cam)) & np.isfinite(reference_cam).all(-1).all(-1, keepdims=True)
        valid = np.isfinite(residual).all(-1) & (synced[:, v, :, 2] > 0)
        out["residual"].append(residual.reshape(-1, 2))
        out["conf"].append(synced[:, v, :, 2].reshape(-1))
        out["occluded"].append(occluded.reshape(-1))
        out["joint"].append(np.tile(np.arange(17), frames))
        out["view"].append(np.full(frames * 17, v))
        out["frame"].append(np.repeat(np.arange(frames), 17))
        out["valid"].append(valid.reshape(-1))
    return {k: np.concatenate(v) for k, v in out.items()}


def robust_sigma(values: np.ndarray) -> float:
    """Per-axis sigma of (N, 2) residuals from their median absolute deviation."""
    if len(values) == 0:
        return float("nan")
    centred = values - np.median(values, axis=0)
    return float(1.4826 * np.median(np.abs(centred)))


def shrink(value: float, count: int, pooled: float) -> float:
    if not np.isfinite(value):
        return pooled
    return (count * value + PRIOR_COUNT * pooled) / (count + PRIOR_COUNT)


def measure(trials: list[str]) -> tuple[MeasuredFaults, dict]:
    data = [trial_residuals(t) for t in trials]
    bins = len(CONF_EDGES) - 1
    sigma = np.zeros((17, bins))
    outliers = np.zeros((17, bins))
    hist = np.zeros((17, 2, bins))
    counts = np.zeros((17, bins), dtype=int)
    res = np.concatenate([d["residual"] for d in data])
    conf = np.concatenate([d["conf"] for d in data])
    occ = np.concatenate([d["occluded"] for d in data])
    joint = np.concatenate([d["joint"] for d in data])
    valid = np.concatenate([d["valid"] for d in data])
    b = np.clip(np.searchsorted(CONF_EDGES, conf, side="right") - 1, 0, bins - 1)
    norm = np.linalg.norm(res, axis=-1)
    # Bins pooled over joints first (what thin cells lean on).
    pooled_sigma = np.array([robust_sigma(res[valid & (b == i)]) for i in range(bins)])
    pooled_sigma = np.where(np.isfinite(pooled_sigma), pooled_sigma, np.nanmax(pooled_sigma))
    pooled_out = np.array([float(((norm > np.maximum(OUTLIER_M, 5 * pooled_sigma[i])) & valid & (b == i)).sum())
                           / max(1, (valid & (b == i)).sum()) for i in range(bins)])
    for k in range(17):
        for i in range(bins):
            cell = valid & (joint == k) & (b == i)
            counts[k, i] = int(cell.sum())
            sigma[k, i] = shrink(robust_sigma(res[cell]), counts[k, i], pooled_sigma[i])
            far = (norm[cell] > max(OUTLIER_M, 5 * sigma[k, i])).sum()
            outliers[k, i] = shrink(far / max(1, counts[k, i]), counts[k, i], pooled_out[i])
        for o in (0, 1):
            cells = (joint == k) & (occ == o)
            pooled = np.bincount(b[occ == o], minlength=bins).astype(float)
            pooled /= max(1.0, pooled.sum())
            own = np.bincount(b[cells], minlength=bins).astype(float)
            hist[k, o] = (own + PRIOR_COUNT * pooled) / (own.sum() + PRIOR_COUNT)
    # Fixed per-view offsets: each (trial, view, joint)'s median residual over its inlier frames.
    offsets = {k: [] for k in range(17)}
    correlations = []
    for d in data:
        inlier = d["valid"] & (np.linalg.norm(d["residual"], axis=-1) < OUTLIER_M)
        for v in np.unique(d["view"]):
            for k in range(17):
                cell = inlier & (d["view"] == v) & (d["joint"] == k)
                if cell.sum() >= 10:
                    r = d["residual"][cell]
                    offsets[k].append(np.median(r, axis=0))
                    series = r - np.median(r, axis=0)
                    frames = d["frame"][cell]
                    consecutive = np.diff(frames) == 1
                    if consecutive.sum() >= 5:
                        a, c = series[:-1][consecutive], series[1:][consecutive]
                        correlations.append(float((a * c).sum() / np.sqrt((a * a).sum() * (c * c).sum())))
    bias = np.array([np.sqrt(np.mean(np.square(offsets[k]))) if offsets[k] else 0.0 for k in range(17)])
    tables = MeasuredFaults("mediapipe (pose2sim demo recordings: " + ", ".join(trials) + ")", CONF_EDGES, hist, sigma,
                            outliers, OUTLIER_M, bias, float(np.median(correlations)) if correlations else 0.0)
    summary = {"samples": int(valid.sum()), "occluded_share": round(float(occ[valid].mean()), 3),
               "counts": counts.tolist(), "pooled_sigma_mm": (1000 * pooled_sigma).round(1).tolist(),
               "pooled_outlier_rate": pooled_out.round(4).tolist()}
    return tables, summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", nargs="+", default=["walk", "static"], choices=("walk", "static"))
    p.add_argument("--out", type=Path, default=MEDIAPIPE_TABLES)
    args = p.parse_args()
    tables, summary = measure(args.trials)
    print(f"{summary['samples']} detections, {100 * summary['occluded_share']:.1f} % self-occluded; "
          f"frame-to-frame noise correlation {tables.noise_correlation:.2f}")
    print("confidence bin        " + " ".join(f"{lo:>6.3f}" for lo in tables.conf_edges[:-1]))
    print("noise mm (all joints) " + " ".join(f"{s:6.1f}" for s in summary["pooled_sigma_mm"]))
    print("outliers % (all)      " + " ".join(f"{100 * r:6.2f}" for r in summary["pooled_outlier_rate"]))
    print(f"{'joint':16s} {'seen: share per bin':>30s}   noise mm per bin   bias mm")
    for k, name in enumerate(COCO17_NAMES):
        print(f"{name:16s} " + " ".join(f"{x:4.2f}" for x in tables.conf_hist[k, 0]) + "  "
              + " ".join(f"{1000 * s:5.1f}" for s in tables.sigma_m[k]) + f"  {1000 * tables.bias_m[k]:5.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps({**tables.to_json(), "measured_with": "scripts/measure_detector_faults.py",
                                            "summary": summary}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``cmanet bench capture``: cameras out of sync and lens distortion on synthetic rigs.

Each seed makes one rig twice (:func:`core.synth.generate_sequence`: the same person, motion,
cameras and detector faults): once in sync without distortion (the twin), once with the capture
fault, and both are fitted with the same settings.

* ``sync``: every camera but the first off by -5 to +5 frames (whole and half frames, drawn per
  seed); the twin is fitted without synchronisation, the rig out of sync with it (and without, to
  show what it costs). Rows: the offsets found, their largest error, PA-MPJPE and camera error of
  the three fits (PA-MPJPE also over the frames every camera filmed: a camera that starts late
  has no view of the first moments, which no synchronisation can give back).
* ``distortion``: every camera with ``k1`` (default -0.2) given as sequence.yaml would give it,
  focal lengths unknown (undistorted with the default guess, then again with a first fit's
  estimate). Rows: PA-MPJPE and camera error against the twin's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from core.body import load_body_model
from core.canonical.pose_prior import default_pose_prior
from core.eval import evaluate
from core.fit.capture import CaptureInfo, fit_captured
from core.fit.config import FitConfig, load_fit_config
from core.fit.sequence import FitInputs, camera_intrinsics, fit_keypoints
from core.geometry import metrics
from core.synth import generate_sequence

OFFSET_STEPS = np.arange(-10, 11) / 2.0  # -5 to +5 frames in half frames
TIME_MARGIN = 5


def seed_offsets(seed: int, views: int) -> np.ndarray:
    """(V,) the benchmark's offsets of a seed: 0 for the first camera, the others drawn from
    ``OFFSET_STEPS``."""
    rng = np.random.default_rng(10_000 + seed)
    return np.concatenate([[0.0], rng.choice(OFFSET_STEPS, size=views - 1)])


def _inputs(seq) -> FitInputs:
    focal, principal = camera_intrinsics(seq.image_size)
    return FitInputs(seq.keypoints2d.astype(np.float32), focal, principal, np.asarray(seq.image_size), list(seq.view_names),
                     np.arange(seq.num_frames), seq.fps, {}, np.zeros(seq.num_views, dtype=bool))


def common_frames(offsets: np.ndarray, frames: int) -> np.ndarray:
    """(F,) bool: the first view's frames that every view filmed (``f + o_v`` within its F frames)."""
    f = np.arange(frames)[:, None]
    return ((f + np.floor(offsets)[None] >= 0) & (f + np.ceil(offsets)[None] <= frames - 1)).all(axis=1)


def _figures(result, seq, common: np.ndarray) -> dict:
    """IEV PA-MPJPE (all frames, and the frames every view filmed) and camera error."""
    report = evaluate(result, seq.gt_arrays())["iev"]
    pred, gt = (torch.as_tensor(np.asarray(a)[common], dtype=torch.float64) for a in (result.joints3d, seq.joints3d))
    return {"pa_mpjpe_mm": round(report["pa_mpjpe_mm"], 2), "pa_common_mm": round(float(metrics.pa_mpjpe(pred, gt)), 2),
            "camera_deg": round(report["camera_rel_rot_deg"], 3)}


def _fit(seq, config: FitConfig, body, prior, sync: bool):
    config = dataclasses.replace(config, sync=dataclasses.replace(config.sync, enabled=sync))
    capture = CaptureInfo.default(seq.num_views, seq.fps)
    if seq.distortions is not None:
        capture = dataclasses.replace(capture, distortions=seq.distortions)
    return fit_captured(_inputs(seq), config, fit_keypoints, capture, body=body, prior=prior)


def bench_sync(seeds=range(10), views: int = 4, frames: int = 60, config: FitConfig | None = None) -> list[dict]:
    """One row per seed (see the module doc)."""

    config = config or load_fit_config()
    body = load_body_model(config.body_model)
    prior = default_pose_prior(body)
    rows = []
    for seed in seeds:
        offsets = seed_offsets(seed, views)
        twin, shifted = (generate_sequence(views, frames, seed, body_model=body, keep_vertices=False, time_offsets=o,
                                           time_margin=TIME_MARGIN) for o in (np.zeros(views), offsets))
        common = common_frames(offsets, frames)
        in_sync = _figures(_fit(twin, config, body, prior, sync=False)[0], twin, common)
        synced, timings = _fit(shifted, config, body, prior, sync=True)
        unsynced = _figures(_fit(shifted, config, body, prior, sync=False)[0], shifted, common)
        found = synced.view_time_offsets
        row = {"seed": seed, "offsets": offsets.tolist(), "found": [round(float(o), 2) for o in found],
               "offset_err_max": round(float(np.abs(found - offsets).max()), 3),
               "in_sync": in_sync, "synced": _figures(synced, shifted, common), "unsynced": unsynced,
               "sync_s": round(timings.get("sync_s", 0.0), 2)}
        rows.append(row)
        print(format_sync_row(row), flush=True)
    return rows


def bench_distortion(seeds=range(10), views: int = 4, frames: int = 60, k1: float = -0.2,
                     config: FitConfig | None = None) -> list[dict]:
    """One row per seed: the rig with ``k1`` given vs its distortion-free twin (no synchronisation,
    as ``cmanet fit`` runs by default)."""

    config = config or load_fit_config()
    body = load_body_model(config.body_model)
    prior = default_pose_prior(body)
    rows = []
    for seed in seeds:
        twin, distorted = (generate_sequence(views, frames, seed, body_model=body, keep_vertices=False, distortions=d)
                           for d in (None, [k1, 0.0, 0.0, 0.0, 0.0]))
        every = np.ones(frames, dtype=bool)
        row = {"seed": seed, "k1": k1, "plain": _figures(_fit(twin, config, body, prior, sync=False)[0], twin, every),
               "distorted": _figures(_fit(distorted, config, body, prior, sync=False)[0], distorted, every)}
        rows.append(row)
        print(format_distortion_row(row), flush=True)
    return rows


SYNC_HEADER = (f"{'seed':>4} {'offsets (true -> found)':44s} {'err':>5} {'PA sync':>8} {'PA found':>8} {'PA none':>8} "
               f"{'PAc sync':>8} {'PAc found':>9} {'cam sync':>8} {'cam found':>9} {'cam none':>8} {'sync s':>6}")
DISTORTION_HEADER = f"{'seed':>4} {'k1':>5} {'PA plain':>8} {'PA dist':>8} {'cam plain':>9} {'cam dist':>8}"


def format_sync_row(row: dict) -> str:
    pairs = " ".join(f"{t:+.1f}>{f:+.2f}" for t, f in zip(row["offsets"][1:], row["found"][1:]))
    return (f"{row['seed']:>4} {pairs:44s} {row['offset_err_max']:>5.2f} {row['in_sync']['pa_mpjpe_mm']:>8.1f} "
            f"{row['synced']['pa_mpjpe_mm']:>8.1f} {row['unsynced']['pa_mpjpe_mm']:>8.1f} {row['in_sync']['pa_common_mm']:>8.1f} "
            f"{row['synced']['pa_common_mm']:>9.1f} {row['in_sync']['camera_deg']:>8.2f} "
            f"{row['synced']['camera_deg']:>9.2f} {row['unsynced']['camera_deg']:>8.2f} {row['sync_s']:>6.1f}")


def format_distortion_row(row: dict) -> str:
    return (f"{row['seed']:>4} {row['k1']:>5.2f} {row['plain']['pa_mpjpe_mm']:>8.1f} {row['distorted']['pa_mpjpe_mm']:>8.1f} "
            f"{row['plain']['camera_deg']:>9.2f} {row['distorted']['camera_deg']:>8.2f}")


def summarize_sync(rows: list[dict]) -> dict:
    """Means over the rows, and the ratios the issue's targets are stated in."""
    def mean(fit, key):
        return float(np.mean([r[fit][key] for r in rows]))

    out = {"seeds": len(rows), "offset_err_max": max(r["offset_err_max"] for r in rows)}
    for fit in ("in_sync", "synced", "unsynced"):
        out[fit] = {k: round(mean(fit, k), 3) for k in ("pa_mpjpe_mm", "pa_common_mm", "camera_deg")}
    out["pa_ratio"] = round(out["synced"]["pa_mpjpe_mm"] / out["in_sync"]["pa_mpjpe_mm"], 3)
    out["pa_common_ratio"] = round(out["synced"]["pa_common_mm"] / out["in_sync"]["pa_common_mm"], 3)
    out["camera_ratio"] = round(out["synced"]["camera_deg"] / out["in_sync"]["camera_deg"], 3)
    return out


def summarize_distortion(rows: list[dict]) -> dict:
    def mean(fit, key):
        return float(np.mean([r[fit][key] for r in rows]))

    out = {"seeds": len(rows)}
    for fit in ("plain", "distorted"):
        out[fit] = {k: round(mean(fit, k), 3) for k in ("pa_mpjpe_mm", "camera_deg")}
    out["pa_ratio"] = round(out["distorted"]["pa_mpjpe_mm"] / out["plain"]["pa_mpjpe_mm"], 3)
    out["camera_ratio"] = round(out["distorted"]["camera_deg"] / out["plain"]["camera_deg"], 3)
    return out

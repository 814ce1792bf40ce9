"""Accuracy and speed of a network on synthetic sequences, against the optimizer.

    python -m core.train.benchmark --model resources/models/cmanet_default.pt --data SEQ... \\
        [--refine] [--refine-rig-iterations N ...] [--optimize] [--speed] [--json OUT.json]

Per sequence (its gt.npz, evaluation only) and on average: the network's own per-frame estimate
and ``cmanet fit --mode network`` (IRV and IEV PA-MPJPE, camera relative-rotation error),
optionally ``--mode network+refine`` and ``--mode optimize``, with their fitting times, and the
network's throughput in frames per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from core.canonical.pose_prior import default_pose_prior
from core.errors import InputError
from core.eval import evaluate
from core.fit.config import load_fit_config
from core.fit.sequence import FitInputs, fit_keypoints
from core.io import atomic_write_json
from core.nets import load_model, predict

METRICS = ("iev_pa_mpjpe_mm", "iev_cam_rot_deg", "irv_pa_mpjpe_mm", "irv_cam_rot_deg")


def _fit_metrics(seq, body, prior, fit_config, mode: str, model=None) -> tuple[dict[str, float], float]:
    """``cmanet fit --mode MODE`` on a keypoints sequence, scored by ``cmanet eval``."""
    from core.train.evaluate import load_gt

    inputs = FitInputs(seq.keypoints2d, seq.focal, seq.principal, seq.image_sizes,
                       [f"cam{v}" for v in range(seq.num_views)], np.arange(seq.num_frames))
    start = time.perf_counter()
    result, _ = fit_keypoints(inputs, fit_config, body=body, prior=prior, mode=mode, model=model)
    elapsed = time.perf_counter() - start
    report = evaluate(result, load_gt(seq.path))
    return {"iev_pa_mpjpe_mm": report["iev"]["pa_mpjpe_mm"], "iev_cam_rot_deg": report["iev"]["camera_rel_rot_deg"],
            "irv_pa_mpjpe_mm": report["irv"]["mean"]["pa_mpjpe_mm"], "irv_cam_rot_deg": report["irv"]["mean"]["camera_rel_rot_deg"]}, elapsed


def benchmark(model_path: str | Path, data: list[Path], refine: bool = False, optimize: bool = False,
              speed: bool = False, threads: int = 1, refine_rig_iterations: list[int] | None = None) -> dict:
    """Mean metrics per mode: ``network (per frame)`` (core.nets.predict as it is), and through
    ``cmanet fit``'s pipeline ``network`` (static rig averaged over frames), ``network+refine``
    and ``optimize``; seconds = fitting time of the whole sequence. ``refine_rig_iterations``:
    network+refine once per rig-phase length given (fit.yaml's refine.rig_iterations), each
    sequence fitted by all of them in turn, so that their times compare."""
    from core.train.data import load_sequence
    from core.train.evaluate import gt_cameras, load_gt, pose_metrics

    torch.set_num_threads(threads)
    model = load_model(model_path, "cpu")
    body = model.body_model()
    prior = default_pose_prior(body)
    fit_config = load_fit_config(None, device="cpu")
    runs = {"network": ("network", fit_config)}  # row name -> (fit mode, fit config)
    if refine:
        runs["network+refine"] = ("network+refine", fit_config)
    for n in refine_rig_iterations or []:
        # The refine schedule itself, without the optimizer-start candidate of the default.
        shorter = replace(fit_config, refine=replace(fit_config.refine, rig_iterations=n, optimizer_start=False))
        runs[f"network+refine ({n} rig it.)"] = ("network+refine", shorter)
    if optimize:
        runs["optimize"] = ("optimize", fit_config)
    rows = {}
    for path in data:
        seq = load_sequence(path, model.config.confidence_threshold,
                            model.config.swin.image_size if model.config.uses_images else None)
        gt = load_gt(path)
        rot, t = gt_cameras(gt, seq.num_frames)
        joints = torch.as_tensor(gt["joints3d"][: seq.num_frames], dtype=torch.float32)
        start = time.perf_counter()
        irv, iev = predict(model, seq.keypoints2d, seq.focal, seq.principal, seq.image_sizes, seq.crops, body=body)
        row = {"network (per frame)": {**pose_metrics(body, irv, iev, joints, rot, t), "seconds": time.perf_counter() - start}}
        # cmanet fit's pipeline feeds the network detections only: image encoders are scored per frame.
        for name, (mode, config) in runs.items():
            if model.config.uses_images and mode != "optimize":
                continue
            metrics, seconds = _fit_metrics(seq, body, prior, config, mode, model)
            row[name] = {**metrics, "seconds": seconds}
        rows[str(path)] = row
    modes = list(next(iter(rows.values())))
    mean = {m: {k: float(np.mean([r[m][k] for r in rows.values()])) for k in (*METRICS, "seconds")} for m in modes}
    out = {"model": str(model_path), "sequences": rows, "mean": mean}
    if speed:
        out["speed"] = throughput(model, body, views=4)
    return out


def throughput(model, body, views: int = 4, frames: int = 2048, batch_frames: int = 1024) -> dict[str, float]:
    """Network frames per second on random ``views``-view detections (batched, after a warm-up)."""
    gen = torch.Generator().manual_seed(0)
    size = torch.tensor([[1280.0, 720.0]]).expand(views, 2)
    kp = torch.cat([torch.tensor([640.0, 360.0]) + torch.randn(frames, views, 17, 2, generator=gen) * 80,
                    torch.rand(frames, views, 17, 1, generator=gen)], -1)
    args = (torch.full((views,), 1200.0), size / 2, size)
    predict(model, kp[:batch_frames], *args, body=body, batch_frames=batch_frames)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        predict(model, kp, *args, body=body, batch_frames=batch_frames)
        best = max(best, frames / (time.perf_counter() - start))
    return {"views": views, "frames_per_s": best, "threads": torch.get_num_threads()}


def format_table(report: dict) -> str:
    lines = [f"{'mode':28s} {'IEV PA-MPJPE':>13s} {'IEV cam rot':>12s} {'IRV PA-MPJPE':>13s} {'IRV cam rot':>12s} {'time (s)':>9s}"]
    for mode, m in report["mean"].items():
        cell = lambda k, fmt: fmt.format(m[k]) if k in m else "-"  # noqa: E731
        lines.append(f"{mode:28s} {cell('iev_pa_mpjpe_mm', '{:.1f} mm'):>13s} {cell('iev_cam_rot_deg', '{:.2f} deg'):>12s} "
                     f"{cell('irv_pa_mpjpe_mm', '{:.1f} mm'):>13s} {cell('irv_cam_rot_deg', '{:.2f} deg'):>12s} {cell('seconds', '{:.2f}'):>9s}")
    if "speed" in report:
        s = report["speed"]
        lines.append(f"network inference: {s['frames_per_s']:.0f} {s['views']}-view frames/s ({s['threads']} thread(s), batched)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.train.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--data", nargs="+", type=Path, required=True, help="synthetic sequences with gt.npz")
    p.add_argument("--refine", action="store_true", help="also network+refine")
    p.add_argument("--refine-rig-iterations", nargs="+", type=int, default=None, metavar="N",
                   help="also network+refine with these rig-phase lengths (fit.yaml's refine.rig_iterations)")
    p.add_argument("--optimize", action="store_true", help="also the optimizer alone (cmanet fit --mode optimize)")
    p.add_argument("--speed", action="store_true", help="also the network's throughput")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    try:
        if any(n < 0 for n in args.refine_rig_iterations or []):
            raise InputError("--refine-rig-iterations must not be negative")
        report = benchmark(args.model, args.data, args.refine, args.optimize, args.speed, args.threads,
                           args.refine_rig_iterations)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.json:
        atomic_write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

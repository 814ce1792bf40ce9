"""``cmanet bench network``: a trained network's accuracy and speed on synthetic sequences, against
the optimizer.

Per sequence (its gt.npz, evaluation only) and on average: the network's own per-frame estimate
(``network (per frame)``) and ``cmanet fit --mode network`` (IRV and IEV PA-MPJPE, camera
relative-rotation error), optionally ``--mode network+refine`` (also with other rig-phase
lengths) and ``--mode optimize``, with their fitting times, and the network's throughput in
frames per second. The sequences are read as ``cmanet fit`` and ``cmanet train`` read them (the
focal lengths ``sequence.yaml`` gives are kept).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from core.bench.runner import Case, Column, Fitter, Run, format_table, group_mean, run_cases
from core.errors import InputError
from core.eval import evaluate, evaluate_canonical, flat, load_ground_truth
from core.fit.config import FitConfig, load_fit_config
from core.nets import load_model, predict
from core.train.data import load_sequence

METRICS = ("iev_pa_mpjpe_mm", "iev_camera_rel_rot_deg", "irv_pa_mpjpe_mm", "irv_camera_rel_rot_deg")
PER_FRAME = "network (per frame)"


def network_case(path: str | Path, model) -> Case:
    """A sequence with its gt.npz as the network reads it (crops for image encoders)."""
    seq = load_sequence(path, model.config.confidence_threshold,
                        model.config.swin.image_size if model.config.uses_images else None)
    gt = load_ground_truth(path)
    return Case(str(path), seq.inputs, lambda result: flat(evaluate(result, gt)), gt, crops=seq.crops)


def per_frame_estimate(case: Case, fitter: Fitter) -> dict:
    """The network's own per-frame estimate (core.nets.predict as it is), scored."""
    inputs = case.inputs
    irv, iev = predict(fitter.model, inputs.keypoints2d, inputs.focal, inputs.principal, inputs.image_sizes.astype(np.float32),
                       case.crops, body=fitter.body)
    return flat(evaluate_canonical(fitter.body, irv, iev, case.gt, inputs.frame_indices))


def network_runs(config: FitConfig, refine: bool = False, optimize: bool = False,
                 refine_rig_iterations: list[int] | None = None, uses_images: bool = False) -> list[Run]:
    """The rows: the per-frame estimate, and through ``cmanet fit``'s pipeline ``network``
    (static rig averaged over frames), ``network+refine`` and ``optimize``. ``refine_rig_iterations``:
    network+refine once per rig-phase length given (fit.yaml's refine.rig_iterations), the refine
    schedule alone (without the optimizer-start candidate of the default), each sequence fitted by
    all of them in turn, so that their times compare. cmanet fit's pipeline feeds the network
    detections only: image encoders are scored per frame."""
    runs = [Run(PER_FRAME, "network", estimate=per_frame_estimate)]
    if not uses_images:
        runs.append(Run("network", "network"))
        if refine:
            runs.append(Run("network+refine", "network+refine"))
        for n in refine_rig_iterations or []:
            shorter = dataclasses.replace(config, refine=dataclasses.replace(config.refine, rig_iterations=n, optimizer_start=False))
            runs.append(Run(f"network+refine ({n} rig it.)", "network+refine", config=shorter))
    if optimize:
        runs.append(Run("optimize", "optimize"))
    return runs


def bench_network(model_path: str | Path, data: list[Path], refine: bool = False, optimize: bool = False,
                  speed: bool = False, threads: int = 1, refine_rig_iterations: list[int] | None = None) -> dict:
    """Per sequence and mean figures of every run (fit_s: the fitting time of the whole sequence)."""
    if any(n < 0 for n in refine_rig_iterations or []):
        raise InputError("--refine-rig-iterations must not be negative")
    if not data:
        raise InputError("bench network needs sequences with ground truth (--data SEQ ...)")
    torch.set_num_threads(threads)
    model = load_model(model_path, "cpu")
    config = load_fit_config(None, device="cpu")
    fitter = Fitter(config, model_path, model)
    runs = network_runs(config, refine, optimize, refine_rig_iterations, model.config.uses_images)
    rows = run_cases((network_case(path, model) for path in data), runs, fitter)
    sequences: dict[str, dict] = {}
    for row in rows:
        sequences.setdefault(row["case"], {})[row["run"]] = {k: row[k] for k in (*METRICS, "fit_s")}
    mean = {m.pop("run"): {k: v for k, v in m.items() if k != "count"} for m in group_mean(rows, ("run",), (*METRICS, "fit_s"))}
    out = {"model": str(model_path), "sequences": sequences, "mean": mean}
    if speed:
        out["speed"] = throughput(model, fitter.body, views=4)
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


COLUMNS = (
    Column("mode", "run", "{}", 28, left=True), Column("IEV PA-MPJPE", "iev_pa_mpjpe_mm", "{:.1f} mm", 13),
    Column("IEV cam rot", "iev_camera_rel_rot_deg", "{:.2f} deg", 12),
    Column("IRV PA-MPJPE", "irv_pa_mpjpe_mm", "{:.1f} mm", 13),
    Column("IRV cam rot", "irv_camera_rel_rot_deg", "{:.2f} deg", 12), Column("time (s)", "fit_s", "{:.2f}", 9),
)


def format_report(report: dict) -> str:
    """The mean of every run, and the network's throughput when measured."""
    lines = [format_table(({"run": run, **m} for run, m in report["mean"].items()), COLUMNS)]
    if "speed" in report:
        s = report["speed"]
        lines.append(f"network inference: {s['frames_per_s']:.0f} {s['views']}-view frames/s ({s['threads']} thread(s), batched)")
    return "\n".join(lines)

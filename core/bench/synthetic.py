"""``cmanet bench``: the speed and accuracy figures the issues ask for, printed (and written as
JSON). Benchmarks, not tests: they measure, they do not assert.

* ``speed``: seconds per multi-view frame for 2D detection (MediaPipe on rendered images), IRV
  and IEV, for V views x F frames, and fitting's share of detection time.
* ``accuracy``: IRV vs IEV on synthetic sequences (``cmanet synth``) over views x noise x seeds,
  static rig and per frame.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from core.eval import evaluate, load_ground_truth
from core.fit.config import load_fit_config
from core.fit.modes import FIT_MODES
from core.fit.sequence import fit_keypoints, inputs_from_sequence
from core.io import MultiViewSequence
from core.nets.checkpoint import DEFAULT_MODEL, load_model
from core.synth import make_synthetic_sequence
from core.synth.detections import FAULT_PRESETS


def _synth(out: Path, views: int, frames: int, seed: int, render: bool = False, noise_px: float | None = None,
           faults=None, rigs: str = "default") -> Path:
    kwargs = {} if noise_px is None else {"noise_px": noise_px}
    return Path(make_synthetic_sequence(out, views=views, frames=frames, seed=seed, render=render, faults=faults,
                                        rig_ranges=rigs, **kwargs))


def bench_speed(views: int = 4, frames: int = 100, seed: int = 0, workdir: Path | None = None) -> dict:
    """Detection, IRV and IEV seconds for one rendered synthetic sequence."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir or tmp)
        start = time.perf_counter()
        seq_dir = _synth(root / "seq", views, frames, seed, render=True)
        render_s = time.perf_counter() - start
        (seq_dir / "keypoints.npz").rename(seq_dir / "keypoints.simulated.npz")  # force the real detector
        with MultiViewSequence.open(seq_dir) as seq:
            inputs = inputs_from_sequence(seq, root / "res", show_progress_bar=True)
        config = load_fit_config()
        result, timings = fit_keypoints(inputs, config, show_progress_bar=True)
        report = evaluate(result, load_ground_truth(seq_dir / "gt.npz"))
    fit_s = timings["irv_s"] + timings["iev_s"]
    return {
        "views": views, "frames": frames, "render_s": round(render_s, 1),
        "detect_s": round(timings["detect_s"], 2), "irv_s": round(timings["irv_s"], 2), "iev_s": round(timings["iev_s"], 2),
        "detect_s_per_frame": round(timings["detect_s"] / frames, 4),
        "irv_s_per_frame": round(timings["irv_s"] / frames, 4),
        "iev_s_per_frame": round(timings["iev_s"] / frames, 4),
        "fit_share_of_detection": round(fit_s / timings["detect_s"], 3),
        "iev_pa_mpjpe_mm_real_detector": round(report["iev"]["pa_mpjpe_mm"], 1),
        "camera_rel_rot_deg_real_detector": round(report["iev"]["camera_rel_rot_deg"], 2),
    }


def bench_accuracy(views_list=(2, 3, 4, 6, 8), noise_list=(2.0, 4.0, 8.0), seeds=(0, 1, 2), frames: int = 30,
                   per_frame: bool = True) -> list[dict]:
    """One row per (views, noise, mode): means over seeds of IRV and IEV metrics."""
    base = load_fit_config()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for views in views_list:
            for noise in noise_list:
                runs: dict[str, list[dict]] = {"static": [], "per-frame": []}
                for seed in seeds:
                    seq_dir = _synth(Path(tmp) / f"v{views}_n{noise}_s{seed}", views, frames, seed, noise_px=noise)
                    gt = load_ground_truth(seq_dir / "gt.npz")
                    with MultiViewSequence.open(seq_dir) as seq:
                        inputs = inputs_from_sequence(seq, Path(tmp) / "cache", show_progress_bar=False)
                    for name, static in (("static", True), ("per-frame", False)):
                        if name == "per-frame" and not per_frame:
                            continue
                        config = dataclasses.replace(base, static_rig=static)
                        result, timings = fit_keypoints(inputs, config)
                        report = evaluate(result, gt)
                        runs[name].append({"report": report, "timings": timings})
                for name, items in runs.items():
                    if not items:
                        continue
                    mean = lambda f: float(np.mean([f(i) for i in items]))
                    rows.append({
                        "views": views, "noise_px": noise, "mode": name, "seeds": len(items),
                        "irv_pa_mpjpe_mm": round(mean(lambda i: i["report"]["irv"]["mean"]["pa_mpjpe_mm"]), 1),
                        "iev_pa_mpjpe_mm": round(mean(lambda i: i["report"]["iev"]["pa_mpjpe_mm"]), 1),
                        "iev_mpjpe_mm": round(mean(lambda i: i["report"]["iev"]["mpjpe_mm"]), 1),
                        "iev_pck150": round(mean(lambda i: i["report"]["iev"]["pck150"]), 1),
                        "iev_auc": round(mean(lambda i: i["report"]["iev"]["auc"]), 1),
                        "camera_rel_rot_deg": round(mean(lambda i: i["report"]["iev"]["camera_rel_rot_deg"]), 2),
                        "fit_s": round(mean(lambda i: i["timings"]["irv_s"] + i["timings"]["iev_s"]), 2),
                        "per_seed": [{"seed": seed, "iev_pa_mpjpe_mm": round(i["report"]["iev"]["pa_mpjpe_mm"], 1),
                                      "camera_rel_rot_deg": round(i["report"]["iev"]["camera_rel_rot_deg"], 2)}
                                     for seed, i in zip(seeds, items)],
                    })
                    print(format_accuracy_row(rows[-1]), flush=True)
    return rows


ACCURACY_HEADER = f"{'views':>5} {'noise':>5} {'mode':>9} {'IRV PA':>7} {'IEV PA':>7} {'IEV MPJPE':>9} {'PCK150':>7} {'AUC':>6} {'cam deg':>7} {'fit s':>6}"


def format_accuracy_row(row: dict) -> str:
    return (f"{row['views']:>5} {row['noise_px']:>5.0f} {row['mode']:>9} {row['irv_pa_mpjpe_mm']:>7.1f} "
            f"{row['iev_pa_mpjpe_mm']:>7.1f} {row['iev_mpjpe_mm']:>9.1f} {row['iev_pck150']:>7.1f} {row['iev_auc']:>6.1f} "
            f"{row['camera_rel_rot_deg']:>7.2f} {row['fit_s']:>6.2f}")


def bench_modes(seeds=tuple(range(8)), views: int = 4, frames: int = 30, faults: str = "harsh",
                modes=FIT_MODES, rigs: str = "default", model: Path | None = None) -> dict:
    """Each fit mode on the same synthetic rigs (``faults``: a preset of core.synth.detections;
    ``rigs``: the cameras' world, core.synth.rig.RIG_RANGES; ``model``: the network, default the shipped one),
    per rig and summarised: median and worst IEV PA-MPJPE and camera error, worst / median, and
    the rigs over 30 mm or 3 deg (the real-footage issue's bar for the harshest settings)."""
    preset = FAULT_PRESETS[faults]
    config = load_fit_config()
    network = load_model(model or DEFAULT_MODEL, config.device) if any(m != "optimize" for m in modes) else None
    rows = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            seq_dir = _synth(Path(tmp) / f"s{seed}", views, frames, seed, noise_px=preset.noise_px, faults=preset, rigs=rigs)
            gt = load_ground_truth(seq_dir / "gt.npz")
            with MultiViewSequence.open(seq_dir) as seq:
                inputs = inputs_from_sequence(seq, Path(tmp) / "cache", show_progress_bar=False)
            for mode in modes:
                start = time.perf_counter()
                result, timings = fit_keypoints(inputs, config, mode=mode, model=network)
                report = evaluate(result, gt)
                rows[mode].append({"seed": seed, "pa_mpjpe_mm": round(report["iev"]["pa_mpjpe_mm"], 1),
                                   "camera_deg": round(report["iev"]["camera_rel_rot_deg"], 2),
                                   "fit_s": round(time.perf_counter() - start, 2), "chosen": timings.get("chosen", mode)})
                print(f"seed {seed:4d} {mode:15s} {rows[mode][-1]['pa_mpjpe_mm']:7.1f} mm {rows[mode][-1]['camera_deg']:6.2f} deg "
                      f"{rows[mode][-1]['fit_s']:6.2f} s  ({rows[mode][-1]['chosen']})", flush=True)
    summary = {}
    for mode, items in rows.items():
        pa = np.array([r["pa_mpjpe_mm"] for r in items])
        cam = np.array([r["camera_deg"] for r in items])
        summary[mode] = {"median_mm": float(np.median(pa)), "worst_mm": float(pa.max()),
                         "worst_over_median_mm": round(float(pa.max() / np.median(pa)), 2),
                         "median_deg": float(np.median(cam)), "worst_deg": float(cam.max()),
                         "worst_over_median_deg": round(float(cam.max() / np.median(cam)), 2),
                         "rigs_over_30mm_or_3deg": int(((pa > 30) | (cam > 3)).sum()),
                         "fit_s_mean": round(float(np.mean([r["fit_s"] for r in items])), 2)}
    return {"faults": faults, "rigs": rigs, "views": views, "frames": frames, "seeds": list(seeds), "rows": rows,
            "summary": summary}


def format_modes_summary(report: dict) -> str:
    lines = [f"{'mode':15s} {'median mm':>9s} {'worst mm':>8s} {'w/m':>5s} {'median deg':>10s} {'worst deg':>9s} "
             f"{'w/m':>5s} {'>30mm|3deg':>10s} {'fit s':>6s}"]
    for mode, s in report["summary"].items():
        lines.append(f"{mode:15s} {s['median_mm']:9.1f} {s['worst_mm']:8.1f} {s['worst_over_median_mm']:5.2f} "
                     f"{s['median_deg']:10.2f} {s['worst_deg']:9.2f} {s['worst_over_median_deg']:5.2f} "
                     f"{s['rigs_over_30mm_or_3deg']:10d} {s['fit_s_mean']:6.2f}")
    return "\n".join(lines)

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

from core.bench.runner import Column, Fitter, Run, format_header, format_row, format_table, run_cases, synthetic_case
from core.fit.config import load_fit_config
from core.fit.modes import FIT_MODES
from core.nets.checkpoint import DEFAULT_MODEL
from core.synth.detections import FAULT_PRESETS


def bench_speed(views: int = 4, frames: int = 100, seed: int = 0, workdir: Path | None = None) -> dict:
    """Detection, IRV and IEV seconds for one rendered synthetic sequence."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir or tmp)
        start = time.perf_counter()
        case = synthetic_case(root / "seq", views, frames, seed, render=True, cache_dir=root / "res")
        render_s = time.perf_counter() - start - case.inputs.timings["detect_s"]
        row = run_cases([case], [Run("optimize")], Fitter(load_fit_config()), show_progress_bar=True)[0]
    detect_s = case.inputs.timings["detect_s"]
    fit_s = row["irv_s"] + row["iev_s"]
    return {
        "views": views, "frames": frames, "render_s": round(render_s, 1),
        "detect_s": round(detect_s, 2), "irv_s": round(row["irv_s"], 2), "iev_s": round(row["iev_s"], 2),
        "detect_s_per_frame": round(detect_s / frames, 4),
        "irv_s_per_frame": round(row["irv_s"] / frames, 4),
        "iev_s_per_frame": round(row["iev_s"] / frames, 4),
        "fit_share_of_detection": round(fit_s / detect_s, 3),
        "iev_pa_mpjpe_mm_real_detector": round(row["iev_pa_mpjpe_mm"], 1),
        "camera_rel_rot_deg_real_detector": round(row["iev_camera_rel_rot_deg"], 2),
    }


ACCURACY_COLUMNS = (
    Column("views", "views", "{}", 5), Column("noise", "noise_px", "{:.0f}", 5), Column("mode", "mode", "{}", 9),
    Column("IRV PA", "irv_pa_mpjpe_mm", "{:.1f}", 7), Column("IEV PA", "iev_pa_mpjpe_mm", "{:.1f}", 7),
    Column("IEV MPJPE", "iev_mpjpe_mm", "{:.1f}", 9), Column("PCK150", "iev_pck150", "{:.1f}", 7),
    Column("AUC", "iev_auc", "{:.1f}", 6), Column("cam deg", "camera_rel_rot_deg", "{:.2f}", 7),
    Column("fit s", "fit_s", "{:.2f}", 6),
)
ACCURACY_HEADER = format_header(ACCURACY_COLUMNS)


def format_accuracy_row(row: dict) -> str:
    return format_row(row, ACCURACY_COLUMNS)


def _accuracy_row(views: int, noise: float, mode: str, seeds, rows: list[dict]) -> dict:
    """The figures of one (views, noise, mode) over its seeds: means, and IEV's per seed."""
    mean = lambda f: float(np.mean([f(r) for r in rows]))  # noqa: E731
    return {
        "views": views, "noise_px": noise, "mode": mode, "seeds": len(rows),
        "irv_pa_mpjpe_mm": round(mean(lambda r: r["irv_pa_mpjpe_mm"]), 1),
        "iev_pa_mpjpe_mm": round(mean(lambda r: r["iev_pa_mpjpe_mm"]), 1),
        "iev_mpjpe_mm": round(mean(lambda r: r["iev_mpjpe_mm"]), 1),
        "iev_pck150": round(mean(lambda r: r["iev_pck150"]), 1),
        "iev_auc": round(mean(lambda r: r["iev_auc"]), 1),
        "camera_rel_rot_deg": round(mean(lambda r: r["iev_camera_rel_rot_deg"]), 2),
        "fit_s": round(mean(lambda r: r["irv_s"] + r["iev_s"]), 2),
        "per_seed": [{"seed": seed, "iev_pa_mpjpe_mm": round(r["iev_pa_mpjpe_mm"], 1),
                      "camera_rel_rot_deg": round(r["iev_camera_rel_rot_deg"], 2)} for seed, r in zip(seeds, rows)],
    }


def bench_accuracy(views_list=(2, 3, 4, 6, 8), noise_list=(2.0, 4.0, 8.0), seeds=(0, 1, 2), frames: int = 30,
                   per_frame: bool = True) -> list[dict]:
    """One row per (views, noise, mode): means over seeds of IRV and IEV metrics (fit s: the IRV
    and IEV stages); each printed as it is done."""
    base = load_fit_config()
    fitter = Fitter(base)
    runs = [Run("static", config=dataclasses.replace(base, static_rig=True))]
    if per_frame:
        runs.append(Run("per-frame", config=dataclasses.replace(base, static_rig=False)))
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for views in views_list:
            for noise in noise_list:
                cases = (synthetic_case(Path(tmp) / f"v{views}_n{noise}_s{seed}", views, frames, seed, noise_px=noise,
                                        cache_dir=Path(tmp) / "cache") for seed in seeds)
                rows = run_cases(cases, runs, fitter)
                for run in runs:
                    out.append(_accuracy_row(views, noise, run.label, seeds, [r for r in rows if r["run"] == run.label]))
                    print(format_accuracy_row(out[-1]), flush=True)
    return out


MODES_COLUMNS = (
    Column("mode", "mode", "{}", 15, left=True), Column("median mm", "median_mm", "{:.1f}", 9),
    Column("worst mm", "worst_mm", "{:.1f}", 8), Column("w/m", "worst_over_median_mm", "{:.2f}", 5),
    Column("median deg", "median_deg", "{:.2f}", 10), Column("worst deg", "worst_deg", "{:.2f}", 9),
    Column("w/m", "worst_over_median_deg", "{:.2f}", 5), Column(">30mm|3deg", "rigs_over_30mm_or_3deg", "{:d}", 10),
    Column("fit s", "fit_s_mean", "{:.2f}", 6),
)


def bench_modes(seeds=tuple(range(8)), views: int = 4, frames: int = 30, faults: str = "harsh",
                modes=FIT_MODES, rigs: str = "default", model: Path | None = None) -> dict:
    """Each fit mode on the same synthetic rigs (``faults``: a preset of core.synth.detections;
    ``rigs``: the cameras' world, core.synth.rig.RIG_RANGES; ``model``: the network, default the shipped one),
    per rig and summarised: median and worst IEV PA-MPJPE and camera error, worst / median, and
    the rigs over 30 mm or 3 deg (the real-footage issue's bar for the harshest settings)."""
    preset = FAULT_PRESETS[faults]
    fitter = Fitter(load_fit_config(), model or DEFAULT_MODEL)
    rows = {mode: [] for mode in modes}

    def show(row: dict) -> None:
        item = {"seed": row["seed"], "pa_mpjpe_mm": round(row["iev_pa_mpjpe_mm"], 1),
                "camera_deg": round(row["iev_camera_rel_rot_deg"], 2), "fit_s": row["fit_s"], "chosen": row["chosen"]}
        rows[row["mode"]].append(item)
        print(f"seed {item['seed']:4d} {row['mode']:15s} {item['pa_mpjpe_mm']:7.1f} mm {item['camera_deg']:6.2f} deg "
              f"{item['fit_s']:6.2f} s  ({item['chosen']})", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        cases = (synthetic_case(Path(tmp) / f"s{seed}", views, frames, seed, noise_px=preset.noise_px, faults=preset,
                                cache_dir=Path(tmp) / "cache", info={"seed": seed}, rigs=rigs) for seed in seeds)
        run_cases(cases, [Run(mode, mode) for mode in modes], fitter, on_row=show)
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
    return format_table(({"mode": mode, **s} for mode, s in report["summary"].items()), MODES_COLUMNS)

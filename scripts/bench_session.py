"""Figures of ``cmanet batch`` (README, "A session of trials").

    python scripts/bench_session.py demo [--out DIR]          # Pose2Sim's Demo_Batch, scored
    python scripts/bench_session.py synth [--out DIR] [--trials 8] [--ray]   # one rig, 8 trials

``demo``: the Demo_Batch session of the pose2sim 0.10.49 wheel (Trial_1: the walking trial,
Trial_2: the two-person trial; one Qualisys calibration) fitted without its calibration; each
trial's result, fitted alone and with the session's rig, is scored against calibrated
triangulation of its detections as ``cmanet bench real`` scores it (cameras; the body where one
person is seen).

``synth``: a synthetic session (one random rig, each trial its own person and motion) fitted
serially, with ``--jobs 2`` (and on a local Ray instance with ``--ray``): camera error of every
trial's own rig and of the session's rig against the truth, PA-MPJPE of every trial alone and with
the session's rig, wall times, and whether the parallel runs' results equal the serial one's.
Timings mean something only on a quiet machine (``uptime``'s load under 1.5): the script prints
the load before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.bench.real import TRIALS, _extract, build_reference, pose2sim_wheel, score  # noqa: E402
from core.eval import evaluate, load_ground_truth  # noqa: E402
from core.fit.config import load_fit_config  # noqa: E402
from core.fit.modes import resolve_mode  # noqa: E402
from core.fit.sequence import inputs_from_sequence  # noqa: E402
from core.geometry import metrics  # noqa: E402
from core.io.calibration import read_qca, read_toml  # noqa: E402
from core.io.results import FitResult  # noqa: E402
from core.io.sequence import MultiViewSequence  # noqa: E402
from core.nets.checkpoint import installed_model  # noqa: E402
from core.session.batch import ALONE_DIR, BatchOptions, run_batch  # noqa: E402
from core.session.executors import ProcessExecutor, RayExecutor, SerialExecutor  # noqa: E402
from core.synth.session import generate_session, write_session  # noqa: E402

DEMO_TRIALS = {"Trial_1": TRIALS["walk"], "Trial_2": TRIALS["multi"]}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _options(mode: str | None) -> BatchOptions:
    mode, checkpoint = resolve_mode(mode, None, installed_model())
    return BatchOptions(load_fit_config(), mode, checkpoint, use_session_calibration=False)


def demo(out: Path, mode: str | None) -> dict:
    session = out / "Demo_Batch"
    if not session.is_dir():
        _extract(pose2sim_wheel("0.10.49"), "Pose2Sim/Demo_Batch", session)
    print(f"load before the run: {_load()}", flush=True)
    start = time.perf_counter()
    summary = run_batch(session, out / "result", _options(mode), SerialExecutor())
    report = {"wall_s": round(time.perf_counter() - start, 1), "rig": summary["rig"], "trials": {}}
    calibration = read_qca(session / "calibration" / "Calib.qca.txt")
    for name, trial in DEMO_TRIALS.items():
        rows = {}
        for label, folder in (("alone", out / "result" / name / ALONE_DIR), ("session", out / "result" / name)):
            result = FitResult.load(folder / "result.npz")
            rig = calibration.by_name([str(v) for v in result.view_names])
            # The reference triangulates the detections as detected, as cmanet bench real does.
            with MultiViewSequence.open(session / name) as seq:  # from the detection cache the batch filled
                detections = inputs_from_sequence(seq, show_progress_bar=False).keypoints2d
            reference = build_reference(detections, rig, trial.reference_offsets)
            figures = score(result, reference)
            if not trial.score_body:
                figures = {k: v for k, v in figures.items() if not k.startswith(("body_", "seq_", "segment"))}
            rows[label] = {k: v for k, v in figures.items() if not isinstance(v, (dict, list))}
            print(f"{name} {label:8s} cameras {figures['camera_err_deg_mean']:.2f} deg mean "
                  f"(max {figures['camera_err_deg_max']:.2f}), focal {figures['focal_err_pct_mean']:.1f} %, "
                  f"body PA-MPJPE {figures.get('body_pa_mpjpe_mm', float('nan')):.1f} mm, "
                  f"reprojection {figures['iev_reproj_px']:.1f} px", flush=True)
        report["trials"][name] = rows
    return report


def _rotation_error(cam_r: np.ndarray, gt_r: np.ndarray) -> float:
    return float(metrics.relative_rotation_error_deg(torch.as_tensor(cam_r, dtype=torch.float64),
                                                     torch.as_tensor(gt_r, dtype=torch.float64)).mean())


def _same(a: Path, b: Path, names: list[str]) -> bool:
    if (a / "calibration.toml").read_text() != (b / "calibration.toml").read_text():
        return False
    for name in names:
        for sub in (ALONE_DIR, "."):
            x, y = FitResult.load(a / name / sub / "result.npz"), FitResult.load(b / name / sub / "result.npz")
            if not all(np.array_equal(getattr(x, k), getattr(y, k)) for k in ("joints3d", "cam_R", "cam_t", "cam_f")):
                return False
    return True


def synth(out: Path, trials: int, frames: int, mode: str | None, ray: bool) -> dict:
    session = out / "session"
    if not session.is_dir():
        write_session(generate_session(trials=trials, views=4, frames=frames, seed=0), session)
    names = sorted(p.name for p in session.iterdir())
    options = _options(mode)
    runs = {"serial": lambda: SerialExecutor(), "jobs2": lambda: ProcessExecutor(2, 1)}
    if ray:
        runs["ray"] = lambda: RayExecutor("local", 1, 2)
    report: dict = {"trials": trials, "frames": frames, "mode": options.mode, "runs": {}}
    for label, make in runs.items():
        folder = out / label
        shutil.rmtree(folder, ignore_errors=True)
        print(f"{label}: load before the run {_load()}", flush=True)
        start = time.perf_counter()
        run_batch(session, folder, options, make())
        wall = time.perf_counter() - start
        report["runs"][label] = {"wall_s": round(wall, 1), "load_after": _load()}
        if label != "serial":
            report["runs"][label]["same_as_serial"] = _same(out / "serial", folder, names)
            report["runs"][label]["wall_vs_serial"] = round(wall / report["runs"]["serial"]["wall_s"], 3)
        print(f"{label}: {wall:.1f} s {report['runs'][label]}", flush=True)
    gt = load_ground_truth(session / names[0] / "gt.npz")
    rig = read_toml(out / "serial" / "calibration.toml").by_name([str(v) for v in gt["view_names"]])
    report["session_rig_deg"] = round(_rotation_error(rig.rotations, gt["cam_R"]), 2)
    report["session_rig_focal_pct"] = round(float(np.mean(np.abs(
        np.array([c.focal_px for c in rig.cameras]) - gt["cam_f"]) / gt["cam_f"]) * 100), 1)
    report["per_trial"] = {}
    for name in names:
        truth = load_ground_truth(session / name / "gt.npz")
        alone = FitResult.load(out / "serial" / name / ALONE_DIR / "result.npz")
        shared = FitResult.load(out / "serial" / name / "result.npz")
        report["per_trial"][name] = {
            "own_rig_deg": round(_rotation_error(alone.cam_R[0], gt["cam_R"]), 2),
            "alone_pa_mpjpe_mm": round(evaluate(alone, truth)["iev"]["pa_mpjpe_mm"], 1),
            "session_pa_mpjpe_mm": round(evaluate(shared, truth)["iev"]["pa_mpjpe_mm"], 1)}
    best = min(t["own_rig_deg"] for t in report["per_trial"].values())
    print(f"session rig {report['session_rig_deg']} deg (best trial's own rig {best} deg), focal "
          f"{report['session_rig_focal_pct']} %", flush=True)
    for name, row in report["per_trial"].items():
        print(f"  {name}: own rig {row['own_rig_deg']} deg, PA-MPJPE alone {row['alone_pa_mpjpe_mm']} mm, with the "
              f"session's rig {row['session_pa_mpjpe_mm']} mm", flush=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("demo", "synth"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/cmanet-bench-session"))
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--mode", default=None, help="fit mode (default: cmanet fit's)")
    parser.add_argument("--ray", action="store_true", help="also run on a local Ray instance")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    out = args.out / args.what
    out.mkdir(parents=True, exist_ok=True)
    report = demo(out, args.mode) if args.what == "demo" else synth(out, args.trials, args.frames, args.mode, args.ray)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the app's "Adapt the network to this footage" checkbox does: the app's own fit job
(:func:`cmanet_app.jobs.fit_run`, the same ``core.train.adapt.fit_adapted`` as ``cmanet fit
--adapt``) on the first frames of the shipped walking trial, network mode, without adapting, then
with each budget, then once more with the last budget (the adapted network reused).

    python scripts/measure_app_adapt.py [--frames 24] [--budgets 3 30] [--work DIR]

Prints, per fit, its wall time (the first includes MediaPipe on every frame), the fused (IEV) and
per-view (IRV) mean reprojection errors, and the adaptation's seconds, steps and reuse. Detections
and adapted networks go to a cache under ``--work`` (not the user's); torch runs on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def walk_slice(out: Path, frames: int) -> Path:
    """Frames [0, frames) of the shipped walking trial, its videos symlinked."""
    from core.bench.real import SHIPPED_DEMO

    (out / "videos").mkdir(parents=True)
    for video in sorted((SHIPPED_DEMO / "videos").glob("*.mp4")):
        (out / "videos" / video.name).symlink_to(video)
    (out / "sequence.yaml").write_text(f"frame_range: [0, {frames}]\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--budgets", type=float, nargs="+", default=[3.0, 30.0])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="cmanet-adapt-app-"))
    os.environ["CMANET_CACHE_DIR"] = str(work / "cache")  # before core reads it

    import torch

    from cmanet_app import jobs
    from core.fit.config import load_fit_config
    from core.progress import Progress

    torch.set_num_threads(1)
    seq = walk_slice(work / "walk", args.frames)
    config = load_fit_config(None, device="cpu")
    fits = [("no adaptation", None)] + [(f"adapt {b:g} s", b) for b in args.budgets]
    fits.append((f"adapt {args.budgets[-1]:g} s again", args.budgets[-1]))
    for label, budget in fits:
        began = time.perf_counter()
        run, _ = jobs.fit_run(seq, work / "area", config, Progress(), "network", None, {}, None, budget)
        summary = json.loads((run.folder / "summary.json").read_text())
        adapted = summary.get("adaptation")
        learnt = (f"  learnt {adapted['seconds']:.1f} s, {adapted['steps']} steps, reused {adapted['reused']}"
                  if adapted else "")
        print(f"{label:20s} wall {time.perf_counter() - began:5.1f} s  IEV {summary['iev_reproj_px_mean']:.1f} px  "
              f"IRV {summary['irv_reproj_px_mean']:.1f} px{learnt}", flush=True)


if __name__ == "__main__":
    main()

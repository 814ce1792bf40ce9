"""Several people on synthetic rigs: per-person PA-MPJPE and identity switches of ``cmanet fit
--people P`` on ``cmanet synth --people P``, against each person fitted alone on the same rig (the
detections they would get without the others: gt.npz ``people_keypoints2d_alone``).

    .venv/bin/python scripts/bench_people.py --people 2 --seeds 0 1 2 --frames 60 [--mode M] [--json OUT]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.eval import load_ground_truth  # noqa: E402
from core.fit.config import load_fit_config  # noqa: E402
from core.fit.modes import FIT_MODES, default_mode  # noqa: E402
from core.fit.sequence import fit_result, fit_sequence, inputs_from_sequence  # noqa: E402
from core.io import MultiViewSequence  # noqa: E402
from core.nets.checkpoint import installed_model, load_model  # noqa: E402
from core.people.evaluate import people_report  # noqa: E402
from core.synth.sequence import make_synthetic_sequence  # noqa: E402


def alone_pa_mpjpe(seq_dir: Path, person: int, config, mode: str = "optimize", model=None) -> float:
    """PA-MPJPE (mm) of one true person fitted alone from their own detections on the same rig."""
    import torch

    from core.geometry import metrics

    gt = load_ground_truth(seq_dir)
    with MultiViewSequence.open(seq_dir) as seq:
        inputs = inputs_from_sequence(seq, show_progress_bar=False)
    alone = gt["people_keypoints2d_alone"][person]
    result, _ = fit_result(dataclasses.replace(inputs, keypoints2d=alone, scene=None), config, mode=mode, model=model)
    return float(metrics.pa_mpjpe(torch.as_tensor(result.joints3d, dtype=torch.float64),
                                  torch.as_tensor(gt["people_joints3d"][person], dtype=torch.float64)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--mode", choices=FIT_MODES, default=None, help="fit mode (default: cmanet fit's)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = load_fit_config()
    mode = args.mode or default_mode(installed_model())
    model = None if mode == "optimize" else load_model(installed_model(), config.device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            seq_dir = make_synthetic_sequence(Path(tmp) / f"s{seed}", views=args.views, frames=args.frames, seed=seed,
                                              people=args.people)
            result, _ = fit_sequence(seq_dir, Path(tmp) / f"r{seed}", config, mode=mode, model=model, people=args.people)
            gt = load_ground_truth(seq_dir)
            for row in people_report(result, gt):
                row["alone_pa_mpjpe_mm"] = alone_pa_mpjpe(seq_dir, row["true_person"], config, mode, model)
                row["ratio"] = row["pa_mpjpe_mm"] / row["alone_pa_mpjpe_mm"]
                row["seed"] = seed
                rows.append(row)
                print(f"seed {seed} person {row['person']} (true {row['true_person']}): PA-MPJPE "
                      f"{row['pa_mpjpe_mm']:.1f} mm over {row['frames']} frames, alone {row['alone_pa_mpjpe_mm']:.1f} mm "
                      f"(x{row['ratio']:.2f}), identity switches {row['identity_switches']}", flush=True)
    summary = {
        "mode": mode, "people": args.people, "views": args.views, "frames": args.frames, "seeds": args.seeds, "rows": rows,
        "pa_mpjpe_mm_max": max(r["pa_mpjpe_mm"] for r in rows), "ratio_max": max(r["ratio"] for r in rows),
        "identity_switches": sum(r["identity_switches"] for r in rows),
    }
    print(f"worst PA-MPJPE {summary['pa_mpjpe_mm_max']:.1f} mm, worst ratio to alone x{summary['ratio_max']:.2f}, "
          f"identity switches {summary['identity_switches']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

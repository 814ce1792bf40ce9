"""``cmanet eval RES --gt GT.npz``: the paper's metrics, IRV and IEV side by side."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a result against ground truth",
        description="Print and write (RES/eval.json, or --json) MPJPE, PA-MPJPE, PCK@150 and AUC "
        "(absolute after one similarity per sequence, and per-frame rigid), and the camera "
        "relative-rotation error, for IRV and IEV side by side.",
    )
    p.add_argument("result", type=Path, help="result folder or result.npz")
    p.add_argument("--gt", type=Path, required=True, help="ground truth .npz (e.g. SEQ/gt.npz from cmanet synth)")
    p.add_argument("--json", type=Path, default=None, help="where to write the metrics (default: RESULT/eval.json)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.eval import evaluate, format_table, load_ground_truth
    from core.io import atomic_write_json
    from core.io.results import FitResult

    result = FitResult.load(args.result)
    report = evaluate(result, load_ground_truth(args.gt), args.gt)
    folder = args.result if args.result.is_dir() else args.result.parent
    target = args.json or folder / "eval.json"
    atomic_write_json(target, report)
    print(format_table(report))
    print(f"wrote {target}")
    return 0

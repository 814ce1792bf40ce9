"""``cmanet train --stage 1|2|both --config C --data SEQ... --out RUN``: self-supervised training."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train CMANet on multi-view sequences (self-supervised, no ground truth)",
        description="Train the networks on unlabelled multi-view sequences: stage 1 trains IRV per view, "
        "stage 2 freezes it and trains IEV, both from detector keypoints and SMPLify pseudo-labels. Writes "
        "RUN/last.pt, RUN/best.pt (best validation reprojection loss), RUN/metrics.jsonl and RUN/config.yaml. "
        "Runs under torchrun (one process per GPU; gloo on CPU).",
    )
    p.add_argument("--stage", choices=("1", "2", "both", "joint", "iev"), default="both",
                   help="1: IRV; 2: IEV (IRV frozen); both: 1 then 2; joint / iev: the paper's ablations "
                   "(IRV+IEV in one stage / IEV alone)")
    p.add_argument("--config", default=None, help="training config: tiny, cpu, paper or a YAML path (required unless --resume)")
    p.add_argument("--data", nargs="+", type=Path, required=True, metavar="SEQ", help="multi-view sequence folders")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue RUN/last.pt from its step")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (e.g. stage 1's best.pt), and its pseudo-labels if trained on the same data")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="compute device (default: the config's)")
    p.add_argument("--epochs", type=int, default=None, help="override the epochs of the stage(s) being trained")
    p.add_argument("--iev-iterations", type=int, default=None, metavar="N",
                   help="run IEV N times instead of the config's or --init's (its iterations share weights)")
    p.add_argument("--eval-gt", action="store_true",
                   help="also log ground-truth metrics of the held-out frames (synthetic data with gt.npz; never trained on)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from core.errors import InputError
    from core.train import load_train_config, train

    if args.config is None and not args.resume:
        raise InputError("--config is required (tiny, cpu, paper or a YAML file) unless --resume")
    config = load_train_config(args.config) if args.config is not None else None
    if config is not None and args.epochs is not None:
        if args.epochs < 0:
            raise InputError("--epochs must be >= 0")
        config = dataclasses.replace(config, stage1=dataclasses.replace(config.stage1, epochs=args.epochs),
                                     stage2=dataclasses.replace(config.stage2, epochs=args.epochs))
    summary = train(args.data, args.out, config, args.stage, args.resume, args.init, args.device,
                    show_progress=not args.no_progress, eval_gt=args.eval_gt, iev_iterations=args.iev_iterations)
    if summary.stopped:
        print(f"stopped at step {summary.state.step}: {summary.out / 'last.pt'} (--resume continues from it)")
        return 0
    val = ", ".join(f"{k} {v:.4g}" for k, v in summary.last_val.items())
    print(f"trained stages {', '.join(summary.state.completed) or '-'} to step {summary.state.step} in "
          f"{summary.seconds:.0f} s: {summary.out / 'last.pt'}, {summary.out / 'best.pt'}" + (f"; validation: {val}" if val else ""))
    return 0

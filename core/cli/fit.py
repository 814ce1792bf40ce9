"""``cmanet fit SEQ --out RES``: detect (or reuse) keypoints, run IRV then IEV, write the result."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from core.fit.modes import FIT_MODES, resolve_mode
from core.io.keypoint_formats import FORMAT_NAMES

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "fit",
        help="fit 3D body, mesh and cameras to a multi-view sequence",
        description="Detect 2D keypoints (or reuse the cached/given ones), fit each view alone (IRV), "
        "fuse all views (IEV), and write RES/result.npz and RES/summary.json. Every person is detected; "
        "the fit follows the main person (seen longest and most centrally) through every view and frame, "
        "and --people fits the others too. The input folder is never modified; detections are cached "
        "per sequence in the user cache ($CMANET_CACHE_DIR, ~/.cache/cmanet).",
    )
    p.add_argument("sequence", type=Path, help="multi-view sequence folder (videos, image folders, or keypoints.npz)")
    p.add_argument("--out", type=Path, required=True, help="result folder (created)")
    p.add_argument("--config", type=Path, default=None, help="fit config YAML (default: resources/configs/fit.yaml)")
    p.add_argument("--mode", choices=FIT_MODES, default=None,
                   help="optimize: SMPLify per view then multi-view (no network); network: the trained CMANet "
                   "alone (fastest); network+refine: the optimizers started from the network (default when a "
                   "model is available, else optimize)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="network model or training checkpoint (default: the shipped resources/models/cmanet_default.pt)")
    p.add_argument("--per-frame", action="store_true", help="fit each frame alone (moving cameras)")
    p.add_argument("--estimate-focal", action=argparse.BooleanOptionalAction, default=None,
                   help="refine the focal lengths that sequence.yaml does not give (static rig; default on, "
                   "--no-estimate-focal keeps the default guess from the image size)")
    p.add_argument("--height", type=float, default=None, metavar="METRES",
                   help="the person's standing height (top of head to floor): fixes the scale of the result, "
                   "which the cameras cannot (default: an adult of ordinary height, 1.70 m)")
    p.add_argument("--sync", action=argparse.BooleanOptionalAction, default=None,
                   help="estimate each camera's time offset against the first from the person's motion (static rig; "
                   "offsets given in sequence.yaml are kept). Default: the config's sync.enabled (off)")
    p.add_argument("--threshold", type=float, default=None, help="lambda: ignore detections at or below this confidence")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="compute device (default: config's, auto)")
    p.add_argument("--people", type=_people, default=1, metavar="N|all",
                   help="how many people to fit (default 1: the main person); N or all fits the main person, then "
                   "every other person seen by at least two views in the same cameras (result.npz people_* keys, "
                   "one export per person)")
    p.add_argument("--keypoints", type=Path, default=None, metavar="DIR_OR_FILE",
                   help="fit these 2D keypoints instead of detecting: an OpenPose/Pose2Sim folder (cam01_json/*.json, "
                   "...) or a COCO keypoint .json (images named <camera>/<frame>)")
    p.add_argument("--keypoint-format", choices=FORMAT_NAMES, default=None,
                   help="layout of --keypoints (default: from the keypoint count; body25 vs body25b from the pose)")
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="known cameras, full or partial: Pose2Sim/anipose/FreeMoCap .toml, EasyMocap intri.yml/extri.yml, "
                   "or Qualisys .qca.txt; known intrinsics replace the estimate, known extrinsics are held fixed")
    p.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="MediaPipe model (1 ships offline)")
    p.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=None,
                   help="adapt the network to this footage before fitting: the two-stage self-supervised learning on "
                   "its own detections, no labels; the adapted network is kept as RES/adapted_model.pt and reused by "
                   "later fits of the same sequence (default: off)")
    p.add_argument("--adapt-budget", type=float, default=None, metavar="SECONDS",
                   help="seconds of learning that --adapt may spend (default 120)")
    p.set_defaults(run=run)


def _people(text: str) -> int | None:
    """``--people``: a count of at least 1, or ``all`` (None)."""
    if text.strip().lower() == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of people (1 or more) or 'all', got {text!r}")
    return count


def run(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.fit.config import load_fit_config
    from core.fit.sequence import fit_sequence

    overrides = {}
    if args.per_frame:
        overrides["static_rig"] = False
    if args.estimate_focal is not None:
        overrides["estimate_focal"] = args.estimate_focal
    if args.height is not None:
        overrides["body_height_m"] = args.height
    if args.threshold is not None:
        overrides["confidence_threshold"] = args.threshold
    if args.device is not None:
        overrides["device"] = args.device
    if args.sync is not None:
        overrides["sync"] = dataclasses.replace(load_fit_config(args.config).sync, enabled=args.sync)
    config = load_fit_config(args.config, **overrides)

    options = {"keypoints": args.keypoints, "keypoint_format": args.keypoint_format, "calibration": args.calibration,
               "people": args.people}
    from core.train.adapt import ADAPT_BY_DEFAULT, DEFAULT_BUDGET_S, fit_adapted

    if args.adapt_budget is not None and not args.adapt_budget > 0:
        raise InputError(f"--adapt-budget must be a positive number of seconds, got {args.adapt_budget}")
    if args.adapt if args.adapt is not None else (ADAPT_BY_DEFAULT and args.mode != "optimize"):
        result, summary = fit_adapted(args.sequence, args.out, config, args.mode, args.checkpoint,
                                      args.adapt_budget or DEFAULT_BUDGET_S, show_progress_bar=True,
                                      model_complexity=args.model_complexity, **options)
    else:
        mode, model = _network(args, config)  # a bad checkpoint is reported before any detection work
        result, summary = fit_sequence(args.sequence, args.out, config, mode, model, args.model_complexity,
                                       show_progress_bar=True, **options)
    path = args.out / "result.npz"
    timings = summary["timings_s"]
    adapted = summary.get("adaptation")
    learnt = ""
    if adapted is not None:
        how = f"reused {adapted['checkpoint']}" if adapted["reused"] else f"{adapted['seconds']:.0f} s, {adapted['steps']} steps"
        learnt = f"; network adapted to this footage ({how}), kept as {args.out / adapted['kept']}"
    print(f"wrote {path} ({result.num_frames} frames, {result.num_views} views): "
          f"reprojection IRV {summary['irv_reproj_px_mean']} px, IEV {summary['iev_reproj_px_mean']} px; "
          f"IRV {timings['irv_s']:.1f} s, IEV {timings['iev_s']:.1f} s{learnt}")
    offsets = {k: v for k, v in summary["time_offsets_frames"].items() if v}
    if offsets:
        print("time offsets (frames): " + ", ".join(f"{k} {v:+g}" for k, v in offsets.items()))
    if result.num_people > 1:
        print(f"fitted {result.num_people} people in one rig (people_* keys; the plain keys are the main person's)")
    return 0


def _network(args: argparse.Namespace, config) -> tuple[str, object | None]:
    """The fit mode and the network it needs (None for optimize)."""
    from core.nets.checkpoint import installed_model, load_model

    mode, checkpoint = resolve_mode(args.mode, args.checkpoint, installed_model())
    return mode, (load_model(checkpoint, config.device, config.body_model) if checkpoint is not None else None)

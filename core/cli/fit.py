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
        "fuse all views (IEV), and write RES/result.npz and RES/summary.json. The input folder is "
        "never modified; detections are cached in RES.",
    )
    p.add_argument("sequence", type=Path, help="multi-view sequence folder (videos, image folders, or keypoints.npz)")
    p.add_argument("--out", type=Path, required=True, help="result folder (created; detections are cached here)")
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
    p.add_argument("--keypoints", type=Path, default=None, metavar="DIR_OR_FILE",
                   help="fit these 2D keypoints instead of detecting: an OpenPose/Pose2Sim folder (cam01_json/*.json, "
                   "...) or a COCO keypoint .json (images named <camera>/<frame>)")
    p.add_argument("--keypoint-format", choices=FORMAT_NAMES, default=None,
                   help="layout of --keypoints (default: from the keypoint count; body25 vs body25b from the pose)")
    p.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                   help="known cameras, full or partial: Pose2Sim/anipose/FreeMoCap .toml, EasyMocap intri.yml/extri.yml, "
                   "or Qualisys .qca.txt; known intrinsics replace the estimate, known extrinsics are held fixed")
    p.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="MediaPipe model (1 ships offline)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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

    mode, model = _network(args, config)  # a bad checkpoint is reported before any detection work
    result, summary = fit_sequence(args.sequence, args.out, config, mode, model, args.model_complexity,
                                   show_progress_bar=True, keypoints=args.keypoints,
                                   keypoint_format=args.keypoint_format, calibration=args.calibration)
    path = args.out / "result.npz"
    timings = summary["timings_s"]
    print(f"wrote {path} ({result.num_frames} frames, {result.num_views} views): "
          f"reprojection IRV {summary['irv_reproj_px_mean']} px, IEV {summary['iev_reproj_px_mean']} px; "
          f"IRV {timings['irv_s']:.1f} s, IEV {timings['iev_s']:.1f} s")
    offsets = {k: v for k, v in summary["time_offsets_frames"].items() if v}
    if offsets:
        print("time offsets (frames): " + ", ".join(f"{k} {v:+g}" for k, v in offsets.items()))
    return 0


def _network(args: argparse.Namespace, config) -> tuple[str, object | None]:
    """The fit mode and the network it needs (None for optimize)."""
    from core.nets.checkpoint import installed_model, load_model

    mode, checkpoint = resolve_mode(args.mode, args.checkpoint, installed_model())
    return mode, (load_model(checkpoint, config.device, config.body_model) if checkpoint is not None else None)

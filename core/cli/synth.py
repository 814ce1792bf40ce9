"""``cmanet synth OUT``: write a synthetic multi-view sequence with ground truth.

The sequence is in the input format (sequence.yaml + keypoints.npz, and images with --render) plus
``gt.npz``; see :mod:`core.synth.sequence`.
"""

from __future__ import annotations

import argparse
import logging
import re
import time

from core.errors import InputError

log = logging.getLogger(__name__)


def _image_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or min(int(match.group(1)), int(match.group(2))) < 16:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 16x16 pixels, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic multi-view sequence with ground truth",
        description=(
            "Write a synthetic sequence of a moving person seen by a random rig of cameras: sequence.yaml, "
            "keypoints.npz (simulated detections with realistic faults), gt.npz (ground truth) and, with "
            "--render, images/camNN/*.png. OUT must be new, empty, or a previous synth output."
        ),
    )
    parser.add_argument("out", metavar="OUT", help="output folder")
    parser.add_argument("--views", type=int, default=4, help="number of cameras, 2-8 (default 4)")
    parser.add_argument("--frames", type=int, default=30, help="number of frames, >= 1 (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same sequence (default 0)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument(
        "--noise", type=float, default=None, metavar="PX",
        help="detection noise, pixels at a 1000 px image height, scaled with each image's height (default 4)",
    )  # fmt: skip
    parser.add_argument(
        "--people", type=int, default=1,
        help="number of people, 1-4 (default 1); more than one cross and hide each other, keypoints.npz then "
        "holds every person per image (F, V, P, 17, 3) and gt.npz people_joints3d (P, F, 17, 3)",
    )  # fmt: skip
    parser.add_argument(
        "--faults", choices=("default", "harsh", "real"), default="default",
        help="the simulated detector's faults: default, harsh (every fault turned up; --noise then defaults to 8), or "
        "real (MediaPipe's noise, confidences, outliers and bias as measured on the real-footage benchmark, "
        "resources/detector_faults; --noise scales them, 4 = as measured)",
    )  # fmt: skip
    parser.add_argument(
        "--rigs", choices=("default", "wide"), default="default",
        help="the cameras' world: default (2.5-6 m, about eye height, the person framed tightly) or wide (lenses "
        "0.6-1.6x the image size, 2-8 m away, 0-60 deg above the person, the person anywhere in the frame)",
    )  # fmt: skip
    parser.add_argument("--render", action="store_true", help="also render images of the person (slower)")
    parser.add_argument(
        "--known-intrinsics", action="store_true",
        help="write each camera's focal length and principal point to sequence.yaml (default: leave them out)",
    )  # fmt: skip
    parser.add_argument(
        "--image-size", type=_image_size, metavar="WxH", default=None,
        help="one image size for every camera (default: drawn per camera, 640x480 up to 1920x1080, portrait too)",
    )  # fmt: skip
    parser.add_argument(
        "--time-offsets", type=float, nargs="+", metavar="FRAMES", default=None,
        help="cameras out of sync: one offset per camera, multiples of 0.1 frame (camera v's frame f + o_v shows "
        "the first camera's frame f; recorded in gt.npz, not in sequence.yaml unless --known-offsets)",
    )  # fmt: skip
    parser.add_argument("--known-offsets", action="store_true",
                        help="write the time offsets to sequence.yaml as known (time_offset_frames)")
    parser.add_argument(
        "--distortion", type=float, nargs="+", metavar="K", default=None,
        help="lens distortion of every camera, OpenCV order k1 [k2 p1 p2 [k3]] (e.g. -0.2 for barrel): applied to "
        "the detections and written to sequence.yaml (distortions)",
    )  # fmt: skip
    parser.add_argument(
        "--trials", type=int, default=None, metavar="N",
        help="write a session instead: OUT/trial01 ... OUT/trialNN, each its own person and motion, one rig for all "
        "(for cmanet batch)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.synth.sequence import MAX_VIEWS, MIN_VIEWS, check_output_folder

    if not MIN_VIEWS <= args.views <= MAX_VIEWS:
        raise InputError(f"--views must be between {MIN_VIEWS} and {MAX_VIEWS}, got {args.views}")
    if args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    if not args.fps > 0 or args.fps != args.fps or args.fps == float("inf"):
        raise InputError(f"--fps must be a positive number, got {args.fps}")
    from core.synth.detections import FAULT_PRESETS

    faults = FAULT_PRESETS[args.faults]
    args.noise = faults.noise_px if args.noise is None else args.noise
    if not args.noise >= 0 or args.noise == float("inf"):
        raise InputError(f"--noise must be a non-negative number of pixels, got {args.noise}")
    if args.render and (args.time_offsets is not None or args.distortion is not None):
        raise InputError("--render makes images of cameras in sync without lens distortion; leave out --render, "
                         "--time-offsets and --distortion together")
    if args.known_offsets and args.time_offsets is None:
        raise InputError("--known-offsets needs --time-offsets")
    distortion = None
    if args.distortion is not None:
        if len(args.distortion) not in (1, 2, 4, 5):
            raise InputError(f"--distortion takes k1, k1 k2, k1 k2 p1 p2 or k1 k2 p1 p2 k3; got {len(args.distortion)} numbers")
        distortion = (list(args.distortion) + [0.0] * 5)[:5]
    if not 1 <= args.people <= 4:
        raise InputError(f"--people must be between 1 and 4, got {args.people}")
    if args.people > 1 and args.render:
        raise InputError("--render draws one person; several people (--people) are keypoints only for now")
    out = Path(args.out)
    if args.trials is not None:
        return _write_session(args, out, faults)
    check_output_folder(out)

    from core.synth.sequence import make_synthetic_sequence

    start = time.perf_counter()
    try:
        make_synthetic_sequence(
            out, views=args.views, frames=args.frames, seed=args.seed, render=args.render, fps=args.fps,
            noise_px=args.noise, known_intrinsics=args.known_intrinsics, image_size=args.image_size, progress=args.render,
            people=args.people,
            faults=faults, rig_ranges=args.rigs,
            time_offsets=args.time_offsets, distortions=distortion, known_offsets=args.known_offsets,
        )  # fmt: skip
    except OSError as exc:  # unwritable folder, full disk: the user's to fix, not a bug
        raise InputError(f"cannot write the sequence: {exc.strerror or exc}", exc.filename or out) from None
    who = f", {args.people} people" if args.people > 1 else ""
    print(f"wrote {out} ({args.views} views x {args.frames} frames{who}, seed {args.seed}) in {time.perf_counter() - start:.1f} s")
    return 0


def _write_session(args: argparse.Namespace, out, faults) -> int:
    from core.synth.session import generate_session, write_session

    start = time.perf_counter()
    sequences = generate_session(args.trials, args.views, args.frames, args.seed, args.fps, args.noise, faults,
                                 args.image_size, keep_vertices=args.render)
    try:
        write_session(sequences, out, render=args.render, known_intrinsics=args.known_intrinsics)
    except OSError as exc:
        raise InputError(f"cannot write the session: {exc.strerror or exc}", exc.filename or out) from None
    print(f"wrote {out} ({args.trials} trials of {args.views} views x {args.frames} frames, one rig, seed {args.seed}) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0

"""``cmanet detect SEQ``: 2D keypoints (MediaPipe Pose -> COCO-17) for every frame and view."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DESCRIPTION = """\
Detect the person's 2D keypoints (17 COCO joints: x, y in pixels and a confidence) in every
frame of every camera of the sequence folder SEQ, with MediaPipe Pose.

The result is cached in DIR/detections.npz (default: a folder per sequence under
$CMANET_CACHE_DIR/detections, ~/.cache/cmanet/detections when unset) and reused by later runs
(and by `cmanet fit`) until an input file changes. The input folder is never written. A sequence
that brings its own keypoints.npz needs no detection: those keypoints are used as they are.
"""

EPILOG = """\
examples:
  cmanet detect recordings/jump               detect (or reuse the cache), print a summary
  cmanet detect recordings/jump --out work    keep the detections in work/detections.npz
  cmanet detect recordings/jump --force       detect again even if the cache is up to date
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="detect 2D keypoints in every frame and view (cached)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sequence", metavar="SEQ", type=Path,
                        help="sequence folder: one video or image folder per camera, optional sequence.yaml")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="folder for detections.npz (created if needed; must be outside SEQ)")
    parser.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1,
                        help="MediaPipe Pose model: 0 lite (fastest), 1 full (default), 2 heavy (most accurate); "
                             "0 and 2 are downloaded by MediaPipe on first use")
    parser.add_argument("--force", action="store_true", help="ignore the cache and detect again")
    parser.set_defaults(run=run)


def summary(keypoints2d: np.ndarray) -> str:
    """One line: frames, views, mean confidence, share of joints above 0.5 confidence."""
    conf = keypoints2d[..., 2]
    frames, views = keypoints2d.shape[:2]
    missed = int((conf.max(-1) == 0).sum())
    text = (f"{frames} frames x {views} views: mean confidence {conf.mean():.2f}, "
            f"{100 * (conf > 0.5).mean():.1f}% of joints above 0.5")
    if missed:
        text += f", no person in {missed} of {frames * views} images"
    return text


def run(args: argparse.Namespace) -> int:
    # Imported here so that `cmanet --help` does not load OpenCV and MediaPipe.
    from core.detect import DETECTIONS_NPZ, default_cache_dir, detect_sequence
    from core.io.sequence import MultiViewSequence

    with MultiViewSequence.open(args.sequence) as seq:
        cache_dir = args.out if args.out is not None else default_cache_dir(seq.root)
        keypoints2d = detect_sequence(seq, cache_dir, model_complexity=args.model_complexity, force=args.force)
        if seq.given_keypoints is not None:
            print(f"keypoints given in {seq.root / 'keypoints.npz'} (no detection needed)")
        else:
            print(f"detections: {Path(cache_dir).expanduser().resolve() / DETECTIONS_NPZ}")
        print(summary(keypoints2d))
    return 0

"""``cmanet detect SEQ``: 2D keypoints (MediaPipe Pose -> COCO-17) for every frame and view."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DESCRIPTION = """\
Detect every person's 2D keypoints (17 COCO joints: x, y in pixels and a confidence) in every
frame of every camera of the sequence folder SEQ, with MediaPipe Pose, and tell who is who
across views and frames (the main person, seen longest and most centrally, is the one
`cmanet fit` follows).

Detections are cached frame by frame in the user cache ($CMANET_CACHE_DIR/detections,
~/.cache/cmanet/detections when unset), keyed by the content of the videos or images: a moved
sequence keeps them, a changed video is detected again, and an interrupted detection continues
where it stopped. `cmanet fit` and the app use the same cache. The input folder is never
written. A sequence that brings its own keypoints.npz needs no detection.
"""

EPILOG = """\
examples:
  cmanet detect recordings/jump               detect (or reuse the cache), print a summary
  cmanet detect recordings/jump --out work    also write every person's detections to work/detections.npz
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
                        help="also write DIR/detections.npz: every person (keypoints2d (F,V,P,17,3), boxes, "
                             "scores, per-view tracks, person) and the main person's keypoints (created if "
                             "needed; must be outside SEQ)")
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


def people_summary(scene) -> str:
    """Who was found: people seen in two views or more, and the main person's gaps per view."""
    if scene.num_people == 0:
        return "nobody is seen by two views"
    seen = (scene.slot_of(0) >= 0)
    gaps = ", ".join(f"{int((~seen[:, v]).sum())}" for v in range(seen.shape[1]))
    return (f"{scene.num_people} {'person' if scene.num_people == 1 else 'people'} seen by two views or more; "
            f"the main person is missing in (frames per view) {gaps}")


def export_detections(path: Path, scene, view_names: list[str]) -> Path:
    """``detections.npz``: every person of every image and who is who (see ``--out``)."""
    from core.io.atomic import atomic_write_npz
    from core.keypoints import COCO17_NAMES

    present = scene.tracks >= 0
    return atomic_write_npz(
        path, keypoints2d=scene.keypoints, present=present, tracks=scene.tracks, person=scene.person,
        main_keypoints2d=scene.keypoints_of(0) if scene.num_people else np.zeros(scene.keypoints.shape[:2] + (17, 3), np.float32),
        view_names=np.array(view_names), keypoint_names=np.array(COCO17_NAMES),
    )


def run(args: argparse.Namespace) -> int:
    # Imported here so that `cmanet --help` does not load OpenCV and MediaPipe.
    from core.io.folders import check_outside_inputs
    from core.io.sequence import MultiViewSequence
    from core.people import sequence_scene

    with MultiViewSequence.open(args.sequence) as seq:
        out = check_outside_inputs(args.out, seq.root, what="the --out folder") if args.out is not None else None
        scene = sequence_scene(seq, model_complexity=args.model_complexity, force=args.force)
        if seq.given_keypoints is not None:
            print(f"keypoints given in {seq.root / 'keypoints.npz'} (no detection needed)")
        if out is not None:
            print(f"detections: {export_detections(out / 'detections.npz', scene, seq.view_names)}")
        print(people_summary(scene))
        print(summary(scene.keypoints_of(0) if scene.num_people else np.zeros(scene.keypoints.shape[:2] + (17, 3))))
    return 0

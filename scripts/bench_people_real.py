"""People on the real recordings of ``cmanet bench real`` (pose2sim demos, calibration as the
reference only).

* walk: the bystander is never chosen: the main person's IEV reprojection error with every
  detection, against a run where every detection that is not the participant is removed first
  (the participant: the detections that agree with the calibrated triangulation of the main
  person's, within 40 px median).
* multi: ``--people 2``: both people fitted in one rig; per person, how many of their detections
  agree with the calibrated triangulation of their own detections (consistent across views and
  frames), and their reprojection errors.

    .venv/bin/python scripts/bench_people_real.py [--json OUT]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.bench.real import TRIALS, prepare_trial  # noqa: E402
from core.detect.sequence import SequencePeople, detect_people  # noqa: E402
from core.fit.config import load_fit_config  # noqa: E402
from core.fit.modes import default_mode  # noqa: E402
from core.fit.people import add_people  # noqa: E402
from core.fit.sequence import camera_intrinsics, fit_result, FitInputs  # noqa: E402
from core.geometry.distortion import undistort_pixels  # noqa: E402
from core.geometry.triangulation import triangulate_robust  # noqa: E402
from core.io import MultiViewSequence  # noqa: E402
from core.io.calibration import read_qca  # noqa: E402
from core.nets.checkpoint import DEFAULT_MODEL, installed_model, load_model  # noqa: E402
from core.people import scene_from_people  # noqa: E402

AGREE_PX = 40.0


def calibrated_error(keypoints: np.ndarray, candidates: np.ndarray, calibration) -> np.ndarray:
    """(F, V, P) median pixel distance of each candidate detection (F, V, P, 17, 3) from the
    calibrated, robust triangulation of ``keypoints`` (F, V, 17, 3); inf where not comparable."""
    frames, views = keypoints.shape[:2]
    projections = np.stack([c.projection_matrix for c in calibration.cameras])

    def undistort(points, v):
        cam = calibration.cameras[v]
        return undistort_pixels(points, cam.matrix, cam.distortions)

    und = keypoints.astype(np.float64).copy()
    for v in range(views):
        und[:, v, :, :2] = undistort(keypoints[:, v, :, :2], v)
    flat = und.transpose(0, 2, 1, 3).reshape(-1, views, 3)
    points, _ = triangulate_robust(projections, flat[..., :2], flat[..., 2], threshold=0.5, max_error_px=30.0)
    points = points.reshape(frames, 17, 3)
    out = np.full(candidates.shape[:3], np.inf)
    for v in range(views):
        homogeneous = np.concatenate([points, np.ones((frames, 17, 1))], axis=-1) @ projections[v].T
        projected = homogeneous[..., :2] / homogeneous[..., 2:]
        for p in range(candidates.shape[2]):
            detection = candidates[:, v, p]
            distance = np.linalg.norm(projected - undistort(detection[..., :2], v), axis=-1)
            usable = (detection[..., 2] > 0.5) & np.isfinite(distance)
            with np.errstate(all="ignore"):
                median = np.array([np.median(distance[f][usable[f]]) if usable[f].sum() >= 4 else np.inf
                                   for f in range(frames)])
            out[:, v, p] = median
    return out


def load(trial: str):
    seq_dir, calib_path = prepare_trial(TRIALS[trial])
    with MultiViewSequence.open(seq_dir) as seq:
        people = detect_people(seq, show_progress_bar=False)
        focal, principal = camera_intrinsics(seq.image_sizes)
        base = FitInputs(np.zeros(0), focal, principal, np.asarray(seq.image_sizes), list(seq.view_names),
                         np.asarray(seq.frame_indices), float(seq.fps))
        calibration = read_qca(calib_path).by_name(seq.view_names)
    return people, base, calibration


def fit_main(people: SequencePeople, base: FitInputs, config, mode, model):
    scene = scene_from_people(people, base.image_sizes)
    inputs = dataclasses.replace(base, keypoints2d=scene.keypoints_of(0), scene=scene)
    result, _ = fit_result(inputs, config, mode=mode, model=model)
    return result, inputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = load_fit_config()
    mode = default_mode(installed_model())
    model = None if mode == "optimize" else load_model(DEFAULT_MODEL, config.device)
    report = {"mode": mode}

    # walk: with and without the detections that are not the participant.
    people, base, calibration = load("walk")
    result, inputs = fit_main(people, base, config, mode, model)
    error = calibrated_error(inputs.keypoints2d, people.keypoints, calibration)
    participant = people.present & (error <= AGREE_PX)
    others = int((people.present & ~participant).sum())
    alone = SequencePeople.from_keypoints(np.where(participant[..., None, None], people.keypoints, 0.0))
    result_alone, _ = fit_main(alone, base, config, mode, model)
    full, clean = float(np.nanmean(result.iev_reproj_px)), float(np.nanmean(result_alone.iev_reproj_px))
    main_is_participant = float((error <= AGREE_PX)[inputs.scene.person == 0].mean())
    report["walk"] = {"detections_not_participant": others, "main_detections_on_participant": round(main_is_participant, 3),
                      "iev_reproj_px": round(full, 2), "iev_reproj_px_without_others": round(clean, 2),
                      "ratio": round(full / clean, 4)}
    print(f"walk: {others} detections are not the participant; the main person's are the participant's in "
          f"{100 * main_is_participant:.1f} %; IEV reprojection {full:.2f} px, without the others {clean:.2f} px "
          f"(x{full / clean:.3f})", flush=True)

    # multi: two people in one rig.
    people, base, calibration = load("multi")
    result, inputs = fit_main(people, base, config, mode, model)
    result = add_people(result, inputs, config, people=2, mode=mode, model=model)
    rows = []
    for k in range(result.num_people):
        own = inputs.scene.keypoints_of(k)
        seen = own[..., 2].max(-1) > 0
        err = calibrated_error(own, own[:, :, None], calibration)[..., 0]
        agree = float((err[seen] <= AGREE_PX).mean())
        rows.append({"person": k, "images": int(seen.sum()), "agree_with_calibration": round(agree, 3),
                     "iev_reproj_px": round(float(np.nanmean(result.people_iev_reproj_px[k])), 2)})
        print(f"multi person {k}: seen in {int(seen.sum())} images, {100 * agree:.1f} % agree with the calibrated "
              f"triangulation, IEV reprojection {rows[-1]['iev_reproj_px']} px", flush=True)
    report["multi"] = rows
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

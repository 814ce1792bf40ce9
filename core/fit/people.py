"""Several people in one rig: the main person's fit, then everybody else with that rig held fixed.

The main person (:class:`core.people.Scene` person 0) is fitted as any sequence is; the rig it
gives (rotations, translations and focal lengths, in its world) is then known, and every other
person seen in at least two views is fitted against the same cameras, so all of them share one
world. What the result gets: ``person_track`` always; ``people_*`` with ``people`` > 1.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from core.fit.config import FitConfig
from core.fit.inputs import KnownExtrinsics
from core.fit.sequence import fit_result
from core.io.results import FitResult

log = logging.getLogger(__name__)


def fittable_people(scene, limit: int | None) -> list[int]:
    """The people of ``scene`` to fit, main person first (the scene keeps only people seen by two
    views at once), at most ``limit`` of them (None: all)."""
    chosen = list(range(scene.num_people))
    return chosen if limit is None else chosen[:limit]


def fixed_rig_inputs(inputs, result: FitResult, keypoints2d: np.ndarray):
    """``inputs`` for another person: their detections, and the main fit's rig as known cameras."""
    views = result.num_views
    extrinsics = KnownExtrinsics(rotation=np.asarray(result.cam_R[0], np.float32), translation=np.asarray(result.cam_t[0], np.float32),
                            known=np.ones(views, dtype=bool))
    return dataclasses.replace(inputs, keypoints2d=keypoints2d, focal=np.asarray(result.cam_f[0], np.float32),
                               principal=np.asarray(result.cam_c[0], np.float32),
                               focal_known=np.ones(views, dtype=bool), extrinsics=extrinsics)


def add_people(result: FitResult, inputs, config: FitConfig, people: int | None = 1, timings: dict | None = None,
               prepare: Callable[[np.ndarray], np.ndarray] | None = None, **fit_options) -> FitResult:
    """``result`` (the main person's fit of ``inputs``) with ``person_track`` and, for ``people``
    > 1 (None: all), the ``people_*`` keys of every fitted person (main first). ``prepare`` makes
    another person's (F, V, 17, 3) detections what the main person's were fitted as (timeline,
    lens distortion: :func:`core.fit.capture.as_fitted`). ``fit_options`` go to
    :func:`core.fit.sequence.fit_keypoints` (mode, model, progress, ...)."""
    scene = inputs.scene
    if scene is None or scene.num_people == 0:
        return result
    result = dataclasses.replace(result, person_track=scene.track_of(0).astype(np.int64))
    chosen = fittable_people(scene, people)
    if people == 1 or len(chosen) < 2:
        if people != 1:
            log.warning("only one person is seen by two views: fitting the main person alone")
        return result
    fits = [result]
    for k in chosen[1:]:
        log.info("fitting person %d of %d in the main person's rig", k + 1, len(chosen))
        keypoints = scene.keypoints_of(k) if prepare is None else prepare(scene.keypoints_of(k))
        other, other_timings = fit_result(fixed_rig_inputs(inputs, result, keypoints), config, **fit_options)
        if timings is not None:
            for key in ("irv_s", "iev_s"):
                timings[key] = timings.get(key, 0.0) + other_timings.get(key, 0.0)
        fits.append(other)

    def stack(key):
        return np.stack([np.asarray(getattr(f, key)) for f in fits])

    return dataclasses.replace(
        result,
        people_joints3d=stack("joints3d"), people_global_orient=stack("global_orient"), people_transl=stack("transl"),
        people_body_pose=stack("body_pose"), people_shape=stack("shape"), people_keypoints2d=stack("keypoints2d"),
        people_iev_reproj_px=stack("iev_reproj_px"),
        people_track=np.stack([scene.track_of(k) for k in chosen]).astype(np.int64),
    )


def person_summary(result: FitResult) -> dict:
    """``summary.json``'s ``person``: per view, the track ids of the fitted (main) person's
    detections and the frames that view does not see them; ``people`` the same for each fitted
    person when there are several."""
    def one(track: np.ndarray) -> dict:
        return {
            str(name): {"tracks": sorted({int(t) for t in track[:, v] if t >= 0}),
                        "missing_frames": int((track[:, v] < 0).sum())}
            for v, name in enumerate(result.view_names)
        }

    if result.person_track is None:
        return {}
    summary = {"index": 0, "views": one(result.person_track)}
    if result.people_track is not None:
        summary["people"] = [{"index": p, "views": one(track)} for p, track in enumerate(result.people_track)]
    return summary

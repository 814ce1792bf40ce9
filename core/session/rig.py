"""One rig for a session, estimated from its trials' own fits.

Every trial fitted alone proposes a rig (its cameras, in its own world). The session's rig:

1. **Start**: the proposal that explains the whole session best. Each proposal triangulates every
   trial's detections (:func:`core.geometry.bundle.explained`: the capped distance of each
   confident detection from the point the agreeing views give); its errors are divided by the
   best proposal's on each trial, so that every trial counts alike, and averaged.
2. **Which trials refine it**: a trial joins when the start explains nearly as large a share of
   its confident detections as it does of the best trial's (``min_explained``). A trial where
   the views often see different people (two people, and each view following its own) or mixed
   sides holds points that no rig explains, and some that a wrong rig would: it stays out.
   Measured (Pose2Sim's Demo_Batch, people-aware detection): the walking trial 99.5 % explained,
   the two-person trial 95.5 % (it joins); synthetic trials 98-99 %.
3. **Joint rig**: the start bundle-adjusted on all the trials that joined at once, in the start's
   world (its floor), scaled to the median of the joined trials' own scales (each made its person
   of ordinary height). Measured (docs/bench/session.txt, default mode): 8 synthetic 30-frame
   trials, own rigs 2.14-7.23 deg, joint rig 0.98 deg; Demo_Batch: the walking trial's own rig
   1.16 deg, the two-person trial's 2.43 deg, the joint rig 0.93 deg.

The report keeps every figure: each trial's own reprojection error, how well each proposal
explains each trial, which trials joined, and how well the joint rig explains each trial.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.geometry.bundle import (
    Explained,
    PinholeRig,
    bundle_adjust,
    centre_spread,
    explained,
)
from core.io.results import FitResult
from core.session.config import SessionRigConfig

log = logging.getLogger(__name__)


@dataclass
class TrialProposal:
    """A trial fitted alone: its (F, V, 17, 3) detections (in the session's view order), its own
    rig and the mean reprojection error of its own fit (pixels)."""

    name: str
    keypoints2d: np.ndarray
    rig: PinholeRig
    reprojection_px: float


def proposal_from_result(name: str, result: FitResult, view_names: list[str],
                         keypoints2d: np.ndarray | None = None) -> TrialProposal:
    """A trial's proposal from its own static-rig result and its (F, V, 17, 3) detections in the
    result's view order (default: the result's, which its fit's left/right checks may have
    swapped: on the real walking trial the rig refined on the detections as detected is 0.98 deg
    off, on the checked ones 1.27), its views put in ``view_names``' order; InputError when its
    cameras are not the session's."""
    own = [str(v) for v in result.view_names]
    if sorted(own) != sorted(view_names):
        raise InputError(f"trial {name}: its cameras ({', '.join(own)}) are not the session's ({', '.join(view_names)})")
    order = [own.index(v) for v in view_names]
    rig = PinholeRig(result.cam_R[0, order].astype(np.float64), result.cam_t[0, order].astype(np.float64),
                     result.cam_f[0, order].astype(np.float64), result.cam_c[0, order].astype(np.float64))
    keypoints = result.keypoints2d if keypoints2d is None else keypoints2d
    return TrialProposal(name, np.asarray(keypoints)[:, order].astype(np.float64), rig,
                         float(np.nanmean(result.iev_reproj_px)))


@dataclass
class SessionRig:
    """The session's rig and how it was found (``report``: JSON-ready)."""

    rig: PinholeRig
    start: str
    joined: list[str]
    report: dict


def _pixels(config: SessionRigConfig, image_sizes: np.ndarray) -> tuple[float, float]:
    """(max_error_px, robust_px) for the session's images."""
    longer = float(np.median(np.max(np.asarray(image_sizes), axis=1)))
    return config.max_error * longer, config.robust * longer


def estimate_session_rig(proposals: list[TrialProposal], image_sizes: np.ndarray, config: SessionRigConfig) -> SessionRig:
    """The joint rig of a session from its trials' own fits (see the module doc)."""
    if not proposals:
        raise InputError("no trial could be fitted alone: there is no rig to start from")
    max_error, robust = _pixels(config, image_sizes)

    def check(rig: PinholeRig, trial: TrialProposal) -> Explained:
        return explained(rig.projections, trial.keypoints2d, config.confidence_threshold, max_error, config.min_views)

    checks = [[check(p.rig, t) for t in proposals] for p in proposals]  # proposal x trial
    errors = np.array([[c.error_px for c in row] for row in checks])
    best_per_trial = np.nanmin(errors, axis=0)
    relative = errors / np.where(best_per_trial > 0, best_per_trial, 1.0)
    start_index = int(np.nanargmin(np.nanmean(relative, axis=1)))
    start = proposals[start_index]
    fractions = np.array([c.fraction for c in checks[start_index]])
    joins = fractions >= config.min_explained * fractions.max()
    joined = [p.name for p, j in zip(proposals, joins) if j]
    log.info("session rig: starting from %s's own rig (it explains the session %.2fx as well as the best rig per "
             "trial); refined on %s", start.name, float(np.nanmean(relative[start_index])), ", ".join(joined))
    rotation, translation, focal = bundle_adjust(
        start.rig.rotation, start.rig.translation, start.rig.focal, start.rig.principal,
        [p.keypoints2d for p, j in zip(proposals, joins) if j], config.confidence_threshold, max_error, robust,
        config.estimate_focal, config.focal_sigma, config.min_views)
    # Each trial's own fit made its person of ordinary height; the median of their scales is the
    # session's (the start's alone would make every other person as tall as its own).
    spreads = [centre_spread(p.rig.rotation, p.rig.translation) for p, j in zip(proposals, joins) if j]
    scale = float(np.median(spreads)) / centre_spread(rotation, translation)
    rig = PinholeRig(rotation, translation * scale, focal, start.rig.principal)
    trials = {}
    for i, trial in enumerate(proposals):
        final = check(rig, trial)
        trials[trial.name] = {
            "own_reprojection_px": round(trial.reprojection_px, 2),
            "own_rig_explains_px": {t.name: round(float(errors[i, j]), 2) for j, t in enumerate(proposals)},
            "start_explains_fraction": round(float(fractions[i]), 3),
            "joined": bool(joins[i]),
            "session_rig_explains_px": round(final.error_px, 2),
            "session_rig_explains_fraction": round(final.fraction, 3),
        }
    report = {"start": start.name, "joined": joined, "scale_from_start": round(scale, 4),
              "max_error_px": round(max_error, 2), "robust_px": round(robust, 2), "trials": trials}
    return SessionRig(rig, start.name, joined, report)

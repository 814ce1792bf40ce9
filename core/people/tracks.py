"""Tracks within one view: the same person from frame to frame, by the distance of their joints.

A track is cut rather than guessed: a detection joins a track only when its joints lie close to
the track's last ones (relative to the person's size), so two people who cross may end in short
tracks, which the views' geometry then puts together again (:mod:`core.people.association`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

CONF = 0.3
# A detection continues a track when the median distance of their common confident joints is at
# most this fraction of the person's size (per frame elapsed since the track was last seen).
MAX_STEP = 0.25
# A track not seen for more than this many frames ends.
MAX_GAP = 5


def body_size(keypoints: np.ndarray, conf: float = CONF) -> np.ndarray:
    """(...,) diagonal of the box around the confident joints of (..., 17, 3); 0 with < 2 joints."""
    mask = keypoints[..., 2] > conf
    big = np.where(mask[..., None], keypoints[..., :2], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: people without joints
        extent = np.nanmax(big, axis=-2) - np.nanmin(big, axis=-2)
    size = np.linalg.norm(np.nan_to_num(extent), axis=-1)
    return np.where(mask.sum(-1) >= 2, size, 0.0)


def pose_distance(a: np.ndarray, b: np.ndarray, conf: float = CONF) -> np.ndarray:
    """(A, B) median pixel distance between the common confident joints of (A, 17, 3) and
    (B, 17, 3) keypoints, relative to the larger body; inf with fewer than 3 common joints."""
    both = (a[:, None, :, 2] > conf) & (b[None, :, :, 2] > conf)
    dist = np.linalg.norm(a[:, None, :, :2] - b[None, :, :, :2], axis=-1)
    dist = np.where(both, dist, np.nan)
    enough = both.sum(-1) >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.where(enough[..., None], dist, 0.0), axis=-1)
    size = np.maximum(body_size(a)[:, None], body_size(b)[None, :])
    return np.where(enough & (size > 0), median / np.maximum(size, 1.0), np.inf)


def link_tracks(keypoints: np.ndarray, present: np.ndarray, max_step: float = MAX_STEP,
                max_gap: int = MAX_GAP) -> np.ndarray:
    """Track ids of the people of one view.

    Args:
        keypoints: (F, P, 17, 3) the people of each frame (any order).
        present: (F, P) which slots hold a person.

    Returns:
        (F, P) int64 track ids, 0, 1, ... in order of appearance; -1 for empty slots.
    """
    frames, slots = present.shape
    ids = np.full((frames, slots), -1, dtype=np.int64)
    last: dict[int, tuple[int, np.ndarray]] = {}  # track -> (frame last seen, keypoints (17, 3))
    next_id = 0
    for f in range(frames):
        here = np.flatnonzero(present[f])
        alive = [t for t, (seen, _) in last.items() if f - seen <= max_gap]
        if here.size and alive:
            cost = pose_distance(np.stack([last[t][1] for t in alive]), keypoints[f, here])
            gaps = np.array([f - last[t][0] for t in alive], dtype=np.float64)[:, None]
            allowed = cost <= max_step * gaps
            rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6))
            for r, c in zip(rows, cols):
                if allowed[r, c]:
                    ids[f, here[c]] = alive[r]
        for slot in here:
            if ids[f, slot] < 0:
                ids[f, slot] = next_id
                next_id += 1
            last[int(ids[f, slot])] = (f, keypoints[f, slot])
    return ids

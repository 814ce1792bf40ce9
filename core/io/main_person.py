"""Which of several detected people is the one to fit: the most confident person, followed over
time.

A small, replaceable policy: the people-association work (several people, matched across views)
will supersede it. Each view is handled on its own: detections are linked frame to frame into
tracks (nearest pose, relative to the person's size), and the track with the highest summed
confidence is the main person. A bystander seen briefly, or a detector's spurious extra person,
does not take over a frame where the main person is detected less confidently.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.keypoints import NUM_KEYPOINTS

VISIBLE = 0.1  # joints at or below this confidence do not place a person
MAX_JUMP = 0.5  # a person moves at most this fraction of their size between linked frames
MAX_GAP = 10  # frames a track may go undetected and still be continued


def _size(pose: np.ndarray) -> float:
    """The diagonal of the visible joints' bounding box (pixels); 0 when fewer than two are seen."""
    seen = pose[pose[:, 2] > VISIBLE, :2]
    return float(np.linalg.norm(seen.max(0) - seen.min(0))) if len(seen) >= 2 else 0.0


def _distance(track_pose: np.ndarray, pose: np.ndarray) -> float:
    """Mean distance of the joints both poses show, over the track's size (inf when not comparable)."""
    both = (track_pose[:, 2] > VISIBLE) & (pose[:, 2] > VISIBLE)
    size = _size(track_pose)
    if both.sum() < 3 or size <= 0:
        return np.inf
    return float(np.linalg.norm(track_pose[both, :2] - pose[both, :2], axis=1).mean() / size)


def person_tracks(frames: list[np.ndarray]) -> list[dict[int, int]]:
    """Link the people of consecutive frames: ``frames[f]`` is (P_f, K, 3); returns tracks as
    ``{frame: person index}``."""
    tracks: list[dict[int, int]] = []
    last: list[tuple[int, np.ndarray]] = []  # per track: (frame, pose) where it was last seen
    for f, people in enumerate(frames):
        live = [t for t, (seen, _) in enumerate(last) if f - seen <= MAX_GAP]
        cost = np.array([[_distance(last[t][1], p) for p in people] for t in live]).reshape(len(live), len(people))
        matched: set[int] = set()
        if cost.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
            for r, c in zip(rows, cols):
                if cost[r, c] <= MAX_JUMP:
                    tracks[live[r]][f] = int(c)
                    last[live[r]] = (f, people[c])
                    matched.add(int(c))
        for c, person in enumerate(people):
            if c not in matched and _size(person) > 0:
                tracks.append({f: c})
                last.append((f, person))
    return tracks


def main_person(frames: list[np.ndarray]) -> np.ndarray:
    """(F, K, 3) the main person of one view: ``frames[f]`` holds the (P_f, K, 3) people detected in
    frame f (x, y, confidence); zeros where that person is not detected."""
    count = next((p.shape[1] for p in frames if len(p)), NUM_KEYPOINTS)
    out = np.zeros((len(frames), count, 3), dtype=np.float32)
    tracks = person_tracks(frames)
    if not tracks:
        return out

    def confidence(track: dict[int, int]) -> float:
        return float(sum(np.clip(frames[f][c][:, 2], 0, 1).sum() for f, c in track.items()))

    best = max(tracks, key=confidence)
    for f, c in best.items():
        out[f] = frames[f][c]
    return out

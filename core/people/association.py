"""Who is who: the people of every view and frame put together by the rig's geometry.

1. Within each view, detections become tracks (:mod:`core.people.tracks`).
2. For each pair of views, the rig's fundamental matrix is fitted to people's joints: every
   hypothesis (a track of one view seen as a track of the other) gives a matrix, and the one that
   makes the most people agree in the most frames at once wins (one static rig explains everybody;
   a wrong pairing explains one person at best). It is then refitted on all the agreeing pairs.
3. Tracks of different views that agree with the rig in most of their common frames are the same
   person; they are merged (closest agreement first) unless that would put two tracks of one view
   at the same time into one person.
4. Each person's detections are checked frame by frame against their other views: a view that
   disagrees is dropped for that frame; people who are never seen by one view at the same time and
   agree with each other's views are merged; then, frame by frame and view by view, each person
   gets the detection that agrees best with their other views (a track that jumped to someone
   else, or to a double detection, is mended).

The result, :class:`Scene`, numbers the people seen in at least two views, the main person (seen
longest and most centrally) first.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.people.epipolar import fit_fundamental, pose_epipolar_distance
from core.people.tracks import link_tracks

log = logging.getLogger(__name__)

# Epipolar agreement threshold as a fraction of the image diagonal (mean of the two views').
AGREE_FRACTION = 0.012
# Joints used for the rig's geometry.
GEOMETRY_CONF = 0.5
# A pair of tracks is one person when they agree in at least this share of their common frames
# (and in at least MIN_AGREE frames).
TRACK_AGREE_SHARE = 0.6
MIN_AGREE = 3
# A rig fit is trusted when at least this share of the correspondences it was fitted on agree.
MIN_INLIER_SHARE = 0.5
# Two tracks of one view may be one person if they share at most this many frames (or share).
MAX_SHARED_FRAMES = 2
MAX_SHARED_SHARE = 0.1
# Preference (in units of the agreement threshold) for the detection of the track a person had in
# the previous frame.
CONTINUITY_BONUS = 0.3
# Hypotheses tried per view pair, from the MAX_TRACKS longest tracks of each view.
MAX_HYPOTHESES = 40
MAX_TRACKS = 3


@dataclass
class Scene:
    """The people of a sequence (F frames, V views, P detection slots per image, N people).

    keypoints: (F, V, P, 17, 3) every detection (x, y pixels, confidence; zeros in empty slots).
    tracks: (F, V, P) int per-view track id of each detection (-1: empty slot).
    person: (F, V, P) int which person each detection is (-1: nobody, or someone not seen by two
        views at once in at least MIN_AGREE frames). People are numbered 0..N-1, the main person
        0, then by how long and how centrally they are seen.
    fundamental: (V, V, 3, 3) the rig's fundamental matrices (view a -> view b lines; NaN where
        no trusted fit).
    """

    keypoints: np.ndarray
    tracks: np.ndarray
    person: np.ndarray
    fundamental: np.ndarray

    @property
    def num_people(self) -> int:
        return int(self.person.max()) + 1 if self.person.size and self.person.max() >= 0 else 0

    def slot_of(self, person: int) -> np.ndarray:
        """(F, V) the detection slot of ``person`` in each image, -1 where they are not seen."""
        hit = self.person == person
        if hit.shape[-1] == 0:  # nobody detected in any image: no slots at all
            return np.full(hit.shape[:-1], -1)
        return np.where(hit.any(-1), hit.argmax(-1), -1)

    def track_of(self, person: int) -> np.ndarray:
        """(F, V) the per-view track id of ``person`` in each image, -1 where they are not seen."""
        slot = self.slot_of(person)
        if self.tracks.shape[-1] == 0:
            return slot
        tracks = np.take_along_axis(self.tracks, np.maximum(slot, 0)[..., None], axis=-1)[..., 0]
        return np.where(slot >= 0, tracks, -1)

    def keypoints_of(self, person: int) -> np.ndarray:
        """(F, V, 17, 3) ``person``'s detections; zeros (confidence 0) where they are not seen."""
        slot = self.slot_of(person)
        if self.keypoints.shape[2] == 0:
            return np.zeros((*slot.shape, *self.keypoints.shape[3:]), np.float32)
        picked = np.take_along_axis(self.keypoints, np.maximum(slot, 0)[..., None, None, None], axis=2)[:, :, 0]
        return np.where((slot >= 0)[..., None, None], picked, 0.0).astype(np.float32)

    def views_of(self, person: int) -> np.ndarray:
        """(V,) bool: the views that see ``person`` at least once."""
        return (self.slot_of(person) >= 0).any(0)


def _diagonal(image_sizes: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(image_sizes, dtype=np.float64), axis=-1)


def _correspondences(keypoints: np.ndarray, pairs: list[tuple[int, int, int]], a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Confident joints of detection pairs ``(frame, slot in a, slot in b)``: (N, 2) and (N, 2)."""
    if not pairs:
        return np.zeros((0, 2)), np.zeros((0, 2))
    f, sa, sb = (np.array(x) for x in zip(*pairs))
    ka, kb = keypoints[f, a, sa], keypoints[f, b, sb]  # (M, 17, 3)
    both = (ka[..., 2] > GEOMETRY_CONF) & (kb[..., 2] > GEOMETRY_CONF)
    return ka[both][:, :2].astype(np.float64), kb[both][:, :2].astype(np.float64)


def _frame_costs(matrix: np.ndarray, keypoints: np.ndarray, present: np.ndarray, a: int, b: int) -> np.ndarray:
    """(F, P, P) median epipolar distance between every detection of view a and of view b."""
    ka, kb = keypoints[:, a][:, :, None], keypoints[:, b][:, None, :]
    cost = pose_epipolar_distance(matrix, ka, kb, conf=GEOMETRY_CONF)
    return np.where(present[:, a][:, :, None] & present[:, b][:, None, :], cost, np.inf)


def _matched_pairs(cost: np.ndarray, threshold: float) -> list[tuple[int, int, int]]:
    """Per frame, the one-to-one pairing of detections that agree: (frame, slot a, slot b)."""
    pairs = []
    for f in range(cost.shape[0]):
        finite = np.isfinite(cost[f])
        if not finite.any():
            continue
        rows, cols = linear_sum_assignment(np.where(finite, cost[f], 1e9))
        pairs += [(f, r, c) for r, c in zip(rows, cols) if cost[f, r, c] <= threshold]
    return pairs


def _hypotheses(common: dict[tuple[int, int], list], limit: int) -> list[list]:
    """Pairings of the longest tracks of two views to fit the rig to: every one-to-one matching of
    up to MAX_TRACKS of them (each person a pair, all together), fewest-pairs last."""
    long_a = sorted({ta for ta, _ in common}, key=lambda t: -sum(len(v) for (x, _), v in common.items() if x == t))
    long_b = sorted({tb for _, tb in common}, key=lambda t: -sum(len(v) for (_, y), v in common.items() if y == t))
    long_a, long_b = long_a[:MAX_TRACKS], long_b[:MAX_TRACKS]
    found = []
    for size in range(min(len(long_a), len(long_b)), 0, -1):
        for chosen_a in itertools.combinations(long_a, size):
            for chosen_b in itertools.permutations(long_b, size):
                pairs = [common.get((ta, tb), []) for ta, tb in zip(chosen_a, chosen_b)]
                if all(len(p) >= MIN_AGREE for p in pairs):
                    found.append([x for p in pairs for x in p])
    return found[:limit]


def pair_geometry(keypoints: np.ndarray, present: np.ndarray, tracks: np.ndarray, a: int, b: int,
                  threshold: float) -> np.ndarray | None:
    """The fundamental matrix of views a, b that the most people agree with (see module doc)."""
    frames = keypoints.shape[0]
    common: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for f in range(frames):
        for sa in np.flatnonzero(present[f, a]):
            for sb in np.flatnonzero(present[f, b]):
                common.setdefault((tracks[f, a, sa], tracks[f, b, sb]), []).append((f, sa, sb))
    best, best_score = None, 0
    for pairs in _hypotheses(common, MAX_HYPOTHESES):
        pa, pb = _correspondences(keypoints, pairs, a, b)
        matrix, inliers = fit_fundamental(pa, pb, threshold)
        if matrix is None or inliers.mean() < MIN_INLIER_SHARE:
            continue
        agreeing = _matched_pairs(_frame_costs(matrix, keypoints, present, a, b), threshold)
        score = len(_correspondences(keypoints, agreeing, a, b)[0])
        if score > best_score:
            best, best_score = (matrix, agreeing), score
    if best is None:
        return None
    matrix, agreeing = best
    pa, pb = _correspondences(keypoints, agreeing, a, b)
    refitted, inliers = fit_fundamental(pa, pb, threshold)
    return refitted if refitted is not None and inliers.mean() >= MIN_INLIER_SHARE else matrix


class _Clusters:
    """Union-find over tracks ``(view, track)`` that refuses merges putting two tracks of one view
    that share more than a few frames into one person (a track often starts a frame or two before
    the one it replaces ends: two detections of one person)."""

    def __init__(self, frames_of: dict[tuple[int, int], set[int]]):
        self.parent = {t: t for t in frames_of}
        self.members = {t: {t} for t in frames_of}
        self.frames_of = frames_of

    def find(self, t):
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def merge(self, s, t) -> bool:
        rs, rt = self.find(s), self.find(t)
        if rs == rt:
            return True
        for x in self.members[rs]:
            for y in self.members[rt]:
                if x[0] == y[0]:
                    shared = len(self.frames_of[x] & self.frames_of[y])
                    shorter = min(len(self.frames_of[x]), len(self.frames_of[y]))
                    if shared > max(MAX_SHARED_FRAMES, MAX_SHARED_SHARE * shorter):
                        return False
        self.parent[rt] = rs
        self.members[rs] |= self.members.pop(rt)
        return True


def centrality(boxes: np.ndarray, image_sizes: np.ndarray) -> np.ndarray:
    """(F, V, P) 1 at the image centre, 0 at a corner, for the centres of (F, V, P, 4) boxes."""
    size = np.asarray(image_sizes, dtype=np.float64)[None, :, None, :]
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    offset = np.linalg.norm((centre - size / 2) / (size / 2), axis=-1) / np.sqrt(2)
    return np.clip(1.0 - offset, 0.0, 1.0)


def associate(keypoints: np.ndarray, present: np.ndarray, boxes: np.ndarray, image_sizes: np.ndarray) -> Scene:
    """Put the people of a sequence together across views and frames (see the module doc).

    Args:
        keypoints: (F, V, P, 17, 3) every person of every image (see
            :class:`core.detect.sequence.SequencePeople`); present: (F, V, P) bool;
        boxes: (F, V, P, 4); image_sizes: (V, 2) width, height.
    """
    frames, views, slots = present.shape
    tracks = np.stack([link_tracks(keypoints[:, v], present[:, v]) for v in range(views)], axis=1)
    fundamental, costs, thresholds = _rig_geometry(keypoints, present, tracks, image_sizes)
    person = _people_from_tracks(tracks, present, costs, thresholds)
    # Each pair's geometry again, from every person the views agree on (a pair that sees one person
    # only can be fitted to the wrong pairing; the other views' agreement settles it).
    for (a, b) in list(costs):
        matrix = _refit_from_people(keypoints, person, a, b, thresholds[a, b])
        if matrix is not None:
            fundamental[a, b], fundamental[b, a] = matrix, matrix.T
            costs[a, b] = _frame_costs(matrix, keypoints, present, a, b)
    person = _check_frames(person, costs, thresholds)
    person = _merge_people(person, costs, thresholds)
    for _ in range(2):
        person = _reassign_frames(person, present, tracks, costs, thresholds)
        person = _check_frames(person, costs, thresholds)
    person = _number_people(person, boxes, image_sizes)
    if person.max(initial=-1) < 0 and present.any():
        log.warning("no person is seen consistently by two views; following each view's most central track")
        person = _best_tracks(tracks, present, boxes, image_sizes)
    return Scene(keypoints, tracks, person, fundamental)


def _rig_geometry(keypoints, present, tracks, image_sizes):
    """Per view pair (a < b) with a trusted fit: the fundamental matrix (V, V, 3, 3; NaN where
    none), the (F, P, P) epipolar costs of every pair of detections, and the agreement threshold."""
    views = present.shape[1]
    diagonal = _diagonal(image_sizes)
    fundamental = np.full((views, views, 3, 3), np.nan)
    costs: dict[tuple[int, int], np.ndarray] = {}
    thresholds: dict[tuple[int, int], float] = {}
    for a in range(views):
        for b in range(a + 1, views):
            threshold = AGREE_FRACTION * 0.5 * (diagonal[a] + diagonal[b])
            matrix = pair_geometry(keypoints, present, tracks, a, b, threshold)
            if matrix is None:
                log.info("views %d and %d: no rig geometry agreed on by the people seen in both", a, b)
                continue
            fundamental[a, b], fundamental[b, a] = matrix, matrix.T
            costs[a, b] = _frame_costs(matrix, keypoints, present, a, b)
            thresholds[a, b] = threshold
    return fundamental, costs, thresholds


def _people_from_tracks(tracks, present, costs, thresholds) -> np.ndarray:
    """(F, V, P) person of each detection: tracks of different views that agree in most of their
    common frames merged, closest agreement first (see _Clusters)."""
    frames_of: dict[tuple[int, int], set[int]] = {}
    for f, v, s in zip(*np.nonzero(present)):
        frames_of.setdefault((int(v), int(tracks[f, v, s])), set()).add(int(f))
    edges = []
    for (a, b), cost in costs.items():
        tally: dict[tuple[int, int], list[float]] = {}
        for f, sa, sb in zip(*np.nonzero(np.isfinite(cost))):
            tally.setdefault((int(tracks[f, a, sa]), int(tracks[f, b, sb])), []).append(cost[f, sa, sb] / thresholds[a, b])
        for (ta, tb), values in tally.items():
            values = np.array(values)
            yes = int((values <= 1.0).sum())
            if yes >= MIN_AGREE and yes >= TRACK_AGREE_SHARE * len(values):
                edges.append((float(np.median(values)), -yes, (a, ta), (b, tb)))
    clusters = _Clusters(frames_of)
    for _, _, s, t in sorted(edges, key=lambda e: (e[0], e[1])):
        clusters.merge(s, t)
    cluster_of = {t: clusters.find(t) for t in frames_of}
    roots = sorted(set(cluster_of.values()))
    person = np.full(tracks.shape, -1, dtype=np.int64)
    for f, v, s in zip(*np.nonzero(present)):
        person[f, v, s] = roots.index(cluster_of[(int(v), int(tracks[f, v, s]))])
    for f in range(tracks.shape[0]):  # tracks that overlap a little: one detection per view and person
        for k in np.unique(person[f][person[f] >= 0]):
            _keep_one_per_view(person, f, k, costs, thresholds)
    return person


def _refit_from_people(keypoints: np.ndarray, person: np.ndarray, a: int, b: int, threshold: float) -> np.ndarray | None:
    """The fundamental matrix of views a, b fitted to every person seen by both (None when too
    few joints or too few agree)."""
    pairs = []
    for f in range(person.shape[0]):
        for k in np.unique(person[f, a][person[f, a] >= 0]):
            in_b = np.flatnonzero(person[f, b] == k)
            if in_b.size:
                pairs.append((f, int(np.flatnonzero(person[f, a] == k)[0]), int(in_b[0])))
    pa, pb = _correspondences(keypoints, pairs, a, b)
    matrix, inliers = fit_fundamental(pa, pb, threshold)
    return matrix if matrix is not None and inliers.mean() >= MIN_INLIER_SHARE else None


def _pair_cost(costs, thresholds, f, v, sv, u, su) -> float:
    """Epipolar disagreement of detection (v, sv) with (u, su) at frame f, relative to the
    agreement threshold (<= 1 agrees); NaN without geometry for the pair."""
    key = (v, u) if v < u else (u, v)
    if key not in costs:
        return np.nan
    value = costs[key][f, sv, su] if v < u else costs[key][f, su, sv]
    return value / thresholds[key]


def _check_frames(person: np.ndarray, costs, thresholds) -> np.ndarray:
    """Drop, frame by frame, a person's detections that disagree with their other views: the view
    that disagrees most goes first, until the rest agree (two views that disagree both go)."""
    person = person.copy()
    frames, views, _ = person.shape
    for f in range(frames):
        for k in np.unique(person[f][person[f] >= 0]):
            _keep_one_per_view(person, f, k, costs, thresholds)
            seen = [(v, int(np.flatnonzero(person[f, v] == k)[0])) for v in range(views) if (person[f, v] == k).any()]
            while len(seen) >= 2:
                worst, worst_value = None, 1.0
                for i, (v, sv) in enumerate(seen):
                    values = [_pair_cost(costs, thresholds, f, v, sv, u, su) for u, su in seen if u != v]
                    values = [x for x in values if np.isfinite(x)]
                    value = float(np.median(values)) if values else 0.0
                    if value > worst_value:
                        worst, worst_value = i, value
                if worst is None:
                    break
                if len(seen) == 2:  # neither of two views that disagree can be trusted
                    for v, sv in seen:
                        person[f, v, sv] = -1
                    break
                v, sv = seen.pop(worst)
                person[f, v, sv] = -1
    return person


def _keep_one_per_view(person: np.ndarray, f: int, k: int, costs, thresholds) -> None:
    """Where person k has two detections in one view at frame f (two tracks that overlap), keep
    the one that agrees best with k's other views."""
    views = person.shape[1]
    for v in range(views):
        slots = np.flatnonzero(person[f, v] == k)
        if len(slots) < 2:
            continue
        others = [(u, int(np.flatnonzero(person[f, u] == k)[0])) for u in range(views)
                  if u != v and (person[f, u] == k).sum() == 1]
        def disagreement(s):
            values = [_pair_cost(costs, thresholds, f, v, s, u, su) for u, su in others]
            values = [x for x in values if np.isfinite(x)]
            return float(np.median(values)) if values else np.inf
        best = min(slots, key=disagreement)
        person[f, v, [s for s in slots if s != best]] = -1


def _merge_people(person: np.ndarray, costs, thresholds) -> np.ndarray:
    """Merge people that are one: seldom in one view at the same time (a double detection) and
    agreeing with each other's other views whenever both are seen (the pieces of a track that
    jumped to a double detection and back)."""
    person = person.copy()
    frames, views, _ = person.shape
    while True:
        ids = [int(k) for k in np.unique(person[person >= 0])]
        best = None
        for a_i, k in enumerate(ids):
            for j in ids[a_i + 1:]:
                in_k, in_j = (person == k).any(-1), (person == j).any(-1)  # (F, V)
                if (in_k & in_j).sum() > max(MAX_SHARED_FRAMES, MAX_SHARED_SHARE * min(in_k.sum(), in_j.sum())):
                    continue
                yes = seen = 0
                for f in np.flatnonzero(in_k.any(-1) & in_j.any(-1)):
                    for v in np.flatnonzero(in_k[f]):
                        sv = int(np.flatnonzero(person[f, v] == k)[0])
                        for u in np.flatnonzero(in_j[f]):
                            if u == v:
                                continue
                            su = int(np.flatnonzero(person[f, u] == j)[0])
                            value = _pair_cost(costs, thresholds, f, v, sv, u, su)
                            if np.isfinite(value):
                                seen += 1
                                yes += value <= 1.0
                if yes >= MIN_AGREE and yes >= TRACK_AGREE_SHARE * seen and (best is None or yes > best[0]):
                    best = (yes, k, j)
        if best is None:
            return person
        _, k, j = best
        person[person == j] = k
        for f in range(frames):
            _keep_one_per_view(person, f, k, costs, thresholds)


def _reassign_frames(person: np.ndarray, present: np.ndarray, tracks: np.ndarray, costs, thresholds) -> np.ndarray:
    """Frame by frame and view by view, give each person the detection that agrees best with
    their other views (ties go to the track they had in the previous frame); a detection that
    agrees with nobody's other views keeps its person only if that person has no other view."""
    person = person.copy()
    frames, views, _ = person.shape
    for f in range(frames):
        for v in range(views):
            slots = np.flatnonzero(present[f, v])
            ids = [int(k) for k in np.unique(person[f][person[f] >= 0])]
            if not len(slots) or not ids:
                continue
            cost = np.full((len(ids), len(slots)), np.inf)
            for i, k in enumerate(ids):
                others = [(u, int(np.flatnonzero(person[f, u] == k)[0])) for u in range(views)
                          if u != v and (person[f, u] == k).any()]
                before = tracks[f - 1, v][person[f - 1, v] == k] if f > 0 else []
                for j, s in enumerate(slots):
                    values = [_pair_cost(costs, thresholds, f, v, s, u, su) for u, su in others]
                    values = [x for x in values if np.isfinite(x)]
                    if values and np.median(values) <= 1.0:
                        cost[i, j] = float(np.median(values)) - (CONTINUITY_BONUS if tracks[f, v, s] in before else 0.0)
                    elif not others and person[f, v, s] == k:
                        cost[i, j] = 1.0  # nothing to compare with: keep what the tracks said
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
            person[f, v, slots] = -1
            for r, c in zip(rows, cols):
                if np.isfinite(cost[r, c]):
                    person[f, v, slots[c]] = ids[r]
    return person


def _number_people(person: np.ndarray, boxes: np.ndarray, image_sizes: np.ndarray) -> np.ndarray:
    """Keep the people seen by two views at once in at least MIN_AGREE frames, numbered by score
    (presence x centrality summed over images): the main person is 0."""
    weight = centrality(boxes, image_sizes)
    kept = []
    for k in np.unique(person[person >= 0]):
        hit = person == k
        if (hit.any(-1).sum(-1) >= 2).sum() < MIN_AGREE:
            continue
        kept.append((float((weight * hit).sum()), int(k)))
    order = [k for _, k in sorted(kept, key=lambda x: -x[0])]
    renumbered = np.full_like(person, -1)
    for new, old in enumerate(order):
        renumbered[person == old] = new
    return renumbered


def _best_tracks(tracks: np.ndarray, present: np.ndarray, boxes: np.ndarray, image_sizes: np.ndarray) -> np.ndarray:
    """Person 0 = each view's track seen longest and most centrally (no geometry to go by)."""
    weight = centrality(boxes, image_sizes) * present
    person = np.full(tracks.shape, -1, dtype=np.int64)
    for v in range(tracks.shape[1]):
        ids = tracks[:, v]
        if (ids >= 0).any():
            best = max(set(ids[ids >= 0].tolist()), key=lambda t: float(weight[:, v][ids == t].sum()))
            person[:, v][ids == best] = 0
    return person

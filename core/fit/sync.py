"""Camera synchronisation from the person's motion: each view's time offset against the first.

With a static rig fitted (cameras ``R, t``, focal lengths, principal points), two views agree on
where a joint is only at the right time shift between them: shifted by ``d`` frames, view ``v``'s
detections at ``t + d`` and view ``u``'s at ``t`` triangulate into points that reproject back onto
both when ``d`` is the views' true offset difference, and off them by the joint's motion otherwise.
The estimate:

1. each pair of views: the robust two-view reprojection residual for every whole-frame shift in
   range (a cost curve per pair);
2. whole-frame offsets of all views at once: the first view at 0, coordinate descent on the sum of
   the pairs' curves (started from each view's best shift against the first view);
3. sub-frame: each view's offset refined where its detections best match the joints triangulated
   from all the other views (two views: the pair's cost), on a 0.1-frame grid, then a parabola
   through the best three; repeated until the offsets settle.

Detections are sampled in time through a Gaussian kernel (``SMOOTHING_FRAMES``) rather than
interpolated linearly: linear interpolation halves the noise at half-frame shifts, which lowers
the residual there whatever the true offset is and pulls estimates towards half frames; the
kernel's noise is the same at every fraction.

Convention (DESIGN.md): a view's offset ``o`` means its frame ``f + o`` shows the moment of the
first view's frame ``f``.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from core.canonical.losses import person_scale
from core.geometry.bundle import PinholeRig
from core.geometry.triangulation import project_points, triangulate_weighted
from core.io.timeline import shift_in_time

# Standard deviation of the Gaussian that samples detections in time, frames (see module doc).
# At 1 frame the kernel's weights sum to the same value within 0.01 % at any fraction.
SMOOTHING_FRAMES = 1.0
_KERNEL_RADIUS = 3  # taps on each side, in standard deviations
# Geman-McClure scale of the residual, as a fraction of the person's size in each view. Measured
# with the true rig on 12 synthetic 60-frame rigs (offsets -5..+5): rms error 0.087 frame at 0.02,
# 0.099 at 0.01, 0.126 at 0.05 (a tight scale leaves out the occluded joints' larger noise).
RESIDUAL_SIGMA = 0.02
FINE_STEP = 0.1
FINE_RADIUS = 1.5
REFINE_SWEEPS = 6
GAUSS_NEWTON_ITERATIONS = 10
# Sub-frame costs are summed over the frames every shift tried reaches (see _PairCosts.interior),
# unless that leaves fewer than this.
MIN_INTERIOR_FRAMES = 10
# A detection this far (fraction of the person's size) from the median of the frames around it is
# a glitch (see drop_glitches).
GLITCH_RADIUS = 2
GLITCH_TOLERANCE = 0.05


@dataclass
class SyncEstimate:
    """offsets: (V,) frames of the sequence, the first view at 0 (and every fixed view at 0);
    curves: (u, v) -> (shifts (D,), cost (D,)) the whole-frame cost curve of each pair;
    residual: the summed pair cost at the offsets (lower is better agreement)."""

    offsets: np.ndarray
    curves: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
    residual: float


def sample_in_time(keypoints: np.ndarray, times: np.ndarray, threshold: float,
                   sigma: float | None = None) -> np.ndarray:
    """(M, K, 3) one view's detections (F, K, 3) at fractional frame ``times`` (M,): the
    confidence-weighted Gaussian average of the frames around each time (detections at or below
    ``threshold`` left out). Confidence: the mean confidence under the kernel, scaled down by the
    part of the kernel that falls outside the recording; 0 where the time itself is outside."""
    frames = keypoints.shape[0]
    sigma = SMOOTHING_FRAMES if sigma is None else sigma
    times = np.asarray(times, dtype=np.float64)
    radius = int(np.ceil(_KERNEL_RADIUS * sigma))
    taps = np.floor(times)[:, None] + np.arange(-radius, radius + 2)[None]  # (M, T)
    kernel = np.exp(-0.5 * ((times[:, None] - taps) / sigma) ** 2)
    inside = (taps >= 0) & (taps <= frames - 1)
    rows = keypoints[np.clip(taps, 0, frames - 1).astype(np.int64)]  # (M, T, K, 3)
    conf = np.where(rows[..., 2] > threshold, rows[..., 2], 0.0) * inside[..., None]
    weight = kernel[..., None] * conf  # (M, T, K)
    total = weight.sum(1)
    xy = (weight[..., None] * rows[..., :2]).sum(1) / np.maximum(total, 1e-12)[..., None]
    confidence = total / kernel.sum(1, keepdims=True)
    confidence[(times < 0) | (times > frames - 1)] = 0.0
    return np.concatenate([xy, confidence[..., None]], axis=-1)


def _nanmedian(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` without its warning where a slice is all NaN (NaN there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=axis)


def drop_glitches(keypoints2d: np.ndarray, scales: np.ndarray, threshold: float, radius: int = GLITCH_RADIUS,
                  tolerance: float = GLITCH_TOLERANCE) -> np.ndarray:
    """(F, V, K, 3) detections with confidence 0 where a joint leaves the median of its own
    neighbourhood in time (``radius`` frames each side) by more than ``tolerance`` times the view's
    person size (``scales`` (V,) px): a one-frame left/right swap or a gross outlier. The time
    kernel would otherwise spread it over its neighbours, and the joints triangulated through it
    move with a made-up velocity. Smooth motion stays: the median of a steady motion is its middle."""
    frames = keypoints2d.shape[0]
    out = np.array(keypoints2d, copy=True)
    seen = out[..., 2] > threshold
    xy = np.where(seen[..., None], out[..., :2], np.nan)
    window = np.stack([xy[np.clip(np.arange(frames) + k, 0, frames - 1)] for k in range(-radius, radius + 1)])
    median = _nanmedian(window, axis=0)
    deviation = np.linalg.norm(xy - median, axis=-1) / np.asarray(scales)[None, :, None]
    out[..., 2] = np.where(seen & (deviation > tolerance), 0.0, out[..., 2])
    return out


def apply_offsets(keypoints2d: np.ndarray, offsets: np.ndarray, threshold: float) -> np.ndarray:
    """(F, V, K, 3) detections moved onto the first view's timeline by (V,) offsets (frames of the
    sequence), interpolated between frames except where a joint jumps by more than
    ``GLITCH_TOLERANCE`` of the person's size (there the nearer frame: blending a swapped or stray
    detection with a good one makes a point that is neither; measured on a synthetic rig with a
    half-frame offset, PA-MPJPE 9.99 mm interpolating everything, 8.25 mm so, 8.13 mm in sync)."""
    return shift_in_time(keypoints2d, offsets, GLITCH_TOLERANCE * view_scales(keypoints2d, threshold))


def view_scales(keypoints2d: np.ndarray, threshold: float) -> np.ndarray:
    """(V,) each view's typical person size in pixels (median over frames)."""
    sizes = person_scale(torch.as_tensor(np.asarray(keypoints2d, dtype=np.float32)), threshold).numpy()
    return np.median(sizes, axis=0)


def robust_residual(error: np.ndarray, weight: np.ndarray, scale: float, sigma: float | None = None) -> float:
    """Weighted mean Geman-McClure cost of (F, K, 2) reprojection errors (px) of one view,
    weights (F, K), after taking out each joint's median error over the frames: a detector's fixed
    bias at a joint (and a rig's error, nearly fixed while the person stays in one place) would
    otherwise trade off against the motion and pull the offset; NaN where fewer than 3 are seen."""
    seen = weight > 0
    if seen.sum() < 3:
        return float("nan")
    masked = np.where(seen[..., None], error, np.nan)
    bias = np.nan_to_num(_nanmedian(masked, axis=0))  # (K, 2)
    relative = np.linalg.norm(error - bias[None], axis=-1) / scale
    relative = np.where(seen, relative, 0.0)
    sigma = RESIDUAL_SIGMA if sigma is None else sigma
    robust = relative**2 / (relative**2 + sigma**2)
    return float((weight * robust).sum() / weight.sum())


def pair_cost(a: np.ndarray, b: np.ndarray, projections: np.ndarray, scales: np.ndarray) -> float:
    """Robust two-view residual of (F, K, 3) samples ``a`` and ``b`` of two views with (2, 3, 4)
    ``projections`` and (2,) person ``scales`` (px): each joint triangulated from both,
    reprojected, :func:`robust_residual` in each view, weighted by the smaller confidence, averaged
    over the two views; NaN where no joint is seen by both."""
    frames, joints = a.shape[:2]
    pts = np.stack([a, b], axis=2).reshape(-1, 2, 3)  # (F*K, 2, 3)
    weight = np.minimum(pts[:, 0, 2], pts[:, 1, 2])
    points = triangulate_weighted(projections, pts[..., :2], (weight > 0)[:, None] * np.ones((1, 2)))
    weight = np.where(np.isfinite(points).all(axis=1), weight, 0.0)
    error = project_points(projections, np.nan_to_num(points)) - pts[..., :2]  # (F*K, 2, 2)
    costs = [robust_residual(error[:, i].reshape(frames, joints, 2), weight.reshape(frames, joints), float(scales[i]))
             for i in range(2)]
    return float(np.mean(costs))


class _PairCosts:
    """Cost of each pair of views at any shift, computed once per (pair, shift)."""

    def __init__(self, keypoints2d: np.ndarray, rig: PinholeRig, threshold: float):
        self.frames, self.views = keypoints2d.shape[:2]
        self.threshold = threshold
        self.projections = rig.projections
        self.scales = view_scales(keypoints2d, threshold)
        keypoints2d = drop_glitches(keypoints2d, self.scales, threshold)
        self.keypoints = keypoints2d
        self.times = np.arange(self.frames, dtype=np.float64)
        self._base = [sample_in_time(keypoints2d[:, v], self.times, threshold) for v in range(self.views)]
        self._cache: dict[tuple[int, int, float], float] = {}

    def sample(self, view: int, shift: float) -> np.ndarray:
        """(F, K, 3) the view's detections at ``t + shift`` for the sequence's frames ``t``."""
        if shift == 0.0:
            return self._base[view]
        return sample_in_time(self.keypoints[:, view], self.times + shift, self.threshold)

    def interior(self, view_shifts: dict[int, np.ndarray]) -> np.ndarray:
        """(F,) bool: the frames ``t`` at which every view ``v`` sampled at ``t + s`` for each of
        its shifts ``s`` lies inside its recording by the kernel's reach. Costs compared across
        shifts must sum over the same frames: frames that enter or leave with the shift (or whose
        kernel is cut by the recording's end) move the cost by more than a sub-frame offset does."""
        reach = _KERNEL_RADIUS * SMOOTHING_FRAMES
        mask = np.ones(self.frames, dtype=bool)
        for shifts in view_shifts.values():
            shifts = np.atleast_1d(shifts)
            mask &= (self.times + shifts.min() >= reach) & (self.times + shifts.max() <= self.frames - 1 - reach)
        return mask

    def view_cost(self, view: int, shift: float, points: np.ndarray, frames: np.ndarray | None = None) -> float:
        """:func:`robust_residual` of the view's detections at ``t + shift`` against (F*K, 3)
        world ``points`` (NaN: not triangulated), over ``frames`` (F,) bool (default: all)."""
        moved = self.sample(view, shift).reshape(-1, 3)
        weight = np.where(np.isfinite(points).all(axis=1), moved[:, 2], 0.0)
        if frames is not None:
            weight = weight * np.repeat(frames, moved.shape[0] // self.frames)
        error = project_points(self.projections[view:view + 1], np.nan_to_num(points))[:, 0] - moved[:, :2]
        shape = (self.frames, -1)
        return robust_residual(error.reshape(*shape, 2), weight.reshape(shape), float(self.scales[view]))

    def __call__(self, u: int, v: int, shift: float, frames: np.ndarray | None = None) -> float:
        """Cost of view ``v`` at ``t + shift`` against view ``u`` at ``t`` (u < v), over ``frames``
        (F,) bool (default: all)."""
        key = (u, v, round(float(shift), 4), None if frames is None else frames.tobytes())
        if key not in self._cache:
            # Zeros (confidence 0) leave a frame out of the pair's cost.
            base = self._base[u] if frames is None else np.where(frames[:, None, None], self._base[u], 0.0)
            self._cache[key] = pair_cost(base, self.sample(v, shift), self.projections[[u, v]], self.scales[[u, v]])
        return self._cache[key]


def _enough(frames: np.ndarray, least: int = MIN_INTERIOR_FRAMES) -> np.ndarray | None:
    """``frames`` where that leaves at least ``least`` of them, else None (every frame)."""
    return frames if frames.sum() >= least else None


def _parabola_minimum(values: np.ndarray, totals: np.ndarray) -> float:
    """The lowest of ``totals`` at evenly spaced ``values``, refined by a parabola through it and
    its neighbours."""
    i = int(np.nanargmin(totals))
    best = float(values[i])
    if 0 < i < len(values) - 1:
        left, mid, right = totals[i - 1:i + 2]
        curvature = left - 2 * mid + right
        if curvature > 0:
            best += 0.5 * (values[1] - values[0]) * (left - right) / curvature
    return best


def _refine_pair(costs: _PairCosts, offsets: np.ndarray, fixed: np.ndarray) -> float:
    """Two views: the second's offset at the minimum of the pair's cost on a fine grid (in place);
    returns how far it moved."""
    if fixed[1]:
        return 0.0
    values = offsets[1] + np.arange(-FINE_RADIUS, FINE_RADIUS + FINE_STEP / 2, FINE_STEP)
    frames = _enough(costs.interior({0: np.zeros(1), 1: values}))
    totals = np.array([costs(0, 1, s, frames) for s in values])
    if np.all(np.isnan(totals)):
        return 0.0
    best = _parabola_minimum(values, totals)
    moved, offsets[1] = abs(best - offsets[1]), best
    return moved


def _refine_leave_one_out(costs: _PairCosts, offsets: np.ndarray, fixed: np.ndarray) -> float:
    """Three views or more: each free view's offset by Gauss-Newton on its detections against the
    joints triangulated from the other views at their offsets, in place; returns the largest move.

    With ``p(t)`` the triangulated joints projected into the view, ``u(t)`` their image velocity
    (px per frame) and ``r(t)`` the view's detections at ``t + o`` minus ``p(t)`` (less each
    joint's median, the detector's bias), ``r ~ u (o - o*)``, so ``o* = o - sum(w u.r) / sum(w |u|^2)``
    with robust weights ``w``. Only moving joints inform it: a grid search over the summed
    residual also picks up the noise of every still frame as the samples move, and is less precise.
    """
    largest = 0.0
    for v in np.nonzero(~fixed)[0]:
        others = [u for u in range(costs.views) if u != v]
        samples = np.stack([costs.sample(u, offsets[u]) for u in others], axis=2)  # (F, K, V-1, 3)
        flat = samples.reshape(-1, len(others), 3)
        points = triangulate_weighted(costs.projections[others], flat[..., :2], flat[..., 2])
        projected = project_points(costs.projections[v:v + 1], np.nan_to_num(points))[:, 0].reshape(costs.frames, -1, 2)
        known = np.isfinite(points).all(axis=1).reshape(costs.frames, -1)
        velocity = np.zeros_like(projected)
        velocity[1:-1] = 0.5 * (projected[2:] - projected[:-2])
        moving = known.copy()
        moving[1:-1] &= known[2:] & known[:-2]
        moving[[0, -1]] = False
        start = offsets[v]
        for _ in range(GAUSS_NEWTON_ITERATIONS):
            frames = costs.interior({**{u: np.array([offsets[u]]) for u in others}, v: np.array([offsets[v]])})
            moved = costs.sample(v, offsets[v])
            weight = moved[..., 2] * moving * frames[:, None]
            if (weight > 0).sum() < 3:
                break
            residual = moved[..., :2] - projected
            masked = np.where((weight > 0)[..., None], residual, np.nan)
            residual = residual - np.nan_to_num(_nanmedian(masked, axis=0))[None]
            relative2 = (residual**2).sum(-1) / costs.scales[v] ** 2
            weight = weight * (RESIDUAL_SIGMA**2 / (relative2 + RESIDUAL_SIGMA**2)) ** 2
            denominator = (weight * (velocity**2).sum(-1)).sum()
            if denominator <= 0:
                break
            step = float(np.clip((weight * (velocity * residual).sum(-1)).sum() / denominator, -1.0, 1.0))
            offsets[v] -= step
            if abs(step) < 1e-3:
                break
        largest = max(largest, abs(offsets[v] - start))
    return largest


def _total(costs: _PairCosts, offsets: np.ndarray, view: int, value: float, fallback: float) -> float:
    """Sum over the pairs that hold ``view`` of their cost with ``view`` at ``value``."""
    total = 0.0
    for other in range(costs.views):
        if other == view:
            continue
        u, v = min(view, other), max(view, other)
        shift = (value if v == view else offsets[v]) - (value if u == view else offsets[u])
        cost = costs(u, v, shift)
        total += fallback if np.isnan(cost) else cost
    return total


def estimate_offsets(keypoints2d: np.ndarray, rig: PinholeRig, threshold: float, max_offset: int,
                     fixed: np.ndarray | None = None, sub_frame: bool = True) -> SyncEstimate:
    """Time offsets of the views of (F, V, K, 3) undistorted detections seen by ``rig``.

    Args:
        threshold: confidence at or below which a detection is ignored.
        max_offset: the largest offset searched, frames of the sequence (either sign).
        fixed: (V,) bool, views whose offset is known (kept at 0); the first view always is.
        sub_frame: refine to a tenth of a frame and interpolate (else whole frames).
    """
    frames, views = keypoints2d.shape[:2]
    fixed = np.zeros(views, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool).copy()
    fixed[0] = True
    max_offset = int(max(0, min(max_offset, frames // 2)))
    costs = _PairCosts(keypoints2d, rig, threshold)
    shifts = np.arange(-max_offset, max_offset + 1, dtype=np.float64)
    curves = {}
    for u, v in itertools.combinations(range(views), 2):
        curves[(u, v)] = (shifts, np.array([costs(u, v, s) for s in shifts]))
    fallback = 1.0  # a pair with no joint seen by both at some shift: the worst cost

    # Whole frames: start each free view at its best shift against the first view, then coordinate
    # descent on the sum of all pairs (a view poorly seen by the first gets placed by the others).
    offsets = np.zeros(views)
    for v in range(1, views):
        if not fixed[v]:
            curve = np.nan_to_num(curves[(0, v)][1], nan=fallback)
            offsets[v] = shifts[int(np.argmin(curve))]
    for _ in range(views * 2):
        changed = False
        for v in np.nonzero(~fixed)[0]:
            candidates = [_total(costs, offsets, v, s, fallback) if abs(s) <= max_offset else np.inf for s in shifts]
            best = shifts[int(np.argmin(candidates))]
            if best != offsets[v]:
                offsets[v], changed = best, True
        if not changed:
            break

    if sub_frame:
        refine = _refine_leave_one_out if views >= 3 else _refine_pair
        for _ in range(REFINE_SWEEPS):
            moved = refine(costs, offsets, fixed)
            if moved < 0.01:
                break
    residual = sum(_total(costs, offsets, v, offsets[v], fallback) for v in range(views)) / 2
    return SyncEstimate(offsets, curves, float(residual))

"""Time in a multi-view sequence: the first view's clock, each view's frames placed on it.

A view ``v`` with frame rate ``fps_v`` and time offset ``o_v`` (in its own frames) shows the
moment of the first view's source frame ``f`` at its own frame position

    p_v(f) = f * fps_v / fps_0 + o_v

(a fraction where the rates differ or the offset is a sub-frame one). A sequence keeps the first
view's frames where every view has footage ("align, then cut to the common part"). Detections are
moved along time by linear interpolation between a view's frames (:func:`resample_in_time`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError

log = logging.getLogger(__name__)

# Positions this close to a whole frame are that frame (fps ratios such as 30000/1001 leave
# rounding noise that must not ask for a neighbour frame that is not there).
_WHOLE_FRAME_TOLERANCE = 1e-6


def resample_in_time(values: np.ndarray, positions: np.ndarray, targets: np.ndarray,
                     max_step: float | None = None) -> np.ndarray:
    """Detections of one view moved in time.

    Args:
        values: (N, K, C) keypoints (x, y, ..., confidence last) known at source frame ``positions``
            (N,) (increasing; a repeated position keeps its first value).
        targets: (M,) frame positions wanted, fractional ones interpolated linearly between the two
            known positions around them.
        max_step: where a keypoint's two neighbours lie further apart than this (x, y units), the
            nearer one is taken instead of a mix: a detection that jumped (a left/right swap, an
            outlier) is not blended into a point that is neither.
    Returns:
        (M, K, C): confidence is the smaller of the two neighbours' (a joint missing in either is
        missing), and 0 (all channels) where a target lies outside the known positions.
    """
    values = np.asarray(values)
    positions, keep = np.unique(np.asarray(positions, dtype=np.float64), return_index=True)
    values = values[keep]
    targets = np.asarray(targets, dtype=np.float64)
    out = np.zeros((len(targets), *values.shape[1:]), dtype=values.dtype)
    if len(positions) == 0:
        return out
    lo = np.searchsorted(positions, targets + _WHOLE_FRAME_TOLERANCE, side="right") - 1
    lo_ok = lo >= 0
    lo = np.clip(lo, 0, len(positions) - 1)
    hi = np.minimum(lo + 1, len(positions) - 1)
    gap = np.maximum(positions[hi] - positions[lo], 1e-12)
    a = np.clip((targets - positions[lo]) / gap, 0.0, None)
    exact = a <= _WHOLE_FRAME_TOLERANCE
    a = np.where(exact, 0.0, a)
    inside = lo_ok & (exact | ((hi > lo) & (a <= 1.0 + _WHOLE_FRAME_TOLERANCE)))
    before, after = values[lo], values[hi]
    w = a.reshape(-1, *([1] * (values.ndim - 1)))
    mixed = before * (1.0 - w) + after * w
    mixed[..., -1] = np.where(exact[:, None], before[..., -1], np.minimum(before[..., -1], after[..., -1]))
    if max_step is not None:
        jumped = np.linalg.norm(after[..., :2] - before[..., :2], axis=-1) > max_step
        nearer = np.where((a < 0.5).reshape(w.shape), before, after)
        mixed = np.where(jumped[..., None] & ~exact.reshape(w.shape), nearer, mixed)
    out[inside] = mixed[inside]
    return out


def shift_in_time(keypoints2d: np.ndarray, offsets: np.ndarray, max_step: np.ndarray | None = None) -> np.ndarray:
    """(F, V, K, 3) detections put on the first view's timeline: view ``v``'s frame ``f + o_v``
    (linearly interpolated between frames) becomes frame ``f``; confidence 0 where it is outside
    the recording (or where either neighbour is missing). offsets: (V,) frames; max_step: (V,)
    pixels, see :func:`resample_in_time`."""
    frames = keypoints2d.shape[0]
    t = np.arange(frames, dtype=np.float64)
    out = np.empty_like(keypoints2d)
    for v, offset in enumerate(np.asarray(offsets, dtype=np.float64)):
        out[:, v] = resample_in_time(keypoints2d[:, v], t, t + offset, None if max_step is None else float(max_step[v]))
    return out


@dataclass(frozen=True)
class Timeline:
    """F frames of a sequence on the first view's clock, V views.

    frame_indices: (F,) the first view's source frame numbers.
    positions: (F, V) each view's source frame position showing that moment (fractional where
        frame rates differ or an offset is a sub-frame one).
    fps: (V,) each view's frame rate; offsets: (V,) each view's time offset, its own frames.
    counts: (V,) frames each view has.
    """

    frame_indices: np.ndarray
    positions: np.ndarray
    fps: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray

    @property
    def nearest(self) -> np.ndarray:
        """(F, V) int64: each view's source frame nearest to each moment (what is read)."""
        return np.clip(np.floor(self.positions + 0.5), 0, self.counts - 1).astype(np.int64)

    @property
    def times(self) -> np.ndarray:
        """(F,) seconds on the first view's clock."""
        return self.frame_indices / self.fps[0]


def view_positions(first_frames: np.ndarray, fps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(F, V) each view's source frame position of the first view's frames (F,)."""
    fps = np.asarray(fps, dtype=np.float64)
    return np.asarray(first_frames, dtype=np.float64)[:, None] * (fps / fps[0])[None] + np.asarray(offsets, dtype=np.float64)[None]


def build_timeline(
    counts: list[int],
    fps: list[float],
    offsets: list[float],
    frame_range: tuple[int, int | None] | None,
    frame_step: int,
    where: Path,
    sources: dict[str, int] | None = None,
) -> Timeline:
    """The frames a sequence keeps: the first view's frames in ``frame_range`` (every
    ``frame_step``-th) where every view has footage, with a warning when views are cut.

    counts, fps, offsets: per view (frames, frame rate, time offset in its own frames).
    sources: file name -> frames, for the warning. InputError when no frame is left.
    """
    sources = sources or {f"view {v}": int(c) for v, c in enumerate(counts)}
    counts_a = np.asarray(counts, dtype=np.int64)
    fps_a = np.asarray(fps, dtype=np.float64)
    offsets_a = np.asarray(offsets, dtype=np.float64)
    start, stop = frame_range if frame_range is not None else (0, None)
    available = int(counts_a[0])
    if start >= available:
        raise InputError(f"frame_range starts at frame {start} but the sequence has {available} frames", where)
    if stop is not None and stop > available:
        log.warning("%s: frame_range ends at %d but the sequence has %d frames; using frames up to %d",
                    where, stop, available, available)
    stop = available if stop is None else min(stop, available)
    first = np.arange(start, stop, frame_step, dtype=np.int64)
    positions = view_positions(first, fps_a, offsets_a)
    tolerance = _WHOLE_FRAME_TOLERANCE
    inside = ((positions >= -tolerance) & (positions <= counts_a[None] - 1 + tolerance)).all(axis=1)
    kept = first[inside]
    if not inside.all() or len(set(sources.values())) > 1:
        same_clock = np.allclose(fps_a, fps_a[0]) and not offsets_a.any()
        if same_clock:
            listing = ", ".join(f"{n}: {c}" for n, c in sources.items())
            log.warning("%s: frame counts differ (%s); using the first %d frames", where, listing, len(kept))
        else:
            listing = ", ".join(f"{n}: {c} frames" for n, c in sources.items())
            listing += "; " + ", ".join(f"view {v}: {r:g} fps, offset {o:g}" for v, (r, o) in enumerate(zip(fps_a, offsets_a)))
            span = f"{int(kept[0])}-{int(kept[-1])}" if len(kept) else "none"
            log.warning("%s: the views cover different times (%s); using the first view's frames %s (%d of %d), "
                        "where every view has footage", where, listing, span, len(kept), len(first))
    if not len(kept):
        raise InputError("the views have no moment in common (check their frame rates and time_offset_frames)", where)
    return Timeline(kept, positions[inside], fps_a, offsets_a, counts_a)

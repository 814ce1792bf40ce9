"""Capture realities around a fit: lens distortion and cameras out of sync.

The fitter (:func:`core.fit.sequence.fit_keypoints`) sees ideal pinhole cameras filming the same
moments. Here its detections are made so: undistorted with each camera's known distortion, and,
when the rig is static, moved in time by each camera's offset estimated from the person's motion
(:mod:`core.fit.sync`) with the rig of a first, shorter fit. The result carries the offsets and
the distortions, so that what is drawn over the images and exported as 2D points can be put back
into them.

A first fit also runs when a distortion is given without its camera's focal length: distortion
coefficients act on pixels divided by the focal length, so the detections are undistorted again
with the first fit's focal estimate.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.fit.config import FitConfig
from core.fit.sync import apply_offsets, estimate_offsets
from core.geometry.bundle import PinholeRig
from core.geometry.distortion import distort_keypoints, undistort_keypoints
from core.io.results import FitResult

log = logging.getLogger(__name__)

# A synchronised fit whose rig moves an offset by more than this (frames) is made again with it.
REFIT_FRAMES = 0.1


@dataclass(frozen=True)
class CaptureInfo:
    """How the V views were filmed, as far as it is known before fitting.

    distortions: (V, 5) lens distortion ``k1, k2, p1, p2, k3`` (zeros: none).
    time_offsets: (V,) the offsets the detections' timeline already applies (each view's own
        frames); offset_known: (V,) bool, the views whose offset is known (kept, not estimated).
    view_fps: (V,) frame rates (to state an offset in each view's own frames).
    frame_step: the sequence's step over the first view's frames.
    shift: (V,) sequence frames the detections are moved by before fitting (offsets set after the
        timeline was made: the app's edited ones).
    """

    distortions: np.ndarray
    time_offsets: np.ndarray
    offset_known: np.ndarray
    view_fps: np.ndarray
    frame_step: float = 1.0
    shift: np.ndarray | None = None

    @classmethod
    def default(cls, views: int, fps: float = 30.0) -> CaptureInfo:
        """No distortion, nothing known about the timing, one frame rate."""
        return cls(np.zeros((views, 5)), np.zeros(views), np.zeros(views, dtype=bool), np.full(views, float(fps)))

    @property
    def frames_per_sequence_frame(self) -> np.ndarray:
        """(V,) each view's own frames per frame of the sequence."""
        return self.frame_step * self.view_fps / self.view_fps[0]

    @classmethod
    def of_sequence(cls, seq, time_offsets: dict[str, float] | None = None) -> CaptureInfo:
        """What a :class:`~core.io.MultiViewSequence` knows: its sequence.yaml's distortions and
        time offsets, its views' frame rates; ``time_offsets`` (view name -> frames of that view)
        sets known offsets in place of sequence.yaml's (InputError for an unknown name)."""

        frames = np.asarray(seq.frame_indices)
        step = float(np.median(np.diff(frames))) if len(frames) > 1 else 1.0
        info = cls(seq.distortions, seq.time_offsets, seq.time_offset_given, seq.view_fps, step)
        if not time_offsets:
            return info
        target, known = info.time_offsets.copy(), info.offset_known.copy()
        for name, offset in time_offsets.items():
            if name not in seq.view_names:
                raise InputError(f"time offset given for {name!r}, which is not one of the cameras "
                                 f"({', '.join(seq.view_names)})", seq.root)
            v = seq.view_names.index(name)
            target[v], known[v] = float(offset), True
        target -= target[0]
        shift = (target - info.time_offsets) / info.frames_per_sequence_frame
        return dataclasses.replace(info, offset_known=known, shift=shift)


# fit(inputs, config, **kwargs) -> (result, timings): core.fit.sequence.fit_result.
FitFn = Callable[..., tuple[FitResult, dict[str, float]]]


def image_keypoints(result: FitResult) -> np.ndarray:
    """(F, V, K, 3) the detections a result was fitted to, back in the original images (lens
    distortion put back); what is drawn over the frames and exported as 2D points."""
    distortions = result.view_distortions
    if not np.any(distortions):
        return np.asarray(result.keypoints2d)
    return distort_keypoints(result.keypoints2d, result.cam_f[0], result.cam_c[0], distortions)


def as_fitted(keypoints2d: np.ndarray, result: FitResult, capture: CaptureInfo, threshold: float) -> np.ndarray:
    """(F, V, K, 3) detections on the sequence's timeline made what :func:`fit_captured` made of
    the fitted person's for ``result``: without lens distortion, moved by the offsets it found
    or was given; another person's, to be fitted in the same rig."""
    moved = (result.view_time_offsets - capture.time_offsets) / capture.frames_per_sequence_frame
    keypoints2d = _undistorted(keypoints2d, result.cam_f[0], result.cam_c[0], capture)
    return apply_offsets(keypoints2d, moved, threshold) if np.any(np.abs(moved) > 1e-6) else keypoints2d


def _undistorted(keypoints2d: np.ndarray, focal: np.ndarray, principal: np.ndarray, capture: CaptureInfo) -> np.ndarray:
    if not np.any(capture.distortions):
        return keypoints2d
    return undistort_keypoints(keypoints2d, focal, principal, capture.distortions)


def sync_frames(config: FitConfig, frame_indices: np.ndarray, fps: float) -> int:
    """The largest offset searched, in the sequence's frames (its step over the first view's)."""
    step = float(np.median(np.diff(frame_indices))) if len(frame_indices) > 1 else 1.0
    return max(1, int(np.ceil(config.sync.max_offset_s * fps / step)))


def _first_pass_config(config: FitConfig) -> FitConfig:
    """Only the rig matters: no phase over every frame."""
    return dataclasses.replace(config, iev=dataclasses.replace(config.iev, iterations=0))


def _estimate(keypoints: np.ndarray, fitted: FitResult, config: FitConfig, inputs, free: np.ndarray) -> np.ndarray:
    """(V,) offsets of the detections (sequence frames) with the rig of ``fitted``."""
    rig = PinholeRig(fitted.cam_R[0].astype(np.float64), fitted.cam_t[0].astype(np.float64),
                     fitted.cam_f[0].astype(np.float64), fitted.cam_c[0].astype(np.float64))
    return estimate_offsets(keypoints, rig, config.confidence_threshold, sync_frames(config, inputs.frame_indices, inputs.fps),
                            fixed=~free, sub_frame=config.sync.sub_frame).offsets


def fit_captured(inputs, config: FitConfig, fit: FitFn, capture: CaptureInfo | None = None,
                 progress: Callable[[str, int, int], None] | None = None, **fit_kwargs) -> tuple[FitResult, dict[str, float]]:
    """Fit ``inputs`` (a :class:`~core.fit.sequence.FitInputs` with the detections as detected:
    distorted, on the known timeline) with ``fit`` after undistorting them and, where
    ``config.sync`` asks for it, synchronising the views. Returns the result (with
    ``time_offsets_frames`` and ``distortions``) and the timings (``sync_s``: the first fit and
    the estimate). ``progress(stage, done, total)``: the first fit reports as stage ``sync``."""
    views = len(inputs.view_names)
    capture = capture or CaptureInfo.default(views, inputs.fps)
    frames = inputs.keypoints2d.shape[0]
    focal, principal = np.asarray(inputs.focal, dtype=np.float64), np.asarray(inputs.principal, dtype=np.float64)
    focal_known = np.zeros(views, dtype=bool) if inputs.focal_known is None else np.asarray(inputs.focal_known, bool)
    threshold = config.confidence_threshold
    raw = inputs.keypoints2d if capture.shift is None else apply_offsets(inputs.keypoints2d, capture.shift, threshold)
    keypoints = _undistorted(raw, focal, principal, capture)

    free = ~capture.offset_known
    free[0] = False
    synchronise = config.sync.enabled and config.static_rig and free.any()
    if synchronise and frames < config.sync.min_frames:
        log.info("not synchronising the cameras: %d frames, fewer than sync.min_frames (%d)", frames, config.sync.min_frames)
        synchronise = False
    refocus = bool(np.any(capture.distortions[~focal_known])) and config.static_rig and config.estimate_focal
    offsets = np.zeros(views)
    timings: dict[str, float] = {}
    fit_timings: dict[str, float] = {}
    result = None
    if synchronise or refocus:
        start = time.perf_counter()
        # The rig's key frames are all the first fit needs.
        keys = np.unique(np.linspace(0, frames - 1, min(frames, config.iev.rig_frames)).round().astype(np.int64))
        first_inputs = dataclasses.replace(inputs, keypoints2d=keypoints[keys], frame_indices=np.asarray(inputs.frame_indices)[keys],
                                           timings={})
        report = None if progress is None else (lambda _stage, done, total: progress("sync", done, total))
        first, _ = fit(first_inputs, _first_pass_config(config), progress=report, **fit_kwargs)
        if refocus:
            estimated = np.where(focal_known, focal, first.cam_f[0].astype(np.float64))
            keypoints = _undistorted(raw, estimated, principal, capture)
        if synchronise:
            offsets = _estimate(keypoints, first, config, inputs, free)
        timings["sync_s"] = time.perf_counter() - start
    if synchronise:
        # The first rig was fitted out of sync; the synchronised fit's rig times the views better.
        # Where that moves an offset by more than REFIT_FRAMES the fit is made again.
        result, fit_timings = fit(dataclasses.replace(inputs, keypoints2d=apply_offsets(keypoints, offsets, threshold)), config,
                                  progress=progress, **fit_kwargs)
        start = time.perf_counter()
        better = _estimate(keypoints, result, config, inputs, free)
        timings["sync_s"] += time.perf_counter() - start
        if np.abs(better - offsets).max() > REFIT_FRAMES:
            log.info("refitting with the offsets the synchronised rig finds (moved up to %.2f frames)",
                     np.abs(better - offsets).max())
            first_timings = fit_timings
            result, fit_timings = fit(dataclasses.replace(inputs, keypoints2d=apply_offsets(keypoints, better, threshold)), config,
                                      progress=progress, **fit_kwargs)
            timings["sync_s"] += first_timings.get("irv_s", 0.0) + first_timings.get("iev_s", 0.0)
            offsets = better  # else the result keeps the offsets it was fitted with
        log.info("time offsets (frames of the sequence): %s",
                 ", ".join(f"{n} {o:+.2f}" for n, o in zip(inputs.view_names, offsets)))
    if result is None:
        result, fit_timings = fit(dataclasses.replace(inputs, keypoints2d=keypoints), config, progress=progress, **fit_kwargs)
    # Shifts in the sequence's frames, stated in each view's own frames.
    moved = offsets + (0.0 if capture.shift is None else capture.shift)
    total = capture.time_offsets + moved * capture.frames_per_sequence_frame
    result = dataclasses.replace(result, time_offsets_frames=total.astype(np.float32),
                                 distortions=np.asarray(capture.distortions, dtype=np.float32))
    return result, {**fit_timings, **timings}

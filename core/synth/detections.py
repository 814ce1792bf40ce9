"""Simulated 2D keypoint detections with the faults a real detector makes.

From the projected true keypoints, per frame and view:

- pixel noise: Gaussian, ``noise_px`` at a 1000 px image height, scaled with the image height;
- self-occlusion: a joint hidden behind the body from that camera (the ray to it passes through
  a capsule of the torso, head or a limb in front of it) gets a low confidence, more noise, and
  sometimes no detection at all (confidence 0);
- out of frame: joints outside the image get a low or zero confidence;
- gross outliers: a few joints land somewhere else on or near the person, with ordinary confidence;
- left/right swaps: now and then the whole body is mirrored (front/back confusion) or one limb
  pair is exchanged, confidently;
- systematic bias: each view offsets each keypoint by a small fixed amount, largest at the hips,
  which real detectors place differently from any body model;
- bystanders (``bystander_rate``): now and then, for a run of frames, one view's detection is
  another person's (a skeleton from another moment of the motion, elsewhere in the image, at
  another size), confidently.

With ``measured`` (a table of :mod:`core.synth.measured_faults`, e.g. the ``real`` preset) the
noise, the confidences, the gross outliers and the per-view bias follow what a real detector was
measured to do per joint and confidence bin, in metres at the joint's depth (scaled by
``noise_px / DEFAULT_NOISE_PX``), with its frame-to-frame correlation; swaps, bystanders and
missing joints keep the rates below.

Confidences lie in [0, 1] like MediaPipe's visibility. Every fault is recorded in boolean masks so
tests and benchmarks can score against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.keypoints import COCO17_FLIP, COCO17_NAMES
from core.synth.measured_faults import (
    MEDIAPIPE_TABLES,
    correlated_noise,
    draw_confidences,
    load_measured_faults,
)

K = {name: i for i, name in enumerate(COCO17_NAMES)}

# Body capsules for the occlusion test: (keypoint a, keypoint b, radius m). Named keypoints, or
# "mid_shoulder" / "mid_hip" / "head" (the ears' midpoint).
_CAPSULES: tuple[tuple[str, str, float], ...] = (
    ("mid_shoulder", "mid_hip", 0.11),
    ("left_shoulder", "left_hip", 0.07),
    ("right_shoulder", "right_hip", 0.07),
    ("head", "head", 0.095),
    ("left_shoulder", "left_elbow", 0.045),
    ("right_shoulder", "right_elbow", 0.045),
    ("left_elbow", "left_wrist", 0.04),
    ("right_elbow", "right_wrist", 0.04),
    ("left_hip", "left_knee", 0.07),
    ("right_hip", "right_knee", 0.07),
    ("left_knee", "left_ankle", 0.05),
    ("right_knee", "right_ankle", 0.05),
)
# An occluder must lie this far in front of the joint (metres) to hide it: surfaces around a joint
# (its own limb, the torso at the hip) do not.
OCCLUDER_MARGIN_M = 0.06
# Limb pairs that detectors swap (keypoint indices, left side; the right side is the mirror).
_LIMB_GROUPS: tuple[tuple[str, ...], ...] = (
    ("left_knee", "left_ankle"),
    ("left_hip", "left_knee", "left_ankle"),
    ("left_elbow", "left_wrist"),
    ("left_wrist",),
    ("left_ankle",),
)


@dataclass(frozen=True)
class DetectionFaults:
    """How faulty the simulated detector is.

    noise_px: noise standard deviation (per axis) at a 1000 px image height.
    visible_conf: confidence range of a plainly visible joint.
    occluded_conf: confidence range of a self-occluded joint; occluded_noise: its noise multiplier.
    occluded_missing: probability that a self-occluded joint is not detected at all (confidence 0).
    out_of_frame_missing: probability that a joint outside the image gets confidence 0 (else low).
    outlier_rate: fraction of joints replaced by a gross outlier.
    body_swap_rate: fraction of (frame, view) detections mirrored left/right as a whole.
    limb_swap_rate: fraction of (frame, view) detections with one limb pair exchanged.
    bias_px: standard deviation of the fixed per-view, per-keypoint offset at a 1000 px image
        height; hips get ``hip_bias_scale`` times more. 0 turns the bias off.
    bystander_rate: fraction of (frame, view) detections that are a bystander's (in runs of
        frames; see the module doc).
    measured: a measured fault table (core.synth.measured_faults: a name in
        resources/detector_faults, or a path): noise, confidences, outliers and bias from it
        instead of the figures above.
    """

    noise_px: float = 4.0
    visible_conf: tuple[float, float] = (0.7, 1.0)
    occluded_conf: tuple[float, float] = (0.05, 0.45)
    occluded_noise: float = 2.5
    occluded_missing: float = 0.3
    out_of_frame_missing: float = 0.5
    outlier_rate: float = 0.01
    body_swap_rate: float = 0.01
    limb_swap_rate: float = 0.03
    bias_px: float = 2.0
    hip_bias_scale: float = 3.0
    bystander_rate: float = 0.0
    measured: str | None = None


# The noise (px at a 1000 px image height) that the measured tables are scaled against.
DEFAULT_NOISE_PX = 4.0
# Named fault settings: ``default`` is what ``cmanet synth`` simulates; ``harsh`` turns every fault
# up at once (twice the noise, more and noisier occluded joints, three times the outliers and
# swaps, twice the per-view bias), the setting the real-footage benchmark's synthetic rows use;
# ``real``: MediaPipe as measured on the real-footage benchmark (resources/detector_faults), which
# always reports every joint, with the default swap rates and a bystander now and then.
FAULT_PRESETS: dict[str, DetectionFaults] = {
    "default": DetectionFaults(),
    "harsh": DetectionFaults(noise_px=8.0, occluded_noise=3.5, occluded_missing=0.5, outlier_rate=0.03,
                             body_swap_rate=0.03, limb_swap_rate=0.09, bias_px=4.0, hip_bias_scale=3.0),
    "real": DetectionFaults(occluded_missing=0.0, out_of_frame_missing=0.5, bystander_rate=0.02,
                            measured=MEDIAPIPE_TABLES.stem),
}


@dataclass
class Detections:
    """keypoints: (F, V, 17, 3) float32 x, y (pixels), confidence. Fault masks (F, V, 17) bool:
    occluded (self-occluded), out_of_frame, missing (confidence 0), outlier, swapped (the joint
    holds its mirror partner's position). bias: (V, 17, 2) the fixed per-view offsets (pixels)."""

    keypoints: np.ndarray
    occluded: np.ndarray
    out_of_frame: np.ndarray
    missing: np.ndarray
    outlier: np.ndarray
    swapped: np.ndarray
    bias: np.ndarray = field(default_factory=lambda: np.zeros((0, 17, 2)))


def _capsule_points(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., C, 3) capsule ends a and b and (C,) radii from (..., 17, 3) joints."""
    extra = {
        "mid_shoulder": 0.5 * (joints[..., K["left_shoulder"], :] + joints[..., K["right_shoulder"], :]),
        "mid_hip": 0.5 * (joints[..., K["left_hip"], :] + joints[..., K["right_hip"], :]),
        "head": 0.5 * (joints[..., K["left_ear"], :] + joints[..., K["right_ear"], :]),
    }

    def point(name: str) -> np.ndarray:
        return extra[name] if name in extra else joints[..., K[name], :]

    a = np.stack([point(c[0]) for c in _CAPSULES], axis=-2)
    b = np.stack([point(c[1]) for c in _CAPSULES], axis=-2)
    return a, b, np.array([c[2] for c in _CAPSULES])


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest approach between segments [0, p] (from the camera) and [a, b].

    Shapes broadcast over (..., 3). Returns the distance and the parameter s in [0, 1] of the
    closest point on [0, p] (s = 1 at p).
    """
    d1, d2, r = p, b - a, -a  # segments 0 + s d1 and a + u d2; r = origin - a
    a11 = (d1 * d1).sum(-1)
    a22 = np.maximum((d2 * d2).sum(-1), 1e-12)
    a12 = (d1 * d2).sum(-1)
    b1 = (d1 * r).sum(-1)
    b2 = (d2 * r).sum(-1)
    denom = a11 * a22 - a12**2
    s = np.where(denom > 1e-12, (a12 * b2 - a22 * b1) / np.maximum(denom, 1e-12), 0.0)
    s = np.clip(s, 0.0, 1.0)
    u = np.clip((a12 * s + b2) / a22, 0.0, 1.0)
    s = np.clip((a12 * u - b1) / np.maximum(a11, 1e-12), 0.0, 1.0)
    closest = s[..., None] * d1 - (a + u[..., None] * d2)
    return np.linalg.norm(closest, axis=-1), s


def self_occlusion(joints_cam: np.ndarray) -> np.ndarray:
    """(..., 17) bool: joints hidden behind the body, from (..., 17, 3) camera-frame joints.

    A joint is hidden when the ray from the camera to it passes through a body capsule (torso,
    head, limb segments; see ``_CAPSULES``) at least ``OCCLUDER_MARGIN_M`` in front of it. The
    capsules that end at the joint itself (its own limb) are ignored.
    """
    a, b, radius = _capsule_points(joints_cam)  # (..., C, 3)
    p = joints_cam[..., :, None, :]  # (..., 17, 1, 3)
    distance, s = _segment_distance(p, a[..., None, :, :], b[..., None, :, :])  # (..., 17, C)
    depth_in_front = (1.0 - s) * np.linalg.norm(p, axis=-1)
    blocks = (distance < radius) & (depth_in_front > OCCLUDER_MARGIN_M)
    own = np.zeros((17, len(_CAPSULES)), dtype=bool)
    for c, (ka, kb, _) in enumerate(_CAPSULES):
        for name in (ka, kb):
            if name in K:
                own[K[name], c] = True
    return (blocks & ~own).any(axis=-1)


def occlusion_by(joints_cam: np.ndarray, occluder_cam: np.ndarray) -> np.ndarray:
    """(..., 17) bool: joints of one body hidden behind another body (its capsules), from both
    bodies' (..., 17, 3) camera-frame joints."""
    a, b, radius = _capsule_points(occluder_cam)
    p = joints_cam[..., :, None, :]
    distance, s = _segment_distance(p, a[..., None, :, :], b[..., None, :, :])
    depth_in_front = (1.0 - s) * np.linalg.norm(p, axis=-1)
    return ((distance < radius) & (depth_in_front > OCCLUDER_MARGIN_M)).any(axis=-1)


def simulate_detections(
    joints_cam: np.ndarray,
    pixels: np.ndarray,
    image_size: np.ndarray,
    rng: np.random.Generator,
    faults: DetectionFaults | None = None,
    hidden: np.ndarray | None = None,
    focal: np.ndarray | None = None,
) -> Detections:
    """Faulty detections from the truth.

    Args:
        joints_cam: (F, V, 17, 3) true keypoints in each camera's frame, metres.
        pixels: (F, V, 17, 2) their projections.
        image_size: (V, 2) (width, height) per view.
        rng: the random generator.
        faults: fault rates (default: :class:`DetectionFaults`).
        hidden: (F, V, 17) bool joints hidden by something else (another person), treated as
            occluded; None: only the body's own occlusion.
        focal: (V,) focal lengths in pixels (needed by ``faults.measured``: errors measured in
            metres at the joint's depth become pixels).
    Returns:
        Detections with keypoints (F, V, 17, 3) and the fault masks.
    """
    faults = faults or DetectionFaults()
    F, V, N = pixels.shape[:3]
    size = np.asarray(image_size, dtype=np.float64)
    scale = size[:, 1] / 1000.0  # (V,) noise scales with the image height
    xy = pixels.astype(np.float64).copy()
    measured = None
    if faults.measured is not None:
        if focal is None:
            raise ValueError("measured detector faults need the cameras' focal lengths")
        measured = load_measured_faults(faults.measured)
        # Pixels per metre at each joint's depth, and the table's noise scaled like noise_px.
        px_per_m = np.asarray(focal, dtype=np.float64)[None, :, None] / np.maximum(joints_cam[..., 2], 0.1)
        strength = faults.noise_px / DEFAULT_NOISE_PX

    # Systematic per-view bias, fixed over the sequence.
    if measured is None:
        bias_sigma = np.full(N, faults.bias_px)
        bias_sigma[[K["left_hip"], K["right_hip"]]] *= faults.hip_bias_scale
        bias = rng.normal(0.0, 1.0, size=(V, N, 2)) * bias_sigma[None, :, None] * scale[:, None, None]
    else:
        bias = rng.normal(0.0, 1.0, size=(V, N, 2)) * (strength * measured.bias_m[None, :, None] * np.median(px_per_m, axis=0)[..., None])
    xy += bias[None]

    # Left/right swaps (before noise: the detector put the joint where its partner is).
    swapped = np.zeros((F, V, N), dtype=bool)
    body_swap = rng.random((F, V)) < faults.body_swap_rate
    flip = np.array(COCO17_FLIP)
    xy[body_swap] = xy[body_swap][:, flip]
    swapped[body_swap] = flip != np.arange(N)
    limb_swap = (rng.random((F, V)) < faults.limb_swap_rate) & ~body_swap
    for f, v in zip(*np.nonzero(limb_swap), strict=True):
        group = [K[n] for n in _LIMB_GROUPS[rng.integers(len(_LIMB_GROUPS))]]
        partners = [flip[k] for k in group]
        xy[f, v, group + partners] = xy[f, v, partners + group]
        swapped[f, v, group + partners] = True

    occluded = self_occlusion(joints_cam) & (joints_cam[..., 2] > 0)
    if hidden is not None:
        occluded |= np.asarray(hidden, dtype=bool) & (joints_cam[..., 2] > 0)
    behind_camera = joints_cam[..., 2] <= 0
    true_xy = pixels
    out_of_frame = (
        (true_xy[..., 0] < 0) | (true_xy[..., 1] < 0)
        | (true_xy[..., 0] >= size[None, :, None, 0]) | (true_xy[..., 1] >= size[None, :, None, 1])
        | behind_camera
    )  # fmt: skip

    if measured is None:
        sigma = faults.noise_px * scale[None, :, None] * np.where(occluded, faults.occluded_noise, 1.0)
        xy += rng.normal(0.0, 1.0, size=xy.shape) * sigma[..., None]
        conf = rng.uniform(*faults.visible_conf, size=(F, V, N))
        conf = np.where(occluded, rng.uniform(*faults.occluded_conf, size=conf.shape), conf)
    else:
        conf, bins = draw_confidences(measured, occluded, rng)
        sigma = strength * measured.sigma_m[np.arange(N)[None, None, :], bins] * px_per_m
        xy += correlated_noise(xy.shape, measured.noise_correlation, rng) * sigma[..., None]
    missing = occluded & (rng.random(conf.shape) < faults.occluded_missing)
    low = rng.uniform(0.0, 0.3, size=conf.shape)
    conf = np.where(out_of_frame, low, conf)
    missing |= out_of_frame & (rng.random(conf.shape) < faults.out_of_frame_missing)
    missing |= behind_camera

    # Gross outliers: somewhere on or around the person (their 2D box, enlarged), confidently.
    rate = faults.outlier_rate if measured is None else measured.outlier_rate[np.arange(N)[None, None, :], bins]
    outlier = (rng.random(conf.shape) < rate) & ~missing
    if outlier.any():
        lo = true_xy.min(axis=2, keepdims=True)
        hi = true_xy.max(axis=2, keepdims=True)
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo) * 1.5 + 10.0
        anywhere = centre + rng.uniform(-1.0, 1.0, size=xy.shape) * half
        xy = np.where(outlier[..., None], anywhere, xy)
        if measured is None:  # measured: the outlier keeps the confidence its bin was drawn with
            conf = np.where(outlier, rng.uniform(0.3, 0.9, size=conf.shape), conf)

    bystander = np.zeros((F, V), dtype=bool)
    if faults.bystander_rate > 0:
        xy, conf, bystander = _bystanders(xy, conf, size, faults.bystander_rate, rng)
        outlier |= bystander[..., None] & ~missing

    conf = np.where(missing, 0.0, conf)
    keypoints = np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)
    return Detections(
        keypoints=keypoints,
        occluded=occluded,
        out_of_frame=out_of_frame,
        missing=missing,
        outlier=outlier,
        swapped=swapped,
        bias=bias.astype(np.float32),
    )


# Bystander runs: how many frames one lasts (uniform in this range).
BYSTANDER_RUN_FRAMES = (3, 15)


def _bystanders(xy: np.ndarray, conf: np.ndarray, size: np.ndarray, rate: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace runs of a view's detections by another person's: the same view's skeleton from
    another moment, scaled by 0.6-1.1 and moved elsewhere in the image (kept inside it), with
    high confidences. Returns the new xy (F, V, 17, 2), conf (F, V, 17) and the (F, V) mask."""
    frames, views = xy.shape[:2]
    mask = np.zeros((frames, views), dtype=bool)
    xy, conf = xy.copy(), conf.copy()
    mean_run = 0.5 * sum(BYSTANDER_RUN_FRAMES)
    for v in range(views):
        runs = rng.poisson(rate * frames / mean_run)
        for _ in range(runs):
            length = int(rng.integers(BYSTANDER_RUN_FRAMES[0], BYSTANDER_RUN_FRAMES[1] + 1))
            start = int(rng.integers(0, max(1, frames - length + 1)))
            rows = np.arange(start, min(frames, start + length))
            source = (rows + int(rng.integers(1, max(2, frames)))) % frames
            skeleton = xy[source, v]
            centre = skeleton.mean(axis=1, keepdims=True)
            shrunk = (skeleton - centre) * rng.uniform(0.6, 1.1)
            extent = np.abs(shrunk).max(axis=(0, 1))
            new_centre = np.array([rng.uniform(extent[0], max(extent[0] + 1, size[v, 0] - extent[0])),
                                   rng.uniform(extent[1], max(extent[1] + 1, size[v, 1] - extent[1]))])
            xy[rows, v] = shrunk + new_centre
            conf[rows, v] = rng.uniform(0.7, 1.0, size=(len(rows), xy.shape[2]))
            mask[rows, v] = True
    return xy, conf, mask

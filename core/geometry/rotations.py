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
    """Per-element spherical interpolation of axis-angle rotations (..., 3), shortest arc.

    weight: broadcastable to a's leading shape; 0 gives ``a``, 1 gives ``b``.
    """
    qa = roma.rotvec_to_unitquat(torch.tensor(np.asarray(a), dtype=torch.float64))
    qb = roma.rotvec_to_unitquat(torch.tensor(np.asarray(b), dtype=torch.float64))
    # Shortest arc: flip b's quaternion where it lies in the other hemisphere.
    qb = torch.where(((qa * qb).sum(-1, keepdim=True) < 0), -qb, qb)
    w = torch.tensor(np.broadcast_to(weight, qa.shape[:-1]), dtype=torch.float64)[..., None]
    dot = (qa * qb).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    theta = torch.arccos(dot)
    sin = torch.sin(theta)
    small = sin < 1e-6
    wa = torch.where(small, 1.0 - w, torch.sin((1.0 - w) * theta) / torch.where(small, 1.0, sin))
    wb = torch.where(small, w, torch.sin(w * theta) / torch.where(small, 1.0, sin))
    q = wa * qa + wb * qb
    q = q / q.norm(dim=-1, keepdim=True)
    return roma.unitquat_to_rotvec(q).numpy()

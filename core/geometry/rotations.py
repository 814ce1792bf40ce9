"""Rotation representations the networks and optimizers use, all delegated to ``roma``.

The 6D representation (Zhou et al.) is the first two columns of the rotation matrix, mapped back
to SO(3) by Gram-Schmidt.
"""

from __future__ import annotations

import roma
import torch


def rotmat_to_6d(rotation: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, column-major."""
    return rotation[..., :, :2].transpose(-1, -2).reshape(*rotation.shape[:-2], 6)


def rot6d_to_rotmat(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) through roma's special Gram-Schmidt."""
    columns = rot6d.reshape(*rot6d.shape[:-1], 2, 3).transpose(-1, -2)
    return roma.special_gramschmidt(columns)


def rotation_angle_deg(rotation: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (...,) rotation angle in degrees."""
    identity = torch.eye(3, dtype=rotation.dtype, device=rotation.device).expand_as(rotation)
    return torch.rad2deg(roma.rotmat_geodesic_distance(rotation, identity))

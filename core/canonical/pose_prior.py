"""Our own pose prior (no license to SMPLify's GMM): a Gaussian over the canonical body pose,
learnt from the pose library (:mod:`core.canonical.pose_library`), plus a hinge on joint limits.
The default prior of each body model is built once per process and cached by name.

Poses are axis-angle ``(..., J, 3)``; the Gaussian is over their flattened ``J*3`` vector.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch

from core.body import BodyModel
from core.canonical.joint_limits import joint_limits
from core.canonical.pose_library import sample_pose_library

LIBRARY_SAMPLES = 4000


def gaussian_from_samples(samples: torch.Tensor, ridge: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and precision (D, D) of (N, D) samples, the covariance regularised by ``ridge``."""
    mean = samples.mean(0)
    centered = samples - mean
    cov = centered.T @ centered / max(samples.shape[0] - 1, 1)
    cov = cov + ridge * torch.eye(cov.shape[0], dtype=cov.dtype)
    return mean, torch.linalg.inv(cov)


class PosePrior(torch.nn.Module):
    """Negative log-likelihood (up to constants) of a body pose, plus joint-limit penalties.

    Args:
        mean: (J, 3) mean pose, axis-angle.
        precision: (J*3, J*3) inverse covariance.
        lower, upper: (J, 3) axis-angle component limits (None: no limit term).
    """

    def __init__(
        self,
        mean: torch.Tensor,
        precision: torch.Tensor,
        lower: torch.Tensor | None = None,
        upper: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", mean.float())
        # Cholesky factor: the Mahalanobis term becomes a cheap matrix product.
        self.register_buffer("whiten", torch.linalg.cholesky(precision.double()).float())
        self.has_limits = lower is not None and upper is not None
        if self.has_limits:
            self.register_buffer("lower", lower.float())
            self.register_buffer("upper", upper.float())

    @classmethod
    def isotropic(cls, num_joints: int, sigma: float = 0.5) -> "PosePrior":
        """A zero-mean prior for body models without a motion library (SMPL)."""
        dim = num_joints * 3
        return cls(torch.zeros(num_joints, 3), torch.eye(dim) / sigma**2)

    @classmethod
    def from_samples(cls, samples: torch.Tensor, lower=None, upper=None, ridge: float = 1e-3) -> "PosePrior":
        """Fit the Gaussian to (N, J, 3) axis-angle poses."""
        mean, precision = gaussian_from_samples(samples.reshape(samples.shape[0], -1).double(), ridge)
        return cls(mean.reshape(samples.shape[1:]), precision, lower, upper)

    def mahalanobis(self, pose: torch.Tensor) -> torch.Tensor:
        """(...,) squared Mahalanobis distance of (..., J, 3) axis-angle poses, divided by J*3."""
        delta = (pose - self.mean).flatten(-2)
        return (delta @ self.whiten).square().sum(-1) / delta.shape[-1]

    def limit_violation(self, pose: torch.Tensor) -> torch.Tensor:
        """(...,) summed squared excess of axis-angle components beyond the joint limits."""
        if not self.has_limits:
            return pose.new_zeros(pose.shape[:-2])
        excess = torch.relu(pose - self.upper) + torch.relu(self.lower - pose)
        return excess.square().sum((-1, -2))

    def forward(self, pose: torch.Tensor, limit_weight: float = 10.0) -> torch.Tensor:
        return self.mahalanobis(pose) + limit_weight * self.limit_violation(pose)


@functools.cache
def motion_library_prior(joint_names: tuple[str, ...]) -> PosePrior:
    """The Gaussian of poses sampled from the pose library, with its joint limits."""
    samples = torch.as_tensor(sample_pose_library(LIBRARY_SAMPLES, np.random.default_rng(0)), dtype=torch.float32)
    lower, upper = (torch.as_tensor(x, dtype=torch.float32) for x in joint_limits(joint_names))
    return PosePrior.from_samples(samples, lower, upper)


def default_pose_prior(body: BodyModel) -> PosePrior:
    """Anny: the pose library's Gaussian plus joint limits; SMPL: an isotropic prior (the pose
    library is authored in Anny's canonical joints). A fresh copy, on the body's device."""
    if body.name == "anny":
        prior = motion_library_prior(tuple(body.pose_joint_names))
    else:
        prior = PosePrior.isotropic(body.num_pose_joints)
    return copy.deepcopy(prior).to(body.device)

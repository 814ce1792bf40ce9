"""The default pose prior of each body model, built once per process and cached by name."""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch

from core.body import BodyModel
from core.fit.pose_prior import PosePrior

LIBRARY_SAMPLES = 4000


@functools.cache
def _motion_library_prior(num_joints: int) -> PosePrior:
    from core.synth.joint_limits import joint_limits_tensor
    from core.synth.motion import sample_pose_library

    samples = torch.as_tensor(sample_pose_library(LIBRARY_SAMPLES, np.random.default_rng(0)), dtype=torch.float32)
    lower, upper = joint_limits_tensor()
    return PosePrior.from_samples(samples, lower, upper)


def default_pose_prior(body: BodyModel) -> PosePrior:
    """Anny: the Gaussian of the motion library plus joint limits; SMPL: an isotropic prior (our
    motion library is authored in Anny's canonical joints). A fresh copy each call."""
    if body.name == "anny":
        try:
            prior = _motion_library_prior(body.num_pose_joints)
        except ImportError:  # motion library not available: fall back to the isotropic prior
            prior = PosePrior.isotropic(body.num_pose_joints)
    else:
        prior = PosePrior.isotropic(body.num_pose_joints)
    return copy.deepcopy(prior).to(body.device)

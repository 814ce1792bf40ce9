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
def motion_library_prior(joint_names: tuple[str, ...]) -> PosePrior:
    """The Gaussian of poses sampled from core.synth's motion library, with its joint limits."""
    from core.synth.joint_limits import joint_limits
    from core.synth.motion import sample_pose_library

    samples = torch.as_tensor(sample_pose_library(LIBRARY_SAMPLES, np.random.default_rng(0)), dtype=torch.float32)
    lower, upper = (torch.as_tensor(x, dtype=torch.float32) for x in joint_limits(joint_names))
    return PosePrior.from_samples(samples, lower, upper)


def default_pose_prior(body: BodyModel) -> PosePrior:
    """Anny: the motion library's Gaussian plus joint limits; SMPL: an isotropic prior (the motion
    library is authored in Anny's canonical joints). A fresh copy, on the body's device."""
    if body.name == "anny":
        prior = motion_library_prior(tuple(body.pose_joint_names))
    else:
        prior = PosePrior.isotropic(body.num_pose_joints)
    return copy.deepcopy(prior).to(body.device)

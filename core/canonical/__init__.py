"""The canonical parameter space that the optimizers (:mod:`core.fit`) and the networks
(:mod:`core.nets`) share, and what is defined on it; it imports neither.

- :mod:`~core.canonical.params`: per-view bodies (IRV), the shared body seen by every view (IEV),
  intrinsics, their keypoints and projection, the camera-facing reference orientation.
- :mod:`~core.canonical.losses`: the reprojection loss and the shape and smoothness priors.
- :mod:`~core.canonical.pose_prior`: the pose prior (a Gaussian over the pose library, plus joint
  limits), the default one of each body model.
- The pose library: :mod:`~core.canonical.joint_limits`, :mod:`~core.canonical.key_poses`,
  :mod:`~core.canonical.walk_cycle` (``resources/poses/walk_cycle.npz``) and
  :mod:`~core.canonical.pose_library` (poses sampled from them).
"""

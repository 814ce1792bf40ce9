"""Synthetic multi-view sequences with ground truth (``cmanet synth``).

- :mod:`~core.synth.joint_limits`: anatomical limits of the canonical pose (also for pose priors).
- :mod:`~core.synth.key_poses`, :mod:`~core.synth.walk_cycle`, :mod:`~core.synth.motion`:
  plausible motion, and :func:`sample_pose_library` for pose priors.
- :mod:`~core.synth.rig`: random camera rigs. :mod:`~core.synth.detections`: faulty detections.
- :mod:`~core.synth.sequence`: :func:`generate_sequence` (in memory) and
  :func:`make_synthetic_sequence` (to disk). :mod:`~core.synth.scene`: the rendered look.
"""

from core.synth.detections import DetectionFaults, Detections, simulate_detections
# Not the function joint_limits: it would shadow its module, core.synth.joint_limits.
from core.synth.joint_limits import POSE_JOINT_NAMES, clamp_pose, joint_limits_deg, limit_violation
from core.synth.motion import Motion, generate_motion, sample_pose_library
from core.synth.rig import CameraRig, look_at, random_rig
from core.synth.sequence import SyntheticSequence, generate_sequence, make_synthetic_sequence, write_sequence

__all__ = [
    "POSE_JOINT_NAMES",
    "CameraRig",
    "DetectionFaults",
    "Detections",
    "Motion",
    "SyntheticSequence",
    "clamp_pose",
    "generate_motion",
    "generate_sequence",
    "joint_limits_deg",
    "limit_violation",
    "look_at",
    "make_synthetic_sequence",
    "random_rig",
    "sample_pose_library",
    "simulate_detections",
    "write_sequence",
]

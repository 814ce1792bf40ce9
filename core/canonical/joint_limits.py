"""Anatomical joint limits of the canonical body pose, per joint and axis.

Rotations of the canonical pose space are relative to the parent joint, about axes aligned with
the rest pose's body frame (Anny: X towards the body's left, Y backwards, Z up; the body faces -Y).
Limits bound each axis-angle component, in degrees. In that frame, for the LEFT side:

- spine, neck, head: +X bends forward (flexion), +Y leans to the body's left, +Z turns to the left.
- hip: -X swings the thigh forward (flexion), -Y lifts it sideways (abduction), Z twists it.
- knee: +X bends it (flexion). ankle: +X points the toes down (plantarflexion), -X pulls them up.
- collar: -Y raises the shoulder, -Z draws it forward.
- shoulder: from the rest A-pose (arms ~50 degrees below horizontal), -Y raises the arm
  sideways, -X raises it forwards, Z swings it horizontally.
- elbow: flexion turns about an oblique axis (the arm is abducted in the rest pose), so its
  range shows in both X and Z; ~40 degrees of it are already in the rest pose.

The right side mirrors the left: X limits are the same, Y and Z limits change sign.

A box on axis-angle components is a coarse model of a joint's range, but it is cheap, convex and
differentiable-friendly, which is what sampling (:mod:`core.canonical.pose_library`,
:mod:`core.synth.motion`) and the fitting prior need. Every pose of the pose library stays inside
it (tested).
"""

from __future__ import annotations

import numpy as np

# Canonical joint order (core.body.anny_body.ANNY_POSE_BONES); repeated here so this module needs
# no body model.
POSE_JOINT_NAMES: tuple[str, ...] = (
    "spine1", "spine2", "spine3", "neck", "head",
    "left_collar", "right_collar", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

# (min, max) in degrees for the X, Y, Z axis-angle components. Centre joints and the LEFT side;
# the right side is mirrored from these.
_LIMITS_DEG: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "spine1": ((-25.0, 50.0), (-25.0, 25.0), (-25.0, 25.0)),
    "spine2": ((-20.0, 35.0), (-20.0, 20.0), (-25.0, 25.0)),
    "spine3": ((-20.0, 35.0), (-20.0, 20.0), (-25.0, 25.0)),
    "neck": ((-40.0, 45.0), (-35.0, 35.0), (-50.0, 50.0)),
    "head": ((-30.0, 30.0), (-25.0, 25.0), (-40.0, 40.0)),
    "left_collar": ((-20.0, 20.0), (-30.0, 12.0), (-25.0, 20.0)),
    "left_shoulder": ((-150.0, 70.0), (-140.0, 60.0), (-100.0, 100.0)),
    "left_elbow": ((-120.0, 45.0), (-35.0, 35.0), (-110.0, 45.0)),
    "left_wrist": ((-70.0, 70.0), (-50.0, 50.0), (-70.0, 70.0)),
    "left_hip": ((-125.0, 35.0), (-50.0, 30.0), (-45.0, 45.0)),
    "left_knee": ((-5.0, 150.0), (-15.0, 15.0), (-20.0, 20.0)),
    "left_ankle": ((-30.0, 55.0), (-25.0, 25.0), (-30.0, 30.0)),
}


def _mirror(limits: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Left -> right: mirroring the body across its sagittal plane maps an axis-angle vector
    (x, y, z) to (x, -y, -z)."""
    (x0, x1), (y0, y1), (z0, z1) = limits
    return (x0, x1), (-y1, -y0), (-z1, -z0)


def joint_limits_deg(names: tuple[str, ...] = POSE_JOINT_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) lower and (J, 3) upper limits in degrees, in the order of ``names``."""
    lower, upper = [], []
    for name in names:
        if name in _LIMITS_DEG:
            limits = _LIMITS_DEG[name]
        elif name.startswith("right_") and "left_" + name[len("right_") :] in _LIMITS_DEG:
            limits = _mirror(_LIMITS_DEG["left_" + name[len("right_") :]])
        else:
            raise KeyError(f"no joint limits for {name!r}")
        lower.append([lo for lo, _ in limits])
        upper.append([hi for _, hi in limits])
    return np.array(lower), np.array(upper)


def joint_limits(names: tuple[str, ...] = POSE_JOINT_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) lower and (J, 3) upper limits in radians, in the order of ``names``."""
    lower, upper = joint_limits_deg(names)
    return np.deg2rad(lower), np.deg2rad(upper)


def clamp_pose(body_pose: np.ndarray, names: tuple[str, ...] = POSE_JOINT_NAMES) -> np.ndarray:
    """(..., J, 3) axis-angle body poses with every component clamped into its limits."""
    lower, upper = joint_limits(names)
    return np.clip(body_pose, lower, upper)


def limit_violation(body_pose: np.ndarray, names: tuple[str, ...] = POSE_JOINT_NAMES) -> np.ndarray:
    """(..., J, 3) how far (radians, >= 0) each component lies outside its limits."""
    lower, upper = joint_limits(names)
    return np.maximum(lower - body_pose, 0.0) + np.maximum(body_pose - upper, 0.0)

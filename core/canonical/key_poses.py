"""A small library of authored key poses in the canonical pose space (19 joints, axis-angle).

Poses are written anatomically (arm elevation and direction, elbow flexion, hip flexion and
abduction, knee and ankle angles, spine bend) and turned into per-joint axis-angles by the helpers
below, against the geometry of Anny's rest pose (an A-pose: arms ~50 degrees below horizontal,
elbows bent ~43 degrees forward). Each key pose also carries a pelvis rotation (bending forward,
leaning back) that the motion generator folds into the global orientation.

Frame (Anny's body frame): X towards the body's left, Y backwards, Z up; the body faces -Y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from core.canonical.joint_limits import POSE_JOINT_NAMES

J = {name: i for i, name in enumerate(POSE_JOINT_NAMES)}

# Rest-pose segment directions of the LEFT limbs, from joint centre to joint centre, measured on
# Anny's mean-shape body (all phenotypes 0.5; checked against the model by the tests).
REST_UPPER_ARM = np.array([0.167, -0.004, -0.188])
REST_FOREARM = np.array([0.117, -0.158, -0.115])
REST_THIGH = np.array([0.033, -0.032, -0.389])
# Elbow flexion axis (left): turning the forearm away from the upper arm's line is positive.
ELBOW_AXIS = np.cross(REST_UPPER_ARM, REST_FOREARM) / np.linalg.norm(np.cross(REST_UPPER_ARM, REST_FOREARM))
REST_ELBOW_FLEX_DEG = float(
    np.degrees(np.arccos(REST_UPPER_ARM @ REST_FOREARM / np.linalg.norm(REST_UPPER_ARM) / np.linalg.norm(REST_FOREARM)))
)


@dataclass(frozen=True)
class KeyPose:
    """body_pose: (19, 3) axis-angle. root: (3,) axis-angle of the pelvis in the body frame."""

    name: str
    body_pose: np.ndarray
    root: np.ndarray


def mirror_rotvec(rotvec: np.ndarray) -> np.ndarray:
    """Left <-> right mirror of axis-angle vectors (..., 3) across the sagittal plane."""
    return rotvec * np.array([1.0, -1.0, -1.0])


def mirror_pose(body_pose: np.ndarray) -> np.ndarray:
    """(..., 19, 3) the mirror-image pose: left and right joints swapped and mirrored."""
    order = [J[_other_side(name)] for name in POSE_JOINT_NAMES]
    return mirror_rotvec(body_pose[..., order, :])


def _other_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def _rotation_between(a: np.ndarray, b: np.ndarray) -> Rotation:
    """The smallest rotation taking direction ``a`` onto direction ``b``."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-9:
        if c > 0:
            return Rotation.identity()
        perp = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        return Rotation.from_rotvec(np.pi * perp / np.linalg.norm(perp))
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c))


def arm(elevation: float, azimuth: float, elbow: float, twist: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """LEFT shoulder and elbow axis-angles for an arm pointing at (elevation, azimuth), in degrees.

    elevation: upper arm above (+) or below (-) horizontal; -90 hangs down.
    azimuth: 0 points sideways (out to the left), 90 forwards, negative backwards.
    elbow: total flexion, 0 straight. twist: rotation of the arm about its own axis (+ turns the
    forearm up when the arm points sideways).
    """
    e, a = np.radians(elevation), np.radians(azimuth)
    direction = np.array([np.cos(e) * np.cos(a), -np.cos(e) * np.sin(a), np.sin(e)])
    swing = _rotation_between(REST_UPPER_ARM, direction)
    shoulder = Rotation.from_rotvec(-direction * np.radians(twist)) * swing
    bend = Rotation.from_rotvec(ELBOW_AXIS * np.radians(elbow - REST_ELBOW_FLEX_DEG))
    return shoulder.as_rotvec(), bend.as_rotvec()


def leg(flexion: float, abduction: float = 0.0, knee: float = 0.0, ankle: float = 0.0, rotation: float = 0.0) -> tuple[np.ndarray, ...]:
    """LEFT hip, knee and ankle axis-angles, in degrees: hip flexion (thigh forward), abduction
    (thigh out), internal/external rotation; knee flexion; ankle plantarflexion (+, toes down)."""
    hip = Rotation.from_euler("zyx", [rotation, -abduction, -flexion], degrees=True)
    return hip.as_rotvec(), np.radians([knee, 0.0, 0.0]), np.radians([ankle, 0.0, 0.0])


def pose(
    left_arm: tuple[float, ...] = (-80.0, 5.0, 12.0),
    right_arm: tuple[float, ...] | None = None,
    left_leg: tuple[float, ...] = (0.0,),
    right_leg: tuple[float, ...] | None = None,
    spine: tuple[float, float, float] = (0.0, 0.0, 0.0),
    head: tuple[float, float, float] = (0.0, 0.0, 0.0),
    collar: tuple[float, float] = (0.0, 0.0),
    root: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """A full (19, 3) body pose and (3,) pelvis rotation from anatomical parameters (degrees).

    Arms and legs take the arguments of :func:`arm` and :func:`leg`, written for the left side;
    ``right_*`` default to the mirror of the left. spine: (flexion, lean left, turn left), spread
    over the three spine joints. head: (nod down, tilt left, turn left), split between neck and
    head. collar: (raise, draw forward) for both shoulders. root: pelvis rotation (x: pitch
    forward, y: roll left, z: turn left).
    """
    body = np.zeros((19, 3))
    right_arm = left_arm if right_arm is None else right_arm
    right_leg = left_leg if right_leg is None else right_leg
    for side, arm_args, leg_args in (("left", left_arm, left_leg), ("right", right_arm, right_leg)):
        shoulder, elbow = arm(*arm_args)
        hip, knee, ankle = leg(*leg_args)
        mirror = mirror_rotvec if side == "right" else (lambda v: v)
        body[J[f"{side}_shoulder"]] = mirror(shoulder)
        body[J[f"{side}_elbow"]] = mirror(elbow)
        body[J[f"{side}_hip"]] = mirror(hip)
        body[J[f"{side}_knee"]] = mirror(knee)
        body[J[f"{side}_ankle"]] = mirror(ankle)
        body[J[f"{side}_collar"]] = mirror(np.radians([0.0, -collar[0], -collar[1]]))
    for joint, share in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.3)):
        body[J[joint]] = np.radians(spine) * share
    body[J["neck"]] = np.radians(head) * 0.5
    body[J["head"]] = np.radians(head) * 0.5
    return body, np.radians(root)


def _key_pose_specs() -> dict[str, dict]:
    """Anatomical descriptions of the key poses (degrees), see :func:`pose`."""
    down = (-80.0, 5.0, 12.0)
    return {
        "stand": dict(),
        "relaxed_a": dict(left_arm=(-50.0, 5.0, 25.0)),
        "t_pose": dict(left_arm=(0.0, 0.0, 0.0)),
        "arms_up": dict(left_arm=(75.0, 10.0, 10.0), collar=(15.0, 0.0), spine=(-5.0, 0.0, 0.0)),
        "arms_forward": dict(left_arm=(0.0, 85.0, 5.0), collar=(0.0, 10.0)),
        "hands_on_head": dict(left_arm=(25.0, 20.0, 140.0, 60.0), collar=(10.0, 0.0)),
        "wave_right": dict(left_arm=down, right_arm=(10.0, 15.0, 100.0, 80.0), head=(0.0, -5.0, -15.0)),
        "reach_up_right": dict(
            left_arm=(-75.0, 5.0, 15.0), right_arm=(80.0, 20.0, 5.0), spine=(0.0, 12.0, 0.0), left_leg=(0.0, 5.0)
        ),
        "reach_forward": dict(
            left_arm=(10.0, 80.0, 5.0), right_arm=(-5.0, 70.0, 15.0), spine=(25.0, 0.0, 10.0), root=(15.0, 0.0, 0.0),
            left_leg=(15.0, 0.0, 10.0), right_leg=(-5.0, 0.0, 5.0),
        ),
        "bend_forward": dict(
            left_arm=(-25.0, 85.0, 10.0), spine=(30.0, 0.0, 0.0), head=(-15.0, 0.0, 0.0), root=(45.0, 0.0, 0.0),
            left_leg=(45.0, 3.0, 5.0),
        ),
        "squat": dict(
            left_arm=(-5.0, 80.0, 10.0), spine=(15.0, 0.0, 0.0), head=(-10.0, 0.0, 0.0), root=(25.0, 0.0, 0.0),
            left_leg=(105.0, 15.0, 120.0, -25.0, -10.0),
        ),
        "crouch_sit": dict(
            left_arm=(-35.0, 70.0, 60.0), spine=(20.0, 0.0, 0.0), root=(30.0, 0.0, 0.0),
            left_leg=(110.0, 12.0, 115.0, -20.0, -5.0),
        ),
        "lunge_left": dict(
            left_arm=(-70.0, -10.0, 30.0), spine=(-5.0, 0.0, 0.0),
            left_leg=(80.0, 5.0, 90.0, -15.0), right_leg=(-20.0, 3.0, 75.0, 30.0),
        ),
        "one_leg_stand_left": dict(
            left_arm=(-15.0, 15.0, 10.0), right_leg=(75.0, 0.0, 90.0, 15.0), left_leg=(0.0, 3.0, 5.0)
        ),
        "kick_right": dict(
            left_arm=(-25.0, -15.0, 35.0), right_arm=(-25.0, 45.0, 40.0), root=(-10.0, 0.0, 0.0),
            right_leg=(70.0, 0.0, 15.0, 25.0), left_leg=(-5.0, 3.0, 12.0),
        ),
        "jumping_jack_open": dict(left_arm=(55.0, 0.0, 10.0), collar=(15.0, 0.0), left_leg=(0.0, 22.0, 5.0, 10.0)),
        "jumping_jack_closed": dict(left_arm=(-85.0, 0.0, 5.0), left_leg=(0.0, 2.0, 5.0)),
        "twist_torso": dict(left_arm=(-40.0, 50.0, 90.0), spine=(5.0, 0.0, 40.0), head=(0.0, 0.0, 20.0)),
        "side_bend_left": dict(
            left_arm=(-80.0, 0.0, 10.0), right_arm=(70.0, 0.0, 10.0), spine=(0.0, 28.0, 0.0), left_leg=(0.0, 5.0)
        ),
        "boxing_guard": dict(
            left_arm=(-45.0, 70.0, 125.0, 20.0), spine=(8.0, 0.0, -10.0), head=(8.0, 0.0, 0.0),
            left_leg=(25.0, 5.0, 20.0, -5.0), right_leg=(0.0, 10.0, 15.0, 5.0),
        ),
        "look_around": dict(head=(5.0, 0.0, 55.0), spine=(0.0, 0.0, 15.0)),
    }


def key_poses(mirrored: bool = True) -> dict[str, KeyPose]:
    """The key-pose library (name -> KeyPose). With ``mirrored``, every asymmetric pose also comes
    mirrored, named ``<name>:mirror``."""
    library: dict[str, KeyPose] = {}
    for name, spec in _key_pose_specs().items():
        body, root = pose(**spec)
        library[name] = KeyPose(name, body, root)
        if mirrored:
            flipped = mirror_pose(body)
            if not np.allclose(flipped, body, atol=1e-6):
                library[f"{name}:mirror"] = KeyPose(f"{name}:mirror", flipped, mirror_rotvec(root))
    return library

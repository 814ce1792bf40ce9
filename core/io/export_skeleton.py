"""The canonical skeleton's animation as BVH (Blender, MotionBuilder, most animation tools).

Y up, metres, ZXY Euler angles in degrees; the skeleton of the sequence's one body shape (the
median over frames). Every end joint (head, wrists, ankles) carries an End Site half its bone's
length further along that bone, so that importers draw a real end bone. The frame time is the
exported samples' (``frame_step / fps``) at full precision.
"""

from __future__ import annotations

import numpy as np
import roma
import torch
from scipy.spatial.transform import Rotation

from core.body import BodyModel
from core.io.export_axes import rotations_to_y_up, sample_rate, to_y_up
from core.io.results import FitResult

END_SITE_FRACTION = 0.5  # of the end joint's own bone


def sequence_shape(result: FitResult) -> np.ndarray:
    """(S,) the one body shape of the sequence: the median over frames."""
    return np.median(result.shape, axis=0).astype(np.float32)


def rest_skeleton(result: FitResult, body: BodyModel) -> tuple[list[str], tuple[int, ...], np.ndarray]:
    """Joint names (``root`` then the pose joints), parents and (J + 1, 3) rest positions in the
    body's frame for the sequence's shape."""
    parents, rest = body.rest_skeleton(torch.as_tensor(sequence_shape(result)))
    return ["root", *body.pose_joint_names], tuple(parents), rest.cpu().numpy().astype(np.float64)


def world_rotations(result: FitResult) -> np.ndarray:
    """(F, J + 1, 3, 3) the root's world rotation, then each joint's rotation relative to its parent."""
    root = roma.rotvec_to_rotmat(torch.as_tensor(result.global_orient, dtype=torch.float64)).numpy()
    joints = roma.rotvec_to_rotmat(torch.as_tensor(result.body_pose, dtype=torch.float64)).numpy()
    return np.concatenate([root[:, None], joints], axis=1)


def root_positions(result: FitResult, rest_root: np.ndarray) -> np.ndarray:
    """(F, 3) world positions of the root joint: the body turns about its frame's origin, so the
    root lands at ``R p0 + t``."""
    root = roma.rotvec_to_rotmat(torch.as_tensor(result.global_orient, dtype=torch.float64)).numpy()
    return root @ rest_root + result.transl.astype(np.float64)


def bvh_text(result: FitResult, body: BodyModel) -> str:
    """The BVH file (see the module doc)."""
    names, parents, rest_body = rest_skeleton(result, body)
    # The body frame is turned into the Z-up world by global_orient; the BVH's rest skeleton is
    # the body frame's read in Y-up axes (the root's rotation carries the rest).
    rest = to_y_up(rest_body)
    children = {j: [c for c, p in enumerate(parents) if p == j] for j in range(len(parents))}
    lines = ["HIERARCHY"]
    order: list[int] = []

    def write(joint: int, depth: int) -> None:
        order.append(joint)
        pad = "  " * depth
        parent = parents[joint]
        offset = rest[joint] - (rest[parent] if parent >= 0 else 0.0)
        if parent < 0:
            lines.append(f"ROOT {names[joint]}")
            channels = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
        else:
            lines.append(f"{pad}JOINT {names[joint]}")
            channels = "CHANNELS 3 Zrotation Xrotation Yrotation"
        lines.extend([f"{pad}{{", f"{pad}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}", f"{pad}  {channels}"])
        for child in children[joint]:
            write(child, depth + 1)
        if not children[joint]:
            end = END_SITE_FRACTION * offset
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    write(0, 0)
    rotations = rotations_to_y_up(world_rotations(result))
    root_pos = to_y_up(root_positions(result, rest_body[0]))
    euler = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True)
    euler = euler.reshape(result.num_frames, -1, 3)[:, order]
    lines += ["MOTION", f"Frames: {result.num_frames}", f"Frame Time: {1.0 / sample_rate(result.fps, result.frame_indices)!r}"]
    for f in range(result.num_frames):
        values = [*root_pos[f], *euler[f].reshape(-1)]
        lines.append(" ".join(f"{v:.6f}" for v in values))
    return "\n".join(lines) + "\n"



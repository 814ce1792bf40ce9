"""Exports of a fitted result for other tools.

* ``obj``: the fused mesh of every frame (Wavefront OBJ, world frame Z up, metres) — Blender
  (Import OBJ with "Z up"), MeshLab, any 3D tool.
* ``bvh``: the canonical skeleton's animation (Y up, metres, ZXY Euler) — Blender, MotionBuilder.
* ``trc``: the 17 keypoints as OpenSim markers (Y up, millimetres) — OpenSim's scaling and IK.
* ``json``: keypoints, cameras (intrinsics, world->camera extrinsics, centres) and body
  parameters as plain lists — your own code.
* ``npz``: a copy of result.npz.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import roma
import torch
from scipy.spatial.transform import Rotation

from core.body import BodyModel, BodyModelConfig, load_body_model
from core.io.atomic import atomic_write_bytes, atomic_write_text
from core.io.results import RESULT_FILE, FitResult

FORMATS = ("obj", "bvh", "trc", "json", "npz")

# Our world is Z up; BVH and OpenSim are Y up: x -> x, z -> y, y -> -z.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def fused_vertices(body: BodyModel, result: FitResult, frames: np.ndarray | None = None, batch: int = 16):
    """Yield (frame index, (V, 3) world vertices) of the fused body, a few frames at a time."""
    frames = np.arange(result.num_frames) if frames is None else frames
    with torch.no_grad():
        for start in range(0, len(frames), batch):
            idx = frames[start : start + batch]
            out = body(
                torch.as_tensor(result.global_orient[idx]),
                torch.as_tensor(result.body_pose[idx]),
                torch.as_tensor(result.shape[idx]),
                torch.as_tensor(result.transl[idx]),
            )
            for i, verts in zip(idx, out.vertices.numpy()):
                yield int(i), verts


def obj_text(vertices: np.ndarray, faces: np.ndarray) -> str:
    """An OBJ file's text for one triangle mesh."""
    out = io.StringIO()
    out.write("# CMANet Studio fused body, world frame Z up, metres\n")
    np.savetxt(out, vertices, fmt="v %.5f %.5f %.5f")
    np.savetxt(out, faces + 1, fmt="f %d %d %d")
    return out.getvalue()


def export_obj(result: FitResult, body: BodyModel, folder: Path, progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """One OBJ per frame, ``mesh_000000.obj`` … (named by source frame number)."""
    faces = body.faces.cpu().numpy()
    paths = []
    for i, verts in fused_vertices(body, result):
        path = folder / f"mesh_{int(result.frame_indices[i]):06d}.obj"
        atomic_write_text(path, obj_text(verts, faces))
        paths.append(path)
        if progress is not None:
            progress(len(paths), result.num_frames)
    return paths


def bvh_text(result: FitResult, body: BodyModel) -> str:
    """The BVH of the fused body's canonical skeleton (shape of the first frame)."""
    parents, rest = body.rest_skeleton(torch.as_tensor(result.shape[0]))
    rest = rest.cpu().numpy() @ Z_UP_TO_Y_UP.T
    names = ["root", *body.pose_joint_names]
    children = {j: [c for c, p in enumerate(parents) if p == j] for j in range(len(parents))}
    lines = ["HIERARCHY"]

    def write(joint: int, depth: int) -> None:
        pad = "  " * depth
        offset = rest[joint] - (rest[parents[joint]] if parents[joint] >= 0 else 0.0)
        if parents[joint] < 0:
            lines.append(f"ROOT {names[joint]}")
            channels = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
        else:
            lines.append(f"{pad}JOINT {names[joint]}")
            channels = "CHANNELS 3 Zrotation Xrotation Yrotation"
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
        lines.append(f"{pad}  {channels}")
        if children[joint]:
            for child in children[joint]:
                write(child, depth + 1)
        else:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    order: list[int] = []

    def visit(joint: int) -> None:
        order.append(joint)
        for child in children[joint]:
            visit(child)

    write(0, 0)
    visit(0)
    lines.append("MOTION")
    lines.append(f"Frames: {result.num_frames}")
    lines.append(f"Frame Time: {1.0 / max(result.fps, 1e-6):.6f}")
    conv = Z_UP_TO_Y_UP
    root_rot = roma.rotvec_to_rotmat(torch.as_tensor(result.global_orient)).numpy()
    joint_rot = roma.rotvec_to_rotmat(torch.as_tensor(result.body_pose)).numpy()
    rotations = np.concatenate([root_rot[:, None], joint_rot], axis=1)  # (F, J+1, 3, 3)
    rotations = conv @ rotations @ conv.T
    # The root turns about its own rest position: its BVH position is R p0 + t.
    root_pos = (root_rot @ (rest[0] @ conv)[:, None])[..., 0] + result.transl
    root_pos = root_pos @ conv.T
    euler = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True)
    euler = euler.reshape(result.num_frames, -1, 3)[:, order]
    for f in range(result.num_frames):
        values = [*root_pos[f], *euler[f].reshape(-1)]
        lines.append(" ".join(f"{v:.5f}" for v in values))
    return "\n".join(lines) + "\n"


def trc_text(result: FitResult) -> str:
    """OpenSim's marker file: the 17 keypoints, Y up, millimetres."""
    names = [str(n) for n in result.keypoint_names]
    points = result.joints3d @ Z_UP_TO_Y_UP.T * 1000.0
    frames, markers = points.shape[:2]
    header = [
        "PathFileType\t4\t(X/Y/Z)\tcmanet.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{result.fps:g}\t{result.fps:g}\t{frames}\t{markers}\tmm\t{result.fps:g}\t1\t{frames}",
        "Frame#\tTime\t" + "\t\t\t".join(names),
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(markers)),
    ]
    rows = []
    for f in range(frames):
        coords = "\t".join(f"{v:.3f}" for v in points[f].reshape(-1))
        rows.append(f"{f + 1}\t{result.frame_indices[f] / result.fps:.5f}\t{coords}")
    return "\n".join(header + [""] + rows) + "\n"


def json_text(result: FitResult) -> str:
    """Keypoints, cameras and body parameters as plain JSON."""
    centres = -np.einsum("fvji,fvj->fvi", result.cam_R, result.cam_t)
    data = {
        "world": "Z up, metres, floor at z=0; cameras: OpenCV axes, X_cam = R X_world + t",
        "fps": result.fps,
        "frame_indices": result.frame_indices.tolist(),
        "keypoint_names": [str(n) for n in result.keypoint_names],
        "view_names": [str(n) for n in result.view_names],
        "joints3d": np.round(result.joints3d, 5).tolist(),
        "cameras": [
            {
                "name": str(name),
                "image_size": result.image_sizes[v].tolist(),
                "focal_px": np.round(result.cam_f[:, v], 3).tolist(),
                "principal_point": np.round(result.cam_c[:, v], 3).tolist(),
                "R": np.round(result.cam_R[:, v], 6).tolist(),
                "t": np.round(result.cam_t[:, v], 5).tolist(),
                "centre": np.round(centres[:, v], 5).tolist(),
            }
            for v, name in enumerate(result.view_names)
        ],
        "body": {
            "model": result.body_model,
            "pose_joint_names": [str(n) for n in result.pose_joint_names],
            "global_orient": np.round(result.global_orient, 6).tolist(),
            "transl": np.round(result.transl, 5).tolist(),
            "body_pose": np.round(result.body_pose, 6).tolist(),
            "shape": np.round(result.shape, 5).tolist(),
        },
    }
    return json.dumps(data)


def export_result(
    result_path: Path,
    out: Path,
    formats: tuple[str, ...],
    body: BodyModel | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the chosen formats of ``result_path`` (a folder or result.npz) into ``out``."""
    result = FitResult.load(result_path)
    out.mkdir(parents=True, exist_ok=True)
    if body is None and ({"obj", "bvh"} & set(formats)):
        body = load_body_model(BodyModelConfig(name=result.body_model))  # type: ignore[arg-type]
    written: list[Path] = []
    for fmt in formats:
        if fmt == "obj":
            written += export_obj(result, body, out / "meshes", progress)
        elif fmt == "bvh":
            written.append(atomic_write_text(out / "skeleton.bvh", bvh_text(result, body)))
        elif fmt == "trc":
            written.append(atomic_write_text(out / "markers.trc", trc_text(result)))
        elif fmt == "json":
            written.append(atomic_write_text(out / "result.json", json_text(result)))
        elif fmt == "npz":
            src = result_path / RESULT_FILE if result_path.is_dir() else result_path
            written.append(atomic_write_bytes(out / RESULT_FILE, src.read_bytes()))
    return written

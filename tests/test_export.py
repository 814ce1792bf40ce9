"""Exports: the BVH skeleton reproduces the body model's joints; OBJ, TRC and JSON are readable."""

import json
import subprocess
import sys

import numpy as np
import pytest
import roma
import torch
from scipy.spatial.transform import Rotation

from core.body import load_body_model
from core.io.export import Z_UP_TO_Y_UP, bvh_text, export_result
from core.io.results import FitResult
from core.keypoints import COCO17_NAMES


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def make_result(body, frames=4, views=2, seed=0) -> FitResult:
    """A result built from known body parameters (no fitting), cameras looking at the origin."""
    gen = torch.Generator().manual_seed(seed)
    orient = torch.randn(frames, 3, generator=gen) * 0.4
    pose = torch.randn(frames, body.num_pose_joints, 3, generator=gen) * 0.3
    shape = torch.full((frames, body.shape_dim), 0.5)
    transl = torch.randn(frames, 3, generator=gen)
    with torch.no_grad():
        joints = body(orient, pose, shape, transl, vertices=False).keypoints.numpy()
    J, S = body.num_pose_joints, body.shape_dim
    z = lambda *s: np.zeros(s, dtype=np.float32)  # noqa: E731
    cam_R = np.broadcast_to(np.eye(3, dtype=np.float32), (frames, views, 3, 3)).copy()
    return FitResult(
        keypoint_names=np.array(COCO17_NAMES), view_names=np.array([f"cam{v}" for v in range(views)]),
        frame_indices=np.arange(frames), joints3d=joints, cam_R=cam_R, cam_t=z(frames, views, 3) + [0, 0, 4],
        cam_f=z(frames, views) + 1000, cam_c=z(frames, views, 2) + 500,
        global_orient=orient.numpy(), transl=transl.numpy(), body_pose=pose.numpy(), shape=shape.numpy(),
        irv_joints3d=z(frames, views, 17, 3), irv_global_orient=z(frames, views, 3), irv_transl=z(frames, views, 3),
        irv_body_pose=z(frames, views, J, 3), irv_shape=z(frames, views, S), irv_reproj_px=z(frames, views),
        iev_reproj_px=z(frames, views), keypoints2d=z(frames, views, 17, 3), image_sizes=np.array([[1000, 1000]] * views),
        fps=30.0, body_model=body.name, pose_joint_names=np.array(body.pose_joint_names), mode="optimize",
        irv_cam_f=z(frames, views) + 1000,
    )


def parse_bvh(text):
    """Minimal BVH reader: joint names, parents, offsets, per-frame channel values."""
    names, parents, offsets, stack = [], [], [], []
    lines = iter(text.splitlines())
    for line in lines:
        words = line.split()
        if not words:
            continue
        if words[0] in ("ROOT", "JOINT"):
            names.append(words[1])
            parents.append(stack[-1] if stack else -1)
        elif words[0] == "End":
            next(lines), next(lines), next(lines)  # { OFFSET }
        elif words[0] == "{":
            stack.append(len(names) - 1)
        elif words[0] == "}":
            stack.pop()
        elif words[0] == "OFFSET":
            offsets.append([float(w) for w in words[1:]])
        elif words[0] == "MOTION":
            break
    frames = int(next(lines).split()[1])
    next(lines)
    motion = np.array([[float(w) for w in next(lines).split()] for _ in range(frames)])
    return names, parents, np.array(offsets), motion


def bvh_joint_positions(names, parents, offsets, motion):
    """World positions (F, J, 3) by forward kinematics of ZXY Euler channels."""
    frames = motion.shape[0]
    rot = Rotation.from_euler("ZXY", motion[:, 3:].reshape(-1, 3), degrees=True).as_matrix().reshape(frames, -1, 3, 3)
    pos = np.zeros((frames, len(names), 3))
    glob = np.zeros((frames, len(names), 3, 3))
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j] = motion[:, :3]
            glob[:, j] = rot[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("fij,j->fi", glob[:, p], offsets[j])
            glob[:, j] = glob[:, p] @ rot[:, j]
    return pos


def test_bvh_reproduces_anny_joints(body):
    result = make_result(body)
    names, parents, offsets, motion = parse_bvh(bvh_text(result, body))
    canonical = ["root", *body.pose_joint_names]
    assert sorted(names) == sorted(canonical)
    positions = bvh_joint_positions(names, parents, offsets, motion) @ Z_UP_TO_Y_UP  # back to Z up
    positions = positions[:, [names.index(n) for n in canonical]]
    # Anny's own posed bone positions for the same parameters
    with torch.no_grad():
        pose = body.bone_transforms(torch.as_tensor(result.global_orient), torch.as_tensor(result.body_pose), torch.as_tensor(result.transl))
        bones = body.full_model(pose_parameters=pose, phenotype_kwargs=torch.as_tensor(result.shape))["bone_poses"][..., :3, 3]
    expected = bones[:, [0] + body.pose_bone_idx.tolist()].numpy()
    assert np.abs(positions - expected).max() < 1e-4


def test_export_all_formats_cli(body, tmp_path):
    result = make_result(body, frames=3)
    folder = tmp_path / "res"
    result.save(folder)
    before = (folder / "result.npz").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "core.cli", "export", str(folder), "--format", "obj,bvh,trc,json,npz",
                           "--out", str(tmp_path / "exp")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "result.npz").read_bytes() == before  # input untouched
    objs = sorted((tmp_path / "exp" / "meshes").glob("*.obj"))
    assert len(objs) == 3
    verts = [line for line in objs[0].read_text().splitlines() if line.startswith("v ")]
    assert len(verts) == 13718
    data = json.loads((tmp_path / "exp" / "result.json").read_text())
    assert np.allclose(data["joints3d"], result.joints3d, atol=1e-4)
    trc = (tmp_path / "exp" / "markers.trc").read_text().splitlines()
    first = np.array(trc[6].split("\t")[2:], dtype=float).reshape(17, 3)
    assert np.allclose(first, result.joints3d[0] @ Z_UP_TO_Y_UP.T * 1000, atol=0.01)
    assert FitResult.load(tmp_path / "exp" / "result.npz").num_frames == 3


def test_export_bad_format_and_missing_result(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core.cli", "export", str(tmp_path), "--format", "fbx"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error:") and "fbx" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "core.cli", "export", str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2 and "nope: no such result file" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

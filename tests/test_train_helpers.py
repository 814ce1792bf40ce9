"""Helpers of the training tests: small keypoints-only multi-view sequences of a posed body.

Independent of core.synth on purpose: the training tests need a few frames quickly, not
realistic motion.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import yaml

from core.body import BodyModel
from core.geometry.camera import project


def _look_at(position: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World->camera R, t of a level camera at ``position`` looking at ``target`` (Z up)."""
    z = target - position
    z /= np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x /= np.linalg.norm(x)
    rot = np.stack([x, np.cross(z, x), z])
    return rot, -rot @ position


def write_sequence(out: Path, body: BodyModel, views: int = 3, frames: int = 10, seed: int = 0) -> Path:
    """A keypoints-only sequence (sequence.yaml + keypoints.npz, and gt.npz) of a body turning
    and moving its limbs in front of ``views`` cameras around it, with noisy detections."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    width, height = 640, 480
    focal = 0.96 * width
    rots, trans = [], []
    for v in range(views):
        angle = 2 * math.pi * v / views + rng.uniform(-0.3, 0.3)
        radius = rng.uniform(3.5, 5.0)
        rot, t = _look_at(np.array([radius * math.cos(angle), radius * math.sin(angle), 1.5]), np.array([0.0, 0.0, 0.9]))
        rots.append(rot)
        trans.append(t)
    rots, trans = np.array(rots), np.array(trans)
    time = np.arange(frames) / 10.0
    pose = rng.normal(0, 0.1, (1, body.num_pose_joints, 3)) + rng.normal(0, 0.2, (1, body.num_pose_joints, 3)) * np.sin(time)[:, None, None]
    yaw = rng.uniform(0, 2 * math.pi) + 0.5 * time
    orient = np.stack([np.zeros_like(yaw), np.zeros_like(yaw), yaw], -1)
    transl = np.stack([0.3 * np.sin(time), 0.3 * np.cos(time), np.full_like(time, 0.9)], -1)
    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        joints = body(f32(orient), f32(pose), body.mean_shape()[None].expand(frames, -1).cpu(), f32(transl), vertices=False).keypoints.numpy()
    cam = np.einsum("vij,fkj->fvki", rots, joints) + trans[None, :, None]
    uv = project(f32(cam), torch.full((frames, views), focal), f32([[width / 2, height / 2]]).expand(frames, views, 2)).numpy()
    uv = uv + rng.normal(0, 2.0, uv.shape)
    conf = rng.uniform(0.6, 1.0, uv.shape[:-1])
    conf[rng.random(conf.shape) < 0.05] = 0.1
    np.savez(out / "keypoints.npz", keypoints2d=np.concatenate([uv, conf[..., None]], -1).astype(np.float32))
    cameras = [{"name": f"cam{v + 1:02d}", "image_size": [width, height]} for v in range(views)]
    (out / "sequence.yaml").write_text(yaml.safe_dump({"fps": 10, "cameras": cameras}))
    np.savez(out / "gt.npz", joints3d=joints.astype(np.float32), cam_R=rots.astype(np.float32), cam_t=trans.astype(np.float32))
    return out

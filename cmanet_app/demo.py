"""The built-in demo: a synthetic sequence (:mod:`core.synth`, with rendered images when
:mod:`core.render` is there), fitted once and cached under ``<cache>/demo`` so later starts are
instant.

Until :mod:`core.synth` exposes ``make_synthetic_sequence``, a keypoints-only stand-in is written
here (the body model in its rest pose, turning slowly, seen by a ring of cameras).
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from cmanet_app import jobs
from cmanet_app.paths import demo_dir
from core.errors import CancelledError
from core.io.results import RESULT_FILE

log = logging.getLogger(__name__)

DEMO_VIEWS = 4
DEMO_FRAMES = 30
DEMO_SEED = 7
STAMP_FILE = "demo.json"
DEMO_VERSION = 1


def _synth_function():
    """core.synth's generator, or None while it does not exist yet."""
    try:
        module = importlib.import_module("core.synth")
    except ImportError:
        return None
    return getattr(module, "make_synthetic_sequence", None)


def render_available() -> bool:
    """True when core.render provides the mesh renderer that ``--render`` needs."""
    try:
        module = importlib.import_module("core.render")
    except ImportError:
        return False
    return hasattr(module, "MeshRenderer")


def _generator() -> tuple[str, bool]:
    synth = _synth_function()
    if synth is None:
        return "fallback", False
    return "core.synth", render_available()


def make_synthetic(out: Path, views: int, frames: int, seed: int, render: bool = False) -> Path:
    """``cmanet synth OUT --views --frames --seed [--render]``, lending core.synth the app's
    already loaded body model when it accepts one (loading another takes seconds)."""
    import inspect

    synth = _synth_function()
    kwargs = {}
    if "body_model" in inspect.signature(synth).parameters:
        from cmanet_app.bodies import body_provider

        with body_provider().use("anny") as body:
            return synth(out, views=views, frames=frames, seed=seed, render=render, body_model=body)
    return synth(out, views=views, frames=frames, seed=seed, render=render, **kwargs)


def demo_paths() -> tuple[Path, Path]:
    """(sequence folder, result folder) of the demo."""
    base = demo_dir()
    return base / "sequence", base / "result"


def demo_ready() -> bool:
    """True when the cached demo is complete and made by the current generator."""
    base = demo_dir()
    seq, res = demo_paths()
    try:
        stamp = json.loads((base / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    generator, render = _generator()
    return (stamp.get("version") == DEMO_VERSION and stamp.get("generator") == generator
            and stamp.get("render") == render and (res / RESULT_FILE).is_file() and seq.is_dir())


def build_demo(progress, should_cancel, config=None) -> tuple[Path, Path]:
    """Make (if needed) and fit the demo; returns (sequence folder, result folder)."""
    from core.io.atomic import atomic_write_json

    base = demo_dir()
    seq, res = demo_paths()
    if demo_ready():
        return seq, res
    generator, render = _generator()
    for folder in (seq, res):  # both live in our own cache folder; an incomplete demo is remade
        if folder.exists():
            shutil.rmtree(folder)
    (base / STAMP_FILE).unlink(missing_ok=True)
    base.mkdir(parents=True, exist_ok=True)
    progress("synth", 0, 1)
    if generator == "core.synth":
        make_synthetic(seq, DEMO_VIEWS, DEMO_FRAMES, DEMO_SEED, render)
    else:
        write_fallback_sequence(seq, DEMO_VIEWS, DEMO_FRAMES, DEMO_SEED)
    progress("synth", 1, 1)
    if should_cancel():
        raise CancelledError("demo cancelled")
    jobs.fit(seq, res, config or jobs.fit_config(), progress, should_cancel, mode=None)  # cmanet fit's default mode
    atomic_write_json(base / STAMP_FILE, {"version": DEMO_VERSION, "generator": generator, "render": render})
    return seq, res


# ---------------------------------------------------------------------- stand-in generator


def look_at(eye: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World->camera (R, t) of an OpenCV camera (x right, y down, z forward) at ``eye`` looking at
    ``target``, world Z up."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    return R, -R @ eye


def write_fallback_sequence(out: Path, views: int, frames: int, seed: int) -> Path:
    """A keypoints-only sequence (sequence.yaml, keypoints.npz, gt.npz) of the body model at rest,
    turning slowly, seen by ``views`` cameras around it, with noisy and partly unreliable
    detections. Stand-in for ``cmanet synth`` (replace once core.synth is there)."""
    import torch
    import yaml

    from cmanet_app.bodies import body_provider
    from core.geometry.camera import default_focal_px, project
    from core.io.atomic import atomic_write_npz, atomic_write_text
    from core.keypoints import COCO17_NAMES

    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    yaw = 0.6 * np.sin(2 * np.pi * t / 2.0)
    orient = np.zeros((frames, 3), np.float32)
    orient[:, 2] = yaw
    transl = np.zeros((frames, 3), np.float32)
    transl[:, 0] = 0.3 * np.sin(2 * np.pi * t / 3.0)
    transl[:, 2] = 0.86  # rest-pose ankles are ~0.78 m below the root: feet on the floor
    with body_provider().use("anny") as body, torch.no_grad():
        pose = np.zeros((frames, body.num_pose_joints, 3), np.float32)
        pose += rng.normal(0.0, 0.05, pose.shape).astype(np.float32)
        mean_shape = body.mean_shape()[None].expand(frames, -1).contiguous()
        joints = body(torch.as_tensor(orient), torch.as_tensor(pose), mean_shape,
                      torch.as_tensor(transl), vertices=False).keypoints.numpy()

    sizes = [(640, 480), (640, 480), (800, 600), (480, 640)][:views] + [(640, 480)] * max(0, views - 4)
    cam_R, cam_t, cam_f, cam_c = [], [], [], []
    for v in range(views):
        angle = -np.pi / 2 + 2 * np.pi * v / views + rng.uniform(-0.2, 0.2)
        eye = np.array([3.2 * np.cos(angle), 3.2 * np.sin(angle), 1.3 + rng.uniform(-0.2, 0.2)])
        R, tr = look_at(eye, np.array([0.0, 0.0, 0.9]))
        cam_R.append(R)
        cam_t.append(tr)
        cam_f.append(default_focal_px(*sizes[v]))
        cam_c.append((sizes[v][0] / 2, sizes[v][1] / 2))
    cam_R, cam_t = np.array(cam_R, np.float32), np.array(cam_t, np.float32)
    cam_f, cam_c = np.array(cam_f, np.float32), np.array(cam_c, np.float32)

    cam_points = np.einsum("vij,fkj->fvki", cam_R, joints) + cam_t[None, :, None]
    uv = project(torch.as_tensor(cam_points), torch.as_tensor(cam_f)[None].expand(frames, -1),
                 torch.as_tensor(cam_c)[None].expand(frames, -1, -1)).numpy()
    keypoints = np.zeros((frames, views, 17, 3), np.float32)
    keypoints[..., :2] = uv + rng.normal(0.0, 2.0, uv.shape)
    keypoints[..., 2] = rng.uniform(0.6, 1.0, (frames, views, 17))
    unreliable = rng.random((frames, views, 17)) < 0.08
    keypoints[..., 2][unreliable] = rng.uniform(0.0, 0.3, unreliable.sum())
    keypoints[..., :2][unreliable] += rng.normal(0.0, 25.0, (int(unreliable.sum()), 2))

    out.mkdir(parents=True, exist_ok=True)
    config = {"fps": 30, "cameras": [{"name": f"cam{v + 1:02d}", "image_size": list(sizes[v])} for v in range(views)]}
    atomic_write_text(out / "sequence.yaml", yaml.safe_dump(config, sort_keys=False))
    names = np.array([f"cam{v + 1:02d}" for v in range(views)])
    atomic_write_npz(out / "keypoints.npz", keypoints2d=keypoints, view_names=names)
    atomic_write_npz(out / "gt.npz", joints3d=joints.astype(np.float32), cam_R=cam_R, cam_t=cam_t, cam_f=cam_f,
                     cam_c=cam_c, keypoint_names=np.array(COCO17_NAMES), keypoints2d=keypoints,
                     global_orient=orient, body_pose=pose, transl=transl,
                     shape=mean_shape.numpy())
    return out

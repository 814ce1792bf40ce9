"""Synthetic multi-view sequences with ground truth: in memory, and written in the input format.

:func:`generate_sequence` builds a :class:`SyntheticSequence` (a random body shape, a plausible
motion, a random camera rig, simulated faulty detections) without touching the disk;
:func:`write_sequence` writes one as a sequence folder (DESIGN.md, "Input: a multi-view sequence"):

```
OUT/sequence.yaml          fps, cameras (name, image_size; focal_px and principal_point only
                           with known_intrinsics)
OUT/keypoints.npz          keypoints2d (F, V, 17, 3) float32: the simulated detections
OUT/gt.npz                 the ground truth (see SyntheticSequence.gt_arrays)
OUT/images/camNN/000000.png ... (with render=True)
```

The folder appears whole or not at all: everything is written into a hidden sibling folder that
replaces OUT at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.body import load_body_model
from core.errors import InputError
from core.io.atomic import atomic_write_npz, atomic_write_text
from core.keypoints import COCO17_NAMES
from core.synth.detections import DetectionFaults, Detections, simulate_detections
from core.synth.motion import Motion, generate_motion
from core.synth.rig import CameraRig, random_rig

GENERATOR = "cmanet synth"
GT_NPZ = "gt.npz"
KEYPOINTS_NPZ = "keypoints.npz"
SEQUENCE_YAML = "sequence.yaml"
IMAGES_DIR = "images"
# What a synth output folder holds; anything else in OUT means it is someone else's folder.
_OUTPUT_ENTRIES = {GT_NPZ, KEYPOINTS_NPZ, SEQUENCE_YAML, IMAGES_DIR}
MIN_VIEWS, MAX_VIEWS = 2, 8
# Phenotype ranges of the random bodies (Anny: gender, age, muscle, weight, height, proportions).
# Age starts at 0.35 (about 18 years in MakeHuman's scale): adults, not children.
SHAPE_RANGES = ((0.1, 0.9), (0.35, 0.9), (0.1, 0.9), (0.1, 0.9), (0.1, 0.9), (0.1, 0.9))
# Vertices per frame used to frame the cameras (every n-th of the mesh).
_FRAMING_STRIDE = 23


@dataclass
class SyntheticSequence:
    """A synthetic sequence held in memory (F frames, V views, K = 17 keypoints).

    Cameras: cam_R (V, 3, 3) world->camera, cam_t (V, 3) metres, cam_f (V,) pixels, cam_c (V, 2)
    pixels, image_size (V, 2) (width, height). Truth: joints3d (F, 17, 3) world metres; body
    parameters global_orient (F, 3) world axis-angle, body_pose (F, 19, 3), shape (6,), transl
    (F, 3). keypoints2d_clean (F, V, 17, 3): the projected truth with confidence 1.
    keypoints2d (F, V, 17, 3): the simulated detections. vertices: (F, N, 3) world mesh vertices
    (for rendering; not written). faults: the detector's fault masks.
    """

    seed: int
    fps: float
    view_names: tuple[str, ...]
    image_size: np.ndarray
    cam_R: np.ndarray
    cam_t: np.ndarray
    cam_f: np.ndarray
    cam_c: np.ndarray
    joints3d: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    shape: np.ndarray
    transl: np.ndarray
    keypoints2d_clean: np.ndarray
    keypoints2d: np.ndarray
    detections: Detections
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None
    clips: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.joints3d.shape[0])

    @property
    def num_views(self) -> int:
        return len(self.view_names)

    @property
    def rig(self) -> CameraRig:
        return CameraRig(self.view_names, self.cam_R, self.cam_t, self.cam_f, self.cam_c, self.image_size)

    def gt_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``gt.npz``."""
        d = self.detections
        return {
            "joints3d": self.joints3d.astype(np.float32),
            "cam_R": self.cam_R.astype(np.float32),
            "cam_t": self.cam_t.astype(np.float32),
            "cam_f": self.cam_f.astype(np.float32),
            "cam_c": self.cam_c.astype(np.float32),
            "image_size": self.image_size.astype(np.int32),
            "keypoint_names": np.array(COCO17_NAMES),
            "view_names": np.array(self.view_names),
            "body_model": np.array("anny"),
            "global_orient": self.global_orient.astype(np.float32),
            "body_pose": self.body_pose.astype(np.float32),
            "shape": self.shape.astype(np.float32),
            "transl": self.transl.astype(np.float32),
            "keypoints2d_clean": self.keypoints2d_clean.astype(np.float32),
            "keypoints2d": self.keypoints2d.astype(np.float32),
            "fault_occluded": d.occluded,
            "fault_out_of_frame": d.out_of_frame,
            "fault_missing": d.missing,
            "fault_outlier": d.outlier,
            "fault_swapped": d.swapped,
            "detection_bias": d.bias,
            "fps": np.array(self.fps, dtype=np.float32),
            "seed": np.array(self.seed, dtype=np.int64),
            "generator": np.array(GENERATOR),
        }


def random_shape(rng: np.random.Generator) -> np.ndarray:
    """(6,) Anny phenotypes of a random adult."""
    return np.array([rng.uniform(lo, hi) for lo, hi in SHAPE_RANGES])


def _pose_body(body_model, motion: Motion, shape: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(F, 17, 3) keypoints and (F, N, 3) vertices of the posed body, world metres."""
    keypoints, vertices = [], []
    device = body_model.device

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device)

    with torch.no_grad():
        for s in range(0, motion.num_frames, batch):
            e = min(s + batch, motion.num_frames)
            out = body_model(
                tensor(motion.global_orient[s:e]),
                tensor(motion.body_pose[s:e]),
                tensor(shape).expand(e - s, -1),
                tensor(motion.transl[s:e]),
            )
            keypoints.append(out.keypoints.cpu().numpy())
            vertices.append(out.vertices.cpu().numpy())
    return np.concatenate(keypoints).astype(np.float64), np.concatenate(vertices)


def generate_sequence(
    views: int = 4,
    frames: int = 30,
    seed: int = 0,
    fps: float = 30.0,
    noise_px: float = 4.0,
    faults: DetectionFaults | None = None,
    image_size: tuple[int, int] | None = None,
    body_model=None,
    keep_vertices: bool = True,
    rig: CameraRig | None = None,
) -> SyntheticSequence:
    """A synthetic sequence in memory; the same arguments give the same sequence.

    Args:
        views: cameras, 2-8. frames: frames, >= 1. seed: seeds every random choice.
        fps: frame rate of the motion. noise_px: detection noise at a 1000 px image height
            (overrides ``faults.noise_px``). faults: the detector's fault rates.
        image_size: (width, height) for every camera (default: drawn per camera).
        body_model: a :class:`core.body.BodyModel` (default: Anny, loaded here).
        keep_vertices: keep the posed mesh (needed to render).
        rig: the cameras (default: a random rig framing this sequence's person); ``views`` and
            ``image_size`` are then the rig's.
    """
    views = views if rig is None else rig.num_views
    if not MIN_VIEWS <= views <= MAX_VIEWS:
        raise InputError(f"--views must be between {MIN_VIEWS} and {MAX_VIEWS}, got {views}")
    if frames < 1:
        raise InputError(f"--frames must be at least 1, got {frames}")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"--fps must be a positive number, got {fps}")
    if not (np.isfinite(noise_px) and noise_px >= 0):
        raise InputError(f"--noise must be a non-negative number of pixels, got {noise_px}")
    if body_model is None:
        body_model = load_body_model()
    if body_model.name != "anny":
        raise ValueError("synthetic sequences use the Anny body model (its phenotype shapes and canonical joints)")

    # Independent streams, so changing one part (say, the fault rates) leaves the others alone.
    streams = np.random.SeedSequence(seed).spawn(4)
    rng_body, rng_motion, rng_rig, rng_detect = (np.random.default_rng(s) for s in streams)

    shape = random_shape(rng_body)
    motion = generate_motion(frames, fps, rng_motion)
    joints, vertices = _pose_body(body_model, motion, shape)
    # Feet on the floor: lift (or lower) every frame so its lowest vertex touches z = 0.
    lift = -vertices[..., 2].min(axis=1)
    joints[..., 2] += lift[:, None]
    vertices[..., 2] += lift[:, None].astype(vertices.dtype)
    transl = motion.transl.copy()
    transl[:, 2] += lift

    framing = np.concatenate([joints.reshape(-1, 3), vertices[:, ::_FRAMING_STRIDE].reshape(-1, 3)])
    rig = rig if rig is not None else random_rig(views, rng_rig, framing, image_size=image_size)
    pixels, _ = rig.project(joints)  # (F, V, 17, 2)
    joints_cam = np.einsum("vij,fkj->fvki", rig.rotation, joints) + rig.translation[None, :, None, :]

    faults = dataclasses.replace(faults or DetectionFaults(), noise_px=float(noise_px))
    detections = simulate_detections(joints_cam, pixels, rig.image_size, rng_detect, faults)
    clean = np.concatenate([pixels, np.ones(pixels.shape[:-1] + (1,))], axis=-1)

    return SyntheticSequence(
        seed=int(seed),
        fps=float(fps),
        view_names=rig.names,
        image_size=rig.image_size,
        cam_R=rig.rotation,
        cam_t=rig.translation,
        cam_f=rig.focal,
        cam_c=rig.principal,
        joints3d=joints,
        global_orient=motion.global_orient,
        body_pose=motion.body_pose,
        shape=shape,
        transl=transl,
        keypoints2d_clean=clean,
        keypoints2d=detections.keypoints,
        detections=detections,
        vertices=vertices if keep_vertices else None,
        faces=body_model.faces.cpu().numpy() if keep_vertices else None,
        clips=motion.clips,
    )


# --- writing ----------------------------------------------------------------------------------


def is_synth_output(folder: Path) -> bool:
    """Whether ``folder`` holds a previous ``cmanet synth`` output (and nothing else)."""
    try:
        entries = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    if not entries <= _OUTPUT_ENTRIES or GT_NPZ not in entries:
        return False
    try:
        with np.load(folder / GT_NPZ, allow_pickle=False) as gt:
            return "generator" in gt.files and str(gt["generator"]) == GENERATOR
    except Exception:  # unreadable: not ours  # noqa: BLE001
        return False


def check_output_folder(out: Path) -> None:
    """Refuse an OUT that exists and is neither empty nor a previous synth output (which is
    replaced whole, so nothing else may be in it)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("exists and is not a folder", out)
    if any(out.iterdir()) and not is_synth_output(out):
        raise InputError("is not empty and is not a previous 'cmanet synth' output; choose an empty or new folder", out)


def sequence_yaml_text(seq: SyntheticSequence, known_intrinsics: bool = False) -> str:
    """The ``sequence.yaml`` of ``seq``."""
    import yaml

    cameras = []
    for v, name in enumerate(seq.view_names):
        camera = {"name": name, "image_size": [int(x) for x in seq.image_size[v]]}
        if known_intrinsics:
            camera["focal_px"] = round(float(seq.cam_f[v]), 3)
            camera["principal_point"] = [round(float(x), 3) for x in seq.cam_c[v]]
        cameras.append(camera)
    header = f"# Synthetic sequence written by {GENERATOR} (seed {seq.seed}); ground truth in {GT_NPZ}.\n"
    return header + yaml.safe_dump({"fps": float(seq.fps), "cameras": cameras}, sort_keys=False)


def _publish(tmp: Path, out: Path) -> None:
    """Move the finished folder ``tmp`` to ``out``, replacing an empty or previous-output ``out``."""
    if out.exists() and any(out.iterdir()):
        old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.exists():
            out.rmdir()
        tmp.rename(out)


def write_sequence(
    seq: SyntheticSequence,
    out: str | Path,
    render: bool = False,
    known_intrinsics: bool = False,
    progress: bool = False,
    on_frame: Callable[[int, int], None] | None = None,
    body_model=None,
) -> Path:
    """Write ``seq`` as a sequence folder (see the module docstring); returns ``out``.

    Args:
        render: also write ``images/camNN/FFFFFF.png`` (needs ``seq.vertices``).
        known_intrinsics: write each camera's focal length and principal point to sequence.yaml.
        progress: show a tqdm progress bar while rendering.
        on_frame: called with (images done, images total) while rendering (for the GUI).
        body_model: the Anny model the sequence was made with (saves loading it again to render).
    """
    out = Path(out)
    check_output_folder(out)
    if render and seq.vertices is None:
        raise ValueError("rendering needs the sequence's vertices (generate it with keep_vertices=True)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        atomic_write_text(tmp / SEQUENCE_YAML, sequence_yaml_text(seq, known_intrinsics))
        atomic_write_npz(tmp / KEYPOINTS_NPZ, keypoints2d=seq.keypoints2d.astype(np.float32), view_names=np.array(seq.view_names))
        atomic_write_npz(tmp / GT_NPZ, **seq.gt_arrays())
        if render:
            from core.synth.scene import render_sequence_images

            render_sequence_images(seq, tmp / IMAGES_DIR, progress=progress, on_frame=on_frame, body_model=body_model)
        _publish(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return out


def make_synthetic_sequence(
    out: str | Path,
    views: int = 4,
    frames: int = 30,
    seed: int = 0,
    render: bool = False,
    fps: float = 30.0,
    noise_px: float = 4.0,
    known_intrinsics: bool = False,
    image_size: tuple[int, int] | None = None,
    faults: DetectionFaults | None = None,
    body_model=None,
    progress: bool = False,
    on_frame: Callable[[int, int], None] | None = None,
) -> Path:
    """Generate a synthetic sequence and write it to ``out`` (see :func:`generate_sequence` and
    :func:`write_sequence`); returns ``out``. ``on_frame`` (images done, total) reports rendering;
    an exception it raises (e.g. a cancel) stops it and leaves nothing at ``out``."""
    check_output_folder(Path(out))  # fail before the slow part
    if body_model is None:
        body_model = load_body_model()
    seq = generate_sequence(
        views, frames, seed, fps=fps, noise_px=noise_px, faults=faults, image_size=image_size, body_model=body_model,
        keep_vertices=render,
    )  # fmt: skip
    return write_sequence(
        seq, out, render=render, known_intrinsics=known_intrinsics, progress=progress, on_frame=on_frame,
        body_model=body_model,
    )

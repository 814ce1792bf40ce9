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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.body import load_body_model
from core.errors import InputError
from core.geometry.distortion import distort_keypoints
from core.io.atomic import atomic_write_npz, atomic_write_text
from core.keypoints import COCO17_NAMES
from core.synth.detections import DetectionFaults, Detections, simulate_detections
from core.synth.motion import Motion, generate_motion
from core.synth.rig import RIG_RANGES, CameraRig, RigRanges, random_rig

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
    time_offsets: (V,) frames, or None: view ``v``'s frame ``f + o_v`` shows the moment of the
    truth's (the first view's) frame ``f`` (its keypoints2d rows are its own frames).
    distortions: (V, 5) lens distortion (OpenCV order) in keypoints2d, or None. With several
    people (:mod:`core.synth.people`) the single-person fields are person 0's, ``people`` holds
    every person's truth (``people_*`` arrays of gt.npz) and ``keypoints2d_people`` (F, V, P, 17,
    3) the detections of each image in the detector's order (what keypoints.npz holds).
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
    time_offsets: np.ndarray | None = None
    distortions: np.ndarray | None = None
    people: dict[str, np.ndarray] = field(default_factory=dict)
    keypoints2d_people: np.ndarray | None = None

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
            "time_offsets_frames": np.zeros(self.num_views, np.float32) if self.time_offsets is None
            else self.time_offsets.astype(np.float32),
            "distortions": np.zeros((self.num_views, 5), np.float32) if self.distortions is None
            else self.distortions.astype(np.float32),
            **self.people,
        }


# Motion of a sequence with time offsets is made this many times finer than its frames, so that a
# view can see any moment a tenth of a frame apart.
OFFSET_OVERSAMPLING = 10


def _check_offsets(time_offsets, views: int) -> np.ndarray:
    offsets = np.asarray(time_offsets, dtype=np.float64).reshape(-1)
    if offsets.shape != (views,):
        raise InputError(f"--time-offsets needs one offset per camera ({views}), got {offsets.size}")
    scaled = offsets * OFFSET_OVERSAMPLING
    if not np.all(np.isfinite(offsets)) or np.abs(scaled - np.round(scaled)).max() > 1e-6:
        raise InputError(f"--time-offsets must be multiples of {1 / OFFSET_OVERSAMPLING:g} frame, got {offsets.tolist()}")
    return offsets - offsets[0]


def _check_distortions(distortions, views: int) -> np.ndarray:
    coeffs = np.atleast_2d(np.asarray(distortions, dtype=np.float64))
    if coeffs.shape[-1] not in (4, 5) or coeffs.shape[0] not in (1, views) or not np.all(np.isfinite(coeffs)):
        raise InputError(f"--distortion needs 4 or 5 coefficients [k1, k2, p1, p2(, k3)], got {coeffs.tolist()}")
    out = np.zeros((views, 5))
    out[:, : coeffs.shape[-1]] = coeffs
    return out


def _moments(frames: int, views: int, fps: float, time_offsets: np.ndarray | None, margin: int | None,
             rng: np.random.Generator) -> tuple[Motion, np.ndarray, np.ndarray]:
    """The motion, posed only where seen, with (F,) the rows of its first view's frames and
    (F, V) the rows each view's frames show (its own frame ``g`` shows the moment ``g - o_v``)."""
    if time_offsets is None:
        rows = np.arange(frames)
        return generate_motion(frames, fps, rng), rows, np.repeat(rows[:, None], views, axis=1)
    k = OFFSET_OVERSAMPLING
    margin = int(np.ceil(np.abs(time_offsets).max())) if margin is None else int(margin)
    if margin < np.abs(time_offsets).max():
        raise InputError(f"time margin {margin} is smaller than the largest offset {np.abs(time_offsets).max():g}")
    motion = generate_motion((frames - 1 + 2 * margin) * k + 1, fps * k, rng)
    first = (np.arange(frames) + margin) * k
    seen = np.round((np.arange(frames)[:, None] - time_offsets[None] + margin) * k).astype(np.int64)
    needed, inverse = np.unique(np.concatenate([first, seen.reshape(-1)]), return_inverse=True)
    motion = dataclasses.replace(
        motion, body_pose=motion.body_pose[needed], global_orient=motion.global_orient[needed],
        transl=motion.transl[needed], fps=fps,
        clips=[(max(0, s // k - margin), max(0, e // k - margin), n) for s, e, n in motion.clips])
    return motion, inverse[:frames], inverse[frames:].reshape(frames, views)


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


def posed_on_floor(body_model, motion: Motion, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F, 17, 3) keypoints, (F, N, 3) vertices and (F, 3) translations of the posed body with its
    feet on the floor: every frame lifted (or lowered) so that its lowest vertex touches z = 0."""
    joints, vertices = _pose_body(body_model, motion, shape)
    lift = -vertices[..., 2].min(axis=1)
    joints[..., 2] += lift[:, None]
    vertices[..., 2] += lift[:, None].astype(vertices.dtype)
    transl = motion.transl.copy()
    transl[:, 2] += lift
    return joints, vertices, transl


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
    time_offsets=None,
    time_margin: int | None = None,
    distortions=None,
    rig_ranges: RigRanges | str | None = None,
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
        time_offsets: (V,) frames (multiples of 0.1; made relative to the first): the cameras out
            of sync, each filming its own F frames. The motion then runs ``time_margin`` frames
            (default: the largest offset, rounded up) before and after the first view's frames,
            and is made on a finer clock: the same ``time_margin`` with zero offsets gives the
            same person, motion and rig in sync.
        distortions: (4 or 5,) or (V, 4 or 5) lens distortion (OpenCV order) of the detections.
        rig_ranges: the world the cameras are drawn from (default: ``RIG_RANGES["default"]``;
            ``"wide"``: the training world of scripts/train_default's step 6).
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

    offsets = None if time_offsets is None else _check_offsets(time_offsets, views)
    coeffs = None if distortions is None else _check_distortions(distortions, views)
    shape = random_shape(rng_body)
    motion, first, seen = _moments(frames, views, fps, offsets, time_margin, rng_motion)
    posed_joints, posed_vertices, posed_transl = posed_on_floor(body_model, motion, shape)
    joints, vertices, transl = posed_joints[first], posed_vertices[first], posed_transl[first]

    framing = np.concatenate([joints.reshape(-1, 3), vertices[:, ::_FRAMING_STRIDE].reshape(-1, 3)])
    if isinstance(rig_ranges, str):
        rig_ranges = RIG_RANGES[rig_ranges]
    rig = rig if rig is not None else random_rig(views, rng_rig, framing, image_size=image_size, ranges=rig_ranges)
    seen_joints = posed_joints[seen]  # (F, V, 17, 3): what each view films in its own frames
    joints_cam = np.einsum("vij,fvkj->fvki", rig.rotation, seen_joints) + rig.translation[None, :, None, :]
    pixels = joints_cam[..., :2] / np.maximum(joints_cam[..., 2:], 1e-6) * rig.focal[None, :, None, None] \
        + rig.principal[None, :, None, :]
    if coeffs is not None:
        pixels = distort_keypoints(np.concatenate([pixels, np.ones(pixels.shape[:-1] + (1,))], axis=-1),
                                   rig.focal, rig.principal, coeffs)[..., :2].astype(np.float64)

    faults = dataclasses.replace(faults or DetectionFaults(), noise_px=float(noise_px))
    detections = simulate_detections(joints_cam, pixels, rig.image_size, rng_detect, faults, focal=rig.focal)
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
        global_orient=motion.global_orient[first],
        body_pose=motion.body_pose[first],
        shape=shape,
        transl=transl,
        keypoints2d_clean=clean,
        keypoints2d=detections.keypoints,
        detections=detections,
        vertices=vertices if keep_vertices else None,
        faces=body_model.faces.cpu().numpy() if keep_vertices else None,
        clips=motion.clips,
        time_offsets=offsets,
        distortions=coeffs,
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


def sequence_yaml_text(seq: SyntheticSequence, known_intrinsics: bool = False, known_offsets: bool = False) -> str:
    """The ``sequence.yaml`` of ``seq``: the lens distortions always (a user knows their lenses),
    focal lengths and time offsets when told they are known."""
    import yaml

    cameras = []
    for v, name in enumerate(seq.view_names):
        camera = {"name": name, "image_size": [int(x) for x in seq.image_size[v]]}
        if known_intrinsics:
            camera["focal_px"] = round(float(seq.cam_f[v]), 3)
            camera["principal_point"] = [round(float(x), 3) for x in seq.cam_c[v]]
        if seq.distortions is not None and np.any(seq.distortions[v]):
            camera["distortions"] = [round(float(x), 6) for x in seq.distortions[v]]
        if known_offsets and seq.time_offsets is not None:
            camera["time_offset_frames"] = round(float(seq.time_offsets[v]), 3)
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


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` to write into; it replaces ``out`` (empty, or a previous
    output) when the ``with`` block ends without error, else it is removed and ``out`` untouched."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        yield tmp
        _publish(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise


def write_sequence(
    seq: SyntheticSequence,
    out: str | Path,
    render: bool = False,
    known_intrinsics: bool = False,
    progress: bool = False,
    on_frame: Callable[[int, int], None] | None = None,
    body_model=None,
    known_offsets: bool = False,
) -> Path:
    """Write ``seq`` as a sequence folder (see the module docstring); returns ``out``.

    Args:
        render: also write ``images/camNN/FFFFFF.png`` (needs ``seq.vertices``; not for cameras out
            of sync or with lens distortion, whose images this renderer cannot make).
        known_intrinsics: write each camera's focal length and principal point to sequence.yaml.
        known_offsets: write each camera's time offset to sequence.yaml.
        progress: show a tqdm progress bar while rendering.
        on_frame: called with (images done, images total) while rendering (for the GUI).
        body_model: the Anny model the sequence was made with (saves loading it again to render).
    """
    out = Path(out)
    check_output_folder(out)
    if render and seq.vertices is None:
        raise ValueError("rendering needs the sequence's vertices (generate it with keep_vertices=True)")
    if render and (seq.time_offsets is not None or seq.distortions is not None):
        raise InputError("--render makes images of cameras in sync without lens distortion; leave out --render, "
                         "--time-offsets and --distortion together")
    with staged_folder(out) as tmp:
        atomic_write_text(tmp / SEQUENCE_YAML, sequence_yaml_text(seq, known_intrinsics, known_offsets))
        detections = seq.keypoints2d if seq.keypoints2d_people is None else seq.keypoints2d_people
        atomic_write_npz(tmp / KEYPOINTS_NPZ, keypoints2d=detections.astype(np.float32), view_names=np.array(seq.view_names))
        atomic_write_npz(tmp / GT_NPZ, **seq.gt_arrays())
        if render:
            from core.synth.scene import render_sequence_images

            render_sequence_images(seq, tmp / IMAGES_DIR, progress=progress, on_frame=on_frame, body_model=body_model)
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
    rig_ranges: RigRanges | str | None = None,
    on_frame: Callable[[int, int], None] | None = None,
    time_offsets=None,
    distortions=None,
    known_offsets: bool = False,
    people: int = 1,
) -> Path:
    """Generate a synthetic sequence and write it to ``out`` (see :func:`generate_sequence` and
    :func:`write_sequence`); returns ``out``. ``on_frame`` (images done, total) reports rendering;
    an exception it raises (e.g. a cancel) stops it and leaves nothing at ``out``. ``people`` > 1:
    several people crossing each other (:mod:`core.synth.people`; keypoints only)."""
    check_output_folder(Path(out))  # fail before the slow part
    if render and (time_offsets is not None or distortions is not None):
        raise InputError("--render makes images of cameras in sync without lens distortion; leave out --render, "
                         "--time-offsets and --distortion together")
    if people > 1 and render:
        raise InputError("--render draws one person; several people (--people) are keypoints only for now")
    if people > 1 and (time_offsets is not None or distortions is not None):
        raise InputError("several people (--people) are made in sync without lens distortion; leave out "
                         "--time-offsets and --distortion")
    if body_model is None:
        body_model = load_body_model()
    if people > 1:
        from core.synth.people import generate_people_sequence

        seq = generate_people_sequence(people, views, frames, seed, fps=fps, noise_px=noise_px, faults=faults,
                                       image_size=image_size, body_model=body_model, rig_ranges=rig_ranges)
    else:
        seq = generate_sequence(
            views, frames, seed, fps=fps, noise_px=noise_px, faults=faults, image_size=image_size, body_model=body_model,
            keep_vertices=render, time_offsets=time_offsets, distortions=distortions, rig_ranges=rig_ranges,
        )  # fmt: skip
    return write_sequence(
        seq, out, render=render, known_intrinsics=known_intrinsics, progress=progress, on_frame=on_frame,
        body_model=body_model, known_offsets=known_offsets,
    )

"""``result.npz``: the fitted sequence, as DESIGN.md specifies, plus what the app needs to redraw
every view (the IRV bodies of each view and the body model's name).

F frames, V views, K = 17 keypoints, J pose joints, S shape parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.io.atomic import atomic_write_npz_compressed
from core.io.npz import read_npz
from core.keypoints import COCO17_NAMES

RESULT_FILE = "result.npz"
SUMMARY_FILE = "summary.json"
FORMAT_VERSION = 2
# Keys a result of an older format may lack (format version that added them): loaded as None.
ADDED_IN = {"irv_cam_f": 2}
# Keys a result may lack in any format (a one-person fit, or a result written before people were
# tracked): loaded as None.
PEOPLE_KEYS = ("person_track", "people_joints3d", "people_global_orient", "people_transl", "people_body_pose",
               "people_shape", "people_keypoints2d", "people_iev_reproj_px", "people_track")


def result_size_bound(frames: int, views: int) -> int:
    """Bytes a fit of ``frames`` x ``views`` may need in its result folder: ``result.npz``
    uncompressed (about 1 kB per frame and view, 0.6 kB per frame) twice over (the new file is
    written beside the old one before it replaces it), and the summary."""
    return 2 * (frames * (2048 * views + 2048)) + 1_000_000


@dataclass
class FitResult:
    """Everything ``cmanet fit`` writes (arrays are numpy; rotations are axis-angle vectors).

    joints3d (F,K,3): fused IEV keypoints, world, metres (Z up, floor at z = 0).
    cam_R (F,V,3,3), cam_t (F,V,3), cam_f (F,V), cam_c (F,V,2): world->camera pinhole cameras.
    global_orient (F,3), transl (F,3), body_pose (F,J,3), shape (F,S): the fused body, world frame.
    irv_joints3d (F,V,K,3): per-view IRV keypoints in that view's camera frame.
    irv_global_orient (F,V,3), irv_transl (F,V,3), irv_body_pose (F,V,J,3), irv_shape (F,V,S):
        the IRV body of each view, camera frame.
    irv_reproj_px, iev_reproj_px (F,V): mean confidence-weighted reprojection error, pixels.
    keypoints2d (F,V,K,3): the detections used (x, y, confidence), after swap corrections: on the
        first view's timeline (moved by the time offsets) and without lens distortion.
    irv_cam_f (F,V): the focal length each view's IRV body was fitted with (format 2; None in a
        format-1 result, whose IRV bodies cannot be drawn exactly).
    time_offsets_frames (V,): each view's time offset in its own frames (its frame ``f + o`` shows
        the first view's frame ``f``), known or estimated; None (all 0) in older results.
    distortions (V,5): each view's lens distortion ``k1, k2, p1, p2, k3`` (OpenCV order) that
        keypoints2d was undistorted with and that projections into the images must add; None: none.

    Optional (None when not fitted; see :data:`PEOPLE_KEYS`): person_track (F,V) the per-view track
    id of the fitted (main) person's detection, -1 where that view does not see them (a gap);
    people_* (P,F,...): every fitted person, the main person first (people_joints3d[0] is
    joints3d), each in the same world and rig: people_joints3d (P,F,K,3), people_global_orient
    (P,F,3), people_transl (P,F,3), people_body_pose (P,F,J,3), people_shape (P,F,S),
    people_keypoints2d (P,F,V,K,3), people_iev_reproj_px (P,F,V), people_track (P,F,V).
    """

    keypoint_names: np.ndarray
    view_names: np.ndarray
    frame_indices: np.ndarray
    joints3d: np.ndarray
    cam_R: np.ndarray
    cam_t: np.ndarray
    cam_f: np.ndarray
    cam_c: np.ndarray
    global_orient: np.ndarray
    transl: np.ndarray
    body_pose: np.ndarray
    shape: np.ndarray
    irv_joints3d: np.ndarray
    irv_global_orient: np.ndarray
    irv_transl: np.ndarray
    irv_body_pose: np.ndarray
    irv_shape: np.ndarray
    irv_reproj_px: np.ndarray
    iev_reproj_px: np.ndarray
    keypoints2d: np.ndarray
    image_sizes: np.ndarray  # (V, 2) width, height
    fps: float
    body_model: str
    pose_joint_names: np.ndarray
    mode: str  # how it was fitted: "optimize", "network", "network+refine"
    irv_cam_f: np.ndarray | None = None
    format_version: int = FORMAT_VERSION
    time_offsets_frames: np.ndarray | None = None
    distortions: np.ndarray | None = None
    person_track: np.ndarray | None = None
    people_joints3d: np.ndarray | None = None
    people_global_orient: np.ndarray | None = None
    people_transl: np.ndarray | None = None
    people_body_pose: np.ndarray | None = None
    people_shape: np.ndarray | None = None
    people_keypoints2d: np.ndarray | None = None
    people_iev_reproj_px: np.ndarray | None = None
    people_track: np.ndarray | None = None

    @property
    def view_time_offsets(self) -> np.ndarray:
        """(V,) frames, zeros where the result has none."""
        return np.zeros(self.num_views) if self.time_offsets_frames is None else np.asarray(self.time_offsets_frames, float)

    @property
    def view_distortions(self) -> np.ndarray:
        """(V, 5), zeros where the result has none."""
        return np.zeros((self.num_views, 5)) if self.distortions is None else np.asarray(self.distortions, float)

    @property
    def num_people(self) -> int:
        """People fitted: 1, or P when the ``people_*`` keys are there."""
        return 1 if self.people_joints3d is None else int(self.people_joints3d.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.joints3d.shape[0])

    @property
    def num_views(self) -> int:
        return int(self.cam_R.shape[1])

    def person(self, index: int) -> FitResult:
        """The result of fitted person ``index`` alone (its plain keys; no ``people_*`` keys).

        Person 0 is this result without the people keys; another person gets its own body,
        joints, detections and reprojection errors, the same cameras, and NaN IRV arrays (IRV is
        kept for the main person only).
        """
        if not 0 <= index < self.num_people:
            raise IndexError(f"person {index} out of range [0, {self.num_people})")
        alone = dataclasses.replace(self, **{key: None for key in PEOPLE_KEYS})
        if self.people_joints3d is None or index == 0:
            return alone
        nan = {key: np.full_like(getattr(self, key), np.nan, dtype=np.float32)
               for key in ("irv_joints3d", "irv_global_orient", "irv_transl", "irv_body_pose", "irv_shape", "irv_reproj_px")
               + (("irv_cam_f",) if self.irv_cam_f is not None else ())}
        return dataclasses.replace(
            alone, joints3d=self.people_joints3d[index], global_orient=self.people_global_orient[index],
            transl=self.people_transl[index], body_pose=self.people_body_pose[index], shape=self.people_shape[index],
            keypoints2d=self.people_keypoints2d[index], iev_reproj_px=self.people_iev_reproj_px[index],
            person_track=self.people_track[index], **nan)

    def validate(self, where: Path | None = None) -> None:
        """Check the shapes agree with each other; raise InputError naming ``where`` if not."""
        for key in ("joints3d", "cam_R", "shape", "keypoint_names", "body_pose"):
            if np.ndim(getattr(self, key)) < {"joints3d": 3, "cam_R": 4, "shape": 1}.get(key, 1):
                raise InputError(f"{key} has shape {tuple(np.shape(getattr(self, key)))}, not a result's", where)
        F, V, K = self.num_frames, self.num_views, len(self.keypoint_names)
        J = self.body_pose.shape[1] if self.body_pose.ndim == 3 else -1
        S = self.shape.shape[-1]
        expected = {
            "keypoint_names": (K,), "view_names": (V,), "frame_indices": (F,), "joints3d": (F, K, 3),
            "cam_R": (F, V, 3, 3), "cam_t": (F, V, 3), "cam_f": (F, V), "cam_c": (F, V, 2),
            "global_orient": (F, 3), "transl": (F, 3), "body_pose": (F, J, 3), "shape": (F, S),
            "irv_joints3d": (F, V, K, 3), "irv_global_orient": (F, V, 3), "irv_transl": (F, V, 3),
            "irv_body_pose": (F, V, J, 3), "irv_shape": (F, V, S), "irv_reproj_px": (F, V),
            "iev_reproj_px": (F, V), "keypoints2d": (F, V, K, 3), "image_sizes": (V, 2),
            "pose_joint_names": (J,), "time_offsets_frames": (V,), "distortions": (V, 5),
        }
        for key, added in ADDED_IN.items():
            if self.format_version >= added and getattr(self, key) is None:
                raise InputError(f"a format-{self.format_version} result needs {key}", where)
        expected["irv_cam_f"] = (F, V)
        P = self.num_people
        expected.update({"time_offsets_frames": (V,), "distortions": (V, 5),
            "person_track": (F, V), "people_joints3d": (P, F, K, 3), "people_global_orient": (P, F, 3),
            "people_transl": (P, F, 3), "people_body_pose": (P, F, J, 3), "people_shape": (P, F, S),
            "people_keypoints2d": (P, F, V, K, 3), "people_iev_reproj_px": (P, F, V), "people_track": (P, F, V),
        })  # fmt: skip
        optional = {"time_offsets_frames", "distortions", *PEOPLE_KEYS, *ADDED_IN}
        people = [key for key in PEOPLE_KEYS if key.startswith("people_")]
        if any(getattr(self, k) is not None for k in people) and any(getattr(self, k) is None for k in people):
            raise InputError(f"has only some of the people keys ({', '.join(people)})", where)
        for key, shape in expected.items():
            if key in optional and getattr(self, key) is None:
                continue
            actual = tuple(np.shape(getattr(self, key)))
            if actual != shape:
                raise InputError(f"{key} has shape {actual}, expected {shape}", where)
        if list(self.keypoint_names) != list(COCO17_NAMES):
            raise InputError("keypoint_names are not the COCO-17 names", where)
        for key in expected:
            value = getattr(self, key)
            if value is None:
                continue
            kind = np.asarray(value).dtype.kind
            if key.endswith("names") and kind not in "US":
                raise InputError(f"{key} must hold names, not {np.asarray(value).dtype}", where)
            if not key.endswith("names") and kind not in "fiu":
                raise InputError(f"{key} must hold real numbers, not {np.asarray(value).dtype}", where)

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/result.npz`` atomically; returns its path."""
        self.validate()
        path = Path(folder) / RESULT_FILE
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)
                  if getattr(self, f.name) is not None}
        atomic_write_npz_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "FitResult":
        """Read a result folder or ``result.npz``; bad files raise InputError naming them."""
        path = Path(path)
        if path.is_dir():
            path = path / RESULT_FILE
        if not path.is_file():
            raise InputError("no such result file (run 'cmanet fit' first)", path)
        arrays = read_npz(path, "result file")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            version = int(arrays["format_version"]) if "format_version" in arrays else 1
        except (TypeError, ValueError):
            raise InputError("not a CMANet result (format_version is not a number)", path) from None
        optional = {"format_version", "time_offsets_frames", "distortions", *PEOPLE_KEYS}
        optional |= {k for k, added in ADDED_IN.items() if version < added}
        missing = sorted(names - set(arrays) - optional)
        if missing:
            raise InputError(f"not a CMANet result: missing {', '.join(missing)}", path)
        values = {k: arrays[k] for k in names if k in arrays}
        try:
            values["fps"] = float(values["fps"])
            for key in ("body_model", "mode"):
                if values[key].dtype.kind not in "US" or values[key].ndim:
                    raise ValueError(f"{key} is not a name")
                values[key] = str(values[key])
        except (TypeError, ValueError) as exc:
            raise InputError(f"not a CMANet result ({exc})", path) from None
        values["format_version"] = version  # a file without it is format 1, not the current format
        result = cls(**values)
        result.validate(path)
        return result

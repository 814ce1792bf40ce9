"""2D keypoints from other detectors: OpenPose / Pose2Sim JSON folders and COCO keypoint JSON.

* An OpenPose folder holds one folder per camera (``cam01_json/``, ``cam02_json/``... as OpenPose
  and Pose2Sim write them; the ``_json`` suffix is dropped from the camera name), each with one
  JSON file per frame whose ``people[].pose_keypoints_2d`` is a flat ``[x, y, c, ...]`` list. A
  frame's number is the last number in its file name (``cam01_000000000012_keypoints.json``,
  ``cam01.0012.json``), counted from the first file of all cameras; files without numbers are taken
  in sorted order.
* A COCO keypoint file (``images`` + ``annotations``): each image's ``file_name`` is
  ``<camera>/<frame>`` (its folder names the camera; frames numbered as above). Visibility flags
  (0, 1, 2) become confidences 0 or 1; detector scores in [0, 1] are kept.

Layouts: :mod:`core.io.keypoint_formats`. Several people in a frame: the main person of
:mod:`core.io.main_person`. Cameras are matched to the sequence's views by name, else by sorted
order (with a warning).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.io.calibration import loose_name
from core.io.keypoint_formats import check_format, detect_format, to_coco17
from core.io.main_person import main_person

log = logging.getLogger(__name__)

JSON_SUFFIX = "_json"

# (frames: list of (P, 17, 3)) -> (F, 17, 3): the person to fit in one view.
PersonChoice = Callable[[list[np.ndarray]], np.ndarray]


@dataclass
class ImportedKeypoints:
    """The people detected in each frame of each camera, in COCO-17.

    people[v][f]: (P, 17, 3) x, y pixels, confidence in [0, 1], of camera ``view_names[v]`` in
    frame ``f`` (P = 0 where nobody was detected).
    """

    source: Path
    view_names: list[str]
    people: list[list[np.ndarray]]
    keypoint_format: str

    @property
    def num_frames(self) -> int:
        return max(len(p) for p in self.people)

    def for_views(self, view_names: list[str], choose: PersonChoice = main_person) -> np.ndarray:
        """(F, V, 17, 3) float32 keypoints of the sequence's ``view_names``: each camera matched by
        name, else all by sorted order; one person per frame and view, picked by ``choose``."""
        if not view_names:
            raise InputError("the sequence has no cameras to match the keypoints to (no videos, no image folders, "
                             "no cameras in sequence.yaml)", self.source)
        order = match_cameras(self.view_names, view_names, self.source)
        frames = self.num_frames
        out = np.zeros((frames, len(view_names), 17, 3), dtype=np.float32)
        for v, i in enumerate(order):
            people = self.people[i] + [np.zeros((0, 17, 3), np.float32)] * (frames - len(self.people[i]))
            out[:, v] = choose(people)
        return out


def match_cameras(found: list[str], wanted: list[str], where: Path) -> list[int]:
    """Index into ``found`` of each of ``wanted``: by name (exact, else ignoring case and
    punctuation), else by sorted order when the counts agree (with a warning)."""
    loose = {loose_name(n): i for i, n in enumerate(found)}
    by_name = [found.index(n) if n in found else loose.get(loose_name(n)) for n in wanted]
    if None not in by_name:
        return by_name  # type: ignore[return-value]
    if len(found) != len(wanted):
        missing = wanted[by_name.index(None)]
        raise InputError(f"has no keypoints for camera {missing!r} and {len(found)} cameras "
                         f"({', '.join(found)}) for the sequence's {len(wanted)}", where)
    order = sorted(range(len(found)), key=lambda i: found[i])
    log.warning("%s: camera names (%s) do not match the sequence's (%s): matched by sorted order", where,
                ", ".join(found[i] for i in order), ", ".join(wanted))
    return order


def _frame_numbers(paths: list[Path]) -> list[int] | None:
    """The last number in each file name, or None when one has none or two share one."""
    numbers = []
    for path in paths:
        found = re.findall(r"\d+", path.name.split(".json")[0] if path.suffix == ".json" else path.stem)
        if not found:
            return None
        numbers.append(int(found[-1]))
    return numbers if len(set(numbers)) == len(numbers) else None


def _person_array(values, count: int | None, where: Path) -> np.ndarray:
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise InputError("a person's keypoints must be a flat list of numbers [x, y, confidence, ...]", where)
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size % 3 or (count is not None and array.size != 3 * count):
        raise InputError(f"a person has {array.size} numbers in pose_keypoints_2d, expected 3 per keypoint", where)
    return array.reshape(-1, 3)


def _clean(points: np.ndarray) -> np.ndarray:
    """Joints with a NaN or infinite value as zeros (missing); confidences clipped to [0, 1]."""
    points = points.astype(np.float32)
    points[~np.isfinite(points).all(-1)] = 0.0
    points[..., 2] = np.clip(points[..., 2], 0.0, 1.0)
    return points


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not readable JSON ({exc})", path) from None


def _place(frames_by_view: list[list[tuple[int | None, np.ndarray]]]) -> list[list[np.ndarray]]:
    """[view][file] (number or None, people) -> [view][frame] people, numbered from the smallest
    number of all views (or in file order when some file has no number)."""
    numbered = all(n is not None for view in frames_by_view for n, _ in view)
    first = min((n for view in frames_by_view for n, _ in view), default=0) if numbered else 0
    out = []
    for view in frames_by_view:
        if not numbered:
            out.append([people for _, people in view])
            continue
        count = max((n - first + 1 for n, _ in view), default=0)
        width = next((p.shape[1] for _, p in view if len(p)), 17)
        frames = [np.zeros((0, width, 3), np.float32) for _ in range(count)]
        for n, people in view:
            frames[n - first] = people
        out.append(frames)
    return out


def _to_coco(people_by_view: list[list[np.ndarray]], keypoint_format: str | None, where: Path) -> tuple[list[list[np.ndarray]], str]:
    samples = [p for view in people_by_view for p in view[:: max(1, len(view) // 50)] if len(p)]
    if not samples:
        raise InputError("holds no detected person", where)
    counts = {p.shape[1] for view in people_by_view for p in view if len(p)}
    if len(counts) > 1:
        raise InputError(f"people have different keypoint counts ({', '.join(map(str, sorted(counts)))})", where)
    fmt = check_format(keypoint_format) if keypoint_format else detect_format(np.concatenate(samples), where)
    try:
        converted = [[_clean(to_coco17(p, fmt)) if len(p) else np.zeros((0, 17, 3), np.float32) for p in view]
                     for view in people_by_view]
    except ValueError as exc:
        raise InputError(f"--keypoint-format {fmt}: {exc}", where) from None
    if not keypoint_format:
        log.info("%s: %d keypoints per person, read as %s", where, counts.pop(), fmt)
    return converted, fmt


# ------------------------------------------------------------------------------------- OpenPose


def openpose_camera_folders(folder: Path) -> list[Path]:
    """The camera folders of an OpenPose/Pose2Sim folder: its subfolders holding JSON files
    (``*_json`` ones first if there are any)."""
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.json")))
    suffixed = [p for p in subfolders if p.name.endswith(JSON_SUFFIX)]
    return suffixed or subfolders


def read_openpose_folder(folder: str | Path, keypoint_format: str | None = None) -> ImportedKeypoints:
    """An OpenPose / Pose2Sim JSON folder (see the module doc)."""
    folder = Path(folder)
    cameras = openpose_camera_folders(folder)
    if not cameras:
        raise InputError("holds no camera folders of OpenPose JSON files (cam01_json/*.json, ...)", folder)
    by_view = []
    for camera in cameras:
        files = sorted(camera.glob("*.json"))
        numbers = _frame_numbers(files)
        frames = []
        for i, path in enumerate(files):
            data = _load_json(path)
            people = data.get("people") if isinstance(data, dict) else None
            if not isinstance(people, list):
                raise InputError("has no 'people' list (not an OpenPose keypoint file)", path)
            arrays = [_person_array(p.get("pose_keypoints_2d", []), None, path) for p in people if isinstance(p, dict)]
            arrays = [a for a in arrays if len(a)]
            if len({len(a) for a in arrays}) > 1:
                raise InputError("people with different keypoint counts", path)
            stacked = np.stack(arrays) if arrays else np.zeros((0, 0, 3))
            frames.append((None if numbers is None else numbers[i], stacked))
        by_view.append(frames)
    names = [c.name[: -len(JSON_SUFFIX)] if c.name.endswith(JSON_SUFFIX) else c.name for c in cameras]
    people, fmt = _to_coco(_place(by_view), keypoint_format, folder)
    return ImportedKeypoints(folder, names, people, fmt)


def openpose_frame_json(keypoints: np.ndarray) -> str:
    """One OpenPose JSON frame of (17, 3) COCO-17 keypoints (no person when all are undetected)."""
    people = []
    if (keypoints[:, 2] > 0).any():
        people.append({"person_id": [-1], "pose_keypoints_2d": [float(v) for v in keypoints.reshape(-1)],
                       "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                       "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                       "hand_right_keypoints_3d": []})
    return json.dumps({"version": 1.3, "people": people})


# ----------------------------------------------------------------------------------------- COCO


def read_coco_keypoints(path: str | Path, keypoint_format: str | None = None) -> ImportedKeypoints:
    """A COCO keypoint file (see the module doc)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("annotations"), list):
        raise InputError("not a COCO keypoint file (needs 'images' and 'annotations' lists)", path)
    images: dict[object, tuple[str, Path]] = {}
    for image in data["images"]:
        try:
            name = Path(str(image["file_name"]))
            images[image["id"]] = (name.parent.name, name)
        except (KeyError, TypeError):
            raise InputError("an image without 'id' and 'file_name'", path) from None
    if any(not camera for camera, _ in images.values()):
        raise InputError("image file names must be <camera>/<frame> (their folder names the camera)", path)
    people: dict[object, list[np.ndarray]] = {key: [] for key in images}
    for ann in data["annotations"]:
        if not isinstance(ann, dict) or ann.get("image_id") not in images or "keypoints" not in ann:
            raise InputError("an annotation without 'keypoints' or with an unknown 'image_id'", path)
        points = _person_array(ann["keypoints"], None, path)
        if len(points) and set(np.unique(points[:, 2])) <= {0.0, 1.0, 2.0}:
            points[:, 2] = (points[:, 2] > 0).astype(np.float64)  # visibility flags
        people[ann["image_id"]].append(points)
    cameras = sorted({camera for camera, _ in images.values()})
    by_view = []
    for camera in cameras:
        keys = sorted((k for k, (c, _) in images.items() if c == camera), key=lambda k: images[k][1].name)
        numbers = _frame_numbers([images[k][1] for k in keys])
        by_view.append([(None if numbers is None else numbers[i],
                         np.stack(people[k]) if people[k] else np.zeros((0, 0, 3))) for i, k in enumerate(keys)])
    converted, fmt = _to_coco(_place(by_view), keypoint_format, path)
    return ImportedKeypoints(path, cameras, converted, fmt)


# ----------------------------------------------------------------------------------------- any


def read_keypoints(path: str | Path, keypoint_format: str | None = None) -> ImportedKeypoints:
    """``--keypoints``: an OpenPose/Pose2Sim folder or a COCO keypoint ``.json`` file."""
    path = Path(path)
    if path.is_dir():
        return read_openpose_folder(path, keypoint_format)
    if path.is_file():
        return read_coco_keypoints(path, keypoint_format)
    raise InputError("no such keypoint folder or file", path)
